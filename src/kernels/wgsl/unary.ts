/**
 * Elementwise unary kernels, and the WGSL math they need that WGSL lacks or computes too loosely:
 * tanh (WGSL's may overflow to NaN for large |x| and loses relative accuracy near 0), erf/erfc, GELU, pow.
 */
import type { UnaryOp } from '../../autograd/backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { f32bits, groups1d, header, main1d, ro, rw } from './shader.js';

/**
 * erf: |x| < 1: x·P(x²); |x| ≥ 1: 1 − erfc(|x|) with erfc(a) = exp(−a²)·Q(1/(1 + a/2)). P (degree 5 in x²) and
 * Q (degree 10) are least-squares fits to erf(x)/x and erfc(a)·exp(a²) on [1, 10] in double precision; simulated
 * in f32 they give |erf error| ≤ 1.2e-7 (2 ulp near 1) and erfc relative error ≤ 5e-7 up to underflow (a ≈ 9.3).
 * exp(−a²) is taken as exp(−hi²)·exp(−lo·(a + hi)) with hi = a cut to 12 bits, so a² loses nothing.
 * gelu_tanh is x·σ(2u) as on the CPU (no cancellation for negative x).
 * tanh: Cephes' odd minimax polynomial for |x| < 0.625, 1 − 2/(e^{2|x|} + 1) beyond (≤ 1.2 eps relative).
 */
export const WGSL_MATH = /* wgsl */ `
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;
const FRAC_1_SQRT_2: f32 = 0.7071067811865476;
const FRAC_1_SQRT_2PI: f32 = 0.3989422804014327;


fn tanh_f(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    let q = (((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z
      - 3.33332819422e-1;
    return x + x * z * q;
  }
  let t = 1.0 - 2.0 / (exp(2.0 * min(a, 10.0)) + 1.0);
  return select(t, -t, x < 0.0);
}

fn sigmoid_f(x: f32) -> f32 {
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, x >= 0.0);
}

// erf(x)/x on |x| < 1, a polynomial in z = x²
fn erf_small(x: f32) -> f32 {
  let z = x * x;
  return x * (1.1283791065216064 + z * (-0.37612348794937134 + z * (0.11280364543199539
    + z * (-0.026716385036706924 + z * (0.004923277534544468 + z * -0.0005654105916619301)))));
}

// erfc(a) for a ≥ 1
fn erfc_large(a: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * a);
  let q = 0.0000010908261174336076 + t * (0.28206026554107666 + t * (0.2825738191604614 + t * (0.24301199615001678
    + t * (0.19555459916591644 + t * (0.02086542174220085 + t * (0.12511901557445526 + t * (-0.20212282240390778
    + t * (-0.02858378365635872 + t * (0.12958620488643646 + t * -0.04818139970302582)))))))));
  let hi = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let lo = a - hi;
  return exp(-hi * hi) * exp(-lo * (a + hi)) * q;
}

fn erf_f(x: f32) -> f32 {
  let a = abs(x);
  if (a < 1.0) { return erf_small(x); }
  let r = 1.0 - erfc_large(min(a, 10.0));
  return select(r, -r, x < 0.0);
}

// 1 + erf(u) without cancellation for negative u
fn one_plus_erf(u: f32) -> f32 {
  if (abs(u) < 1.0) { return 1.0 + erf_small(u); }
  let c = erfc_large(min(abs(u), 10.0));
  return select(2.0 - c, c, u < 0.0);
}

fn gelu_erf_f(x: f32) -> f32 { return 0.5 * x * one_plus_erf(x * FRAC_1_SQRT_2); }

fn gelu_erf_grad_f(x: f32) -> f32 {
  return 0.5 * one_plus_erf(x * FRAC_1_SQRT_2) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x);
}

// gelu_tanh = 0.5x(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³): no cancellation for negative x
fn gelu_tanh_u(x: f32) -> f32 { return SQRT_2_OVER_PI * (x + GELU_C * x * x * x); }

fn gelu_tanh_f(x: f32) -> f32 { return x * sigmoid_f(2.0 * gelu_tanh_u(x)); }

// d/dx = s + 2x·s(1 − s)·du with s = σ(2u), s(1 − s) = e/(1 + e)², e = exp(−2|u|); exactly 1 or 0 in f32
// beyond |x| = 10 (where x·e would also meet x³ overflow)
fn gelu_tanh_grad_f(x: f32) -> f32 {
  if (abs(x) > 10.0) { return select(0.0, 1.0, x > 0.0); }
  let u = gelu_tanh_u(x);
  let e = exp(-2.0 * abs(u));
  let ss = e / ((1.0 + e) * (1.0 + e));
  let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x * x);
  return sigmoid_f(2.0 * u) + 2.0 * x * ss * du;
}

// x^y as Math.pow: exact small integer powers, negative bases with integer exponents
fn pow_f(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (y == 1.0) { return x; }
  if (y == 2.0) { return x * x; }
  if (y == 3.0) { return x * x * x; }
  if (y == 0.5) { return sqrt(x); }
  if (y == -1.0) { return 1.0 / x; }
  if (x == 0.0) { return select(inf_f(), 0.0, y > 0.0); }
  let r = exp2(y * log2(abs(x)));
  if (x > 0.0) { return r; }
  if (fract(y) != 0.0) { return nan_f(); }
  let odd = fract(y * 0.5) != 0.0;
  return select(r, -r, odd);
}
`;

const EXPR: Record<UnaryOp, string> = {
  neg: '-x', exp: 'exp(x)', log: 'log(x)', sqrt: 'sqrt(x)', rsqrt: 'inverseSqrt(x)', tanh: 'tanh_f(x)',
  sigmoid: 'sigmoid_f(x)', relu: 'select(x, 0.0, x < 0.0)', abs: 'abs(x)', square: 'x * x',
  gelu_tanh: 'gelu_tanh_f(x)', gelu_erf: 'gelu_erf_f(x)', erf: 'erf_f(x)',
  mul_scalar: 'x * pf(1u)', add_scalar: 'x + pf(1u)', pow_scalar: 'pow_f(x, pf(1u))',
};

/** out[i] = f(x[i]) (`param` is the scalar of mul_scalar, add_scalar, pow_scalar). */
export function unary(rt: GpuRuntime, op: UnaryOp, x: GpuStorage, n: number, param = 0): GpuStorage {
  const out = rt.alloc(n * 4);
  rt.dispatch({
    key: `unary:${op}`,
    source: () => header([ro('a'), rw('out')]) + WGSL_MATH +
      main1d('p(0u)', `let x = a[i];\n  out[i] = ${EXPR[op]};`),
    bindings: [x, out],
    meta: [n, f32bits(param)],
    groups: groups1d(n, rt.maxGroups1d),
  });
  return out;
}

/** y = gelu(x) and dydx = gelu′(x) (the gelu_*_grad kernels' derivative) in one dispatch. */
export function geluWithGrad(rt: GpuRuntime, op: 'gelu_erf' | 'gelu_tanh', x: GpuStorage, n: number): { y: GpuStorage; dydx: GpuStorage } {
  const y = rt.alloc(n * 4);
  const dydx = rt.alloc(n * 4);
  rt.dispatch({
    key: `unary:${op}+grad`,
    source: () => header([ro('a'), rw('out'), rw('d')]) + WGSL_MATH +
      main1d('p(0u)', `let x = a[i];\n  out[i] = ${EXPR[op]};\n  d[i] = ${op}_grad_f(x);`),
    bindings: [x, y, dydx],
    meta: [n],
    groups: groups1d(n, rt.maxGroups1d),
  });
  return { y, dydx };
}
