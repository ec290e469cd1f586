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
import { type Code, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';
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
  const X = 0, Y = 1, D = 2, N = 3, WANT = 4, J = 5;
  const LOCALS = 14; // v128 locals of one copy of the step
  /** The step for the four values at byte offset `off` past element J, in the v128 locals from `b` on. */
  const step = (off: number, b: number): Code => {
    const V = b, A = b + 1, T = b + 2, PP = b + 3, XH = b + 4, XL = b + 5, HI = b + 6, LO = b + 7, E1 = b + 8, E2 = b + 9,
      HALF = b + 10, CDF = b + 11, T0 = b + 12, T1 = b + 13;
    const k = (x: number): Code => [op.f32x4const(x)];
    const at = (base: number): Code => [op.get(base), op.get(J), op.i32(2), op.shl, op.add];
    const horner: Code = [...k(ERFC_NR[9]!)];
    for (let i = 8; i >= 0; i--) horner.push(op.get(T), op.fmul, ...k(ERFC_NR[i]!), op.fadd);
    return [
      ...at(X), op.loadU(off), op.set(V),
      op.get(V), op.i32x4const(0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff), op.vand, ...k(20), op.fpmin, op.set(A),
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
      ...at(Y), op.get(V), op.get(CDF), op.fmul, op.storeU(off),
      op.get(WANT), op.if,
      ...at(D), op.get(CDF), op.get(V), op.get(E1), ...k(1), ...k(0.5), op.get(LO), op.fmul, op.fsub, op.fmul,
      ...k(0.3989422804014327), op.fmul, op.fmul, op.fadd, op.storeU(off),
      op.end,
    ];
  };
  // eight values a step while eight remain — two independent copies, so the CPU overlaps their latency chains —
  // then four at a time (the buffers have room for four past their ends); every lane's operations are the same
  const pairs: Code = [
    op.i32(0), op.set(J), op.block, op.loop, op.get(N), op.get(J), op.i32(8), op.add, op.ltU, op.brIf(1),
    ...step(0, J + 1), ...step(16, J + 1 + LOCALS), op.get(J), op.i32(8), op.add, op.set(J), op.br(0), op.end, op.end,
  ];
  const rest: Code = [
    op.block, op.loop, op.get(J), op.get(N), op.geU, op.brIf(1),
    ...step(0, J + 1), op.get(J), op.i32(4), op.add, op.set(J), op.br(0), op.end, op.end,
  ];
  return {
    name: 'gelu32', params: [I32, I32, I32, I32, I32], locals: [I32, ...new Array<number>(2 * LOCALS).fill(V128)],
    code: [...pairs, ...rest],
  };
}
