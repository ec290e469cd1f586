import { BackendError, type UnaryOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { ERF_SMALL_LIMIT, erf, erfSmall, erfc, erfcRatio } from './erf.js';
import { type FloatArray, floatArray } from './storage.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_C = 0.044715;

/**
 * GPT-2's gelu_new: 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³). Written as x·σ(2u), the same function
 * (1 + tanh(u) = 2σ(2u)) without the cancellation of 1 + tanh(u) for negative x.
 */
export function geluTanh(x: number): number {
  const u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  return x / (1 + Math.exp(-2 * u));
}

/** d/dx gelu_tanh = 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²), with 0.5(1 + t) = s and 1 − t² = 4s(1 − s). */
export function geluTanhGrad(x: number): number {
  const u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  const s = 1 / (1 + Math.exp(-2 * u));
  const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
  return s + 2 * x * s * (1 - s) * du;
}

/** BERT's gelu: 0.5x(1 + erf(x/√2)) = 0.5x·erfc(−x/√2) (the erfc form keeps relative accuracy for negative x). */
export function geluErf(x: number): number {
  return 0.5 * x * erfc(-x * SQRT_HALF);
}

/** d/dx gelu_erf = Φ(x) + x·φ(x). */
export function geluErfGrad(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/*
 * The f32 forms of gelu_erf and its derivative: one Math.exp each instead of two (forward) and three (derivative).
 * erfc(y) = exp(−y²)·erfcRatio(y) with exp(−y²) taken in one piece, and the derivative's φ(x) = exp(−x²/2)/√(2π)
 * reuses that same exp(−y²), y = x/√2. Against the float64 forms above, which split exp(−y²) in two exact pieces,
 * the only difference is the rounding of y² inside the exponential: a relative error ≤ 3·2⁻⁵³·y² ≤ 3e-14 wherever
 * the f32 result is a normal number (|x| ≤ 13), far below f32's 2⁻²⁴ — so the stored f32 value is the f64 form's,
 * rounded, or its f32 neighbour when the exact value lies within 3e-14 of a rounding boundary: within 1 f32 ulp
 * (test/cpu-kernels.test.ts checks it over the whole line). f64 storages keep the f64 forms.
 */

/** erfc(y) given e = exp(−|y|²), for |y| > ERF_SMALL_LIMIT. */
function erfcWith(y: number, e: number): number {
  const r = e * erfcRatio(Math.abs(y));
  return y < 0 ? 2 - r : r;
}

export function geluErfF32(x: number): number {
  const y = -x * SQRT_HALF;
  if (Math.abs(y) <= ERF_SMALL_LIMIT) return 0.5 * x * (1 - erfSmall(y));
  return 0.5 * x * erfcWith(y, Math.exp(-y * y));
}

export function geluErfGradF32(x: number): number {
  const y = -x * SQRT_HALF;
  const e = Math.exp(-y * y);
  const cdf = 0.5 * (Math.abs(y) <= ERF_SMALL_LIMIT ? 1 - erfSmall(y) : erfcWith(y, e));
  return cdf + x * INV_SQRT_2PI * e;
}

/** out[i] = op(x[i]) for i < n, in the storage dtype. `param` is the scalar of mul_scalar/add_scalar/pow_scalar. */
export function unary(op: UnaryOp, x: FloatArray, n: number, dtype: FloatDType, param = 0): FloatArray {
  const out = floatArray(dtype, n);
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]); break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); break;
    case 'rsqrt': for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]); break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]); break;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i])); break;
    case 'relu': for (let i = 0; i < n; i++) out[i] = x[i] < 0 ? 0 : x[i]; break; // NaN stays NaN
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]); break;
    case 'square': for (let i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case 'gelu_tanh': for (let i = 0; i < n; i++) out[i] = geluTanh(x[i]); break;
    case 'gelu_erf':
      if (dtype === 'f32') for (let i = 0; i < n; i++) out[i] = geluErfF32(x[i]);
      else for (let i = 0; i < n; i++) out[i] = geluErf(x[i]);
      break;
    case 'erf': for (let i = 0; i < n; i++) out[i] = erf(x[i]); break;
    case 'mul_scalar': for (let i = 0; i < n; i++) out[i] = x[i] * param; break;
    case 'add_scalar': for (let i = 0; i < n; i++) out[i] = x[i] + param; break;
    case 'pow_scalar': for (let i = 0; i < n; i++) out[i] = Math.pow(x[i], param); break;
    default: throw new BackendError(`cpu unary: unknown op '${op as string}'`);
  }
  return out;
}
