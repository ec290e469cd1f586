/**
 * BERT's GELU in f32 (gelu_erf: forward, and forward with its derivative) in WebAssembly SIMD: four f32 lanes, one
 * branch-free formula (gelu32Fn below: Numerical Recipes' erfc form with the exponent's x² split exactly in two, and
 * wasm-probs.ts's expF32). It replaces an f64x2 kernel that ran the TypeScript f32 forms' own operations (the same
 * bits, but every pair of lanes paid both of Cody's rational branches and an f64 exponential): 1.7× faster alone.
 * The price is a stated bound instead of the same bits, against the float64 forms (test/cpu-gelu-simd.test.ts):
 *   y within 8 ulps for |x| < 12 (most values within 1), 12 ulps or 2⁻¹⁴⁰ beyond;
 *   d within 13·2⁻²⁴·max(|d|, |x·φ(x)|) + 2⁻¹⁴⁰; NaN, ±∞ and |x| > 20 as the TypeScript forms.
 * f64 storages, and engines without WebAssembly SIMD, keep the TypeScript kernels.
 *
 * Export (pointers in bytes into `mem`; each buffer has room for 4 floats past its end):
 *   gelu32(x, y, d, n, wantD): y_i = gelu(x_i) and, with wantD ≠ 0, d_i = gelu′(x_i), i < n.
 */
import { type Code, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';
import { expCode } from './wasm-probs.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const geluWasm = validatedModule(() => wasmModule([gelu32Fn()]));

/** Numerical Recipes' erfcc: erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2), relative error < 1.2e-7 for z ≥ 0. */
const ERFC_NR = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277];

/**
 * gelu_erf in f32x4 lanes, four values per step, one formula for every lane (no branches):
 *   a = min(|x|, 20), t = 1/(1 + (a·√½)/2), a² = hi + lo exactly (Dekker: a split at 12 bits),
 *   ½erfc(a·√½) = ((½t)·exp(−lo/2 + P(t)))·exp(−hi/2)   (the exponent's big part −hi/2 is exact)
 *   Φ(x) = that for x < 0 (sign bit), 1 − that otherwise; y = x·Φ(x); d = Φ(x) + x·(exp(−hi/2)·(1 − lo/2))/√(2π).
 * exp is wasm-probs.ts's expF32 (≤ 1 ulp). Every operation rounds to f32; the bounds are the header's.
 */
function gelu32Fn(): WasmFn {
  const X = 0, Y = 1, D = 2, N = 3, WANT = 4;
  const J = 5, V = 6, A = 7, T = 8, PP = 9, XH = 10, XL = 11, HI = 12, LO = 13, E1 = 14, E2 = 15, HALF = 16, CDF = 17, T0 = 18, T1 = 19;
  const k = (x: number): Code => [op.f32x4const(x)];
  const at = (base: number): Code => [op.get(base), op.get(J), op.i32(2), op.shl, op.add];
  const horner: Code = [...k(ERFC_NR[9]!)];
  for (let i = 8; i >= 0; i--) horner.push(op.get(T), op.fmul, ...k(ERFC_NR[i]!), op.fadd);
  const step: Code = [
    ...at(X), op.loadU(0), op.set(V),
    op.get(V), op.i32x4const(0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff), op.vand, ...k(20), op.fmin, op.set(A),
    ...k(1), ...k(0.5), op.get(A), ...k(0.7071067811865476), op.fmul, op.fmul, op.fadd, op.set(T),
    ...k(1), op.get(T), op.fdiv, op.set(T),
    ...horner, op.set(PP),
    op.get(A), op.i32x4const(-4096, -4096, -4096, -4096), op.vand, op.set(XH), // 0xfffff000: the top 12 significand bits
    op.get(A), op.get(XH), op.fsub, op.set(XL),
    op.get(A), op.get(A), op.fmul, op.set(HI),
    op.get(XH), op.get(XH), op.fmul, op.get(HI), op.fsub, ...k(2), op.get(XH), op.fmul, op.get(XL), op.fmul, op.fadd,
    op.get(XL), op.get(XL), op.fmul, op.fadd, op.set(LO),
    ...k(-0.5), op.get(HI), op.fmul, ...expCode(T0, T1), op.set(E1),
    ...k(-0.5), op.get(LO), op.fmul, op.get(PP), op.fadd, ...expCode(T0, T1), op.set(E2),
    ...k(0.5), op.get(T), op.fmul, op.get(E2), op.fmul, op.get(E1), op.fmul, op.set(HALF),
    op.get(HALF), ...k(1), op.get(HALF), op.fsub, op.get(V), op.i32(31), op.i32x4shrS, op.bitselect, op.set(CDF),
    ...at(Y), op.get(V), op.get(CDF), op.fmul, op.storeU(0),
    op.get(WANT), op.if,
    ...at(D), op.get(CDF), op.get(V), op.get(E1), ...k(1), ...k(0.5), op.get(LO), op.fmul, op.fsub, op.fmul,
    ...k(0.3989422804014327), op.fmul, op.fmul, op.fadd, op.storeU(0),
    op.end,
  ];
  return {
    name: 'gelu32', params: [I32, I32, I32, I32, I32], locals: [I32, ...new Array<number>(T1 - V + 1).fill(V128)],
    code: forStep(J, N, 4, step),
  };
}
