/**
 * BERT's GELU in f32 (gelu_erf: forward, and forward with its derivative) in WebAssembly SIMD, two lanes of f64 at a
 * time: the same operations, in the same order and precision, as pointwise.ts's f32 forms (geluErfF32 and
 * geluWithGradRange's f32 loop: Cody's rational parts, exp(−t²) in one piece shared by erfc and φ), every branch
 * that a lane of the pair needs computed (the exponential too: in the forward alone, only past |t| = 0.46875) and the
 * right one selected per lane. The one difference is the exponential: Math.exp there, here
 * exp64 below, a few f64 ulps from it — so a stored f32 value differs from the TypeScript kernel's only where the
 * exact value lies within ~1e-15 relative of an f32 rounding boundary, and then by 1 ulp (test/cpu-gelu-simd.test.ts
 * counts them: 0 in 2·10⁶ values). f64 storages, and engines without WebAssembly SIMD, keep the TypeScript kernels.
 *
 * Exports (pointers in bytes into `mem`; each buffer has room for 4 floats past its end):
 *   gelu(x, y, d, n, wantD): y_i = f32(gelu(x_i)) and, with wantD ≠ 0, d_i = f32(gelu′(x_i)), i < n.
 *
 * exp64(w): w clamped to ≥ −746 (below, exp underflows to 0 in f64 either way); n = nearest(w·log2 e);
 * r = (w − n·ln2_hi) − n·ln2_lo (ln2_hi has 32 trailing zero bits, so n·ln2_hi is exact); the degree-13 Taylor
 * polynomial of e^r by Estrin's scheme (truncation < 4e-18 relative on |r| ≤ ln2/2); times 2^⌊n/2⌋ then 2^(n−⌊n/2⌋), each
 * a normal f64, so a subnormal result is rounded once.
 */
import { type Code, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const geluWasm = validatedModule(() => wasmModule([geluFn()]));

const c = (x: number): Code => [op.f64x2const(x)];
/** (num, den) Horner steps: num = (num + a)·v; den = (den + b)·v, for each pair. */
function hornerPairs(num: number, den: number, v: number, pairs: [number, number][]): Code {
  return pairs.flatMap(([a, b]) => [
    op.get(num), ...c(a), op.dadd, op.get(v), op.dmul, op.set(num),
    op.get(den), ...c(b), op.dadd, op.get(v), op.dmul, op.set(den),
  ]);
}

/**
 * exp64 of the f64x2 in local w → local out; uses locals t, r2, r4 (and w as scratch). The polynomial is evaluated
 * by Estrin's scheme (pairs, then r², r⁴, r⁸), not Horner's: four dependent multiply-adds instead of thirteen.
 */
function exp64(w: number, out: number, t: number, r2: number, r4: number): Code {
  const inv = [1];
  for (let k = 1; k <= 13; k++) inv.push(inv[k - 1]! / k); // 1/k! (a rounding or two: tested through the results)
  const pair = (k: number): Code => [...c(inv[k]!), op.get(t), ...c(inv[k + 1]!), op.dmul, op.dadd]; // c_k + c_{k+1}·r
  // 2^(part) for the i64 lanes on the stack → f64 bits
  const pow2: Code = [op.i64x2const(1023), op.i64x2add, op.i32(52), op.i64x2shl];
  return [
    op.get(w), ...c(-746), op.dmax, op.set(w),
    op.get(w), ...c(1.4426950408889634), op.dmul, op.dnearest, op.set(out), // out = n (f64)
    op.get(w), op.get(out), ...c(6.93147180369123816490e-01), op.dmul, op.dsub,
    op.get(out), ...c(1.90821492927058770002e-10), op.dmul, op.dsub, op.set(t), // t = r
    op.get(t), op.get(t), op.dmul, op.set(r2), op.get(r2), op.get(r2), op.dmul, op.set(r4),
    // ((q0 + q1·r²) + (q2 + q3·r²)·r⁴) + ((q4 + q5·r²) + q6·r⁴)·r⁸, q_i = c_2i + c_2i+1·r
    ...pair(0), ...pair(2), op.get(r2), op.dmul, op.dadd,
    ...pair(4), ...pair(6), op.get(r2), op.dmul, op.dadd, op.get(r4), op.dmul, op.dadd,
    ...pair(8), ...pair(10), op.get(r2), op.dmul, op.dadd, ...pair(12), op.get(r4), op.dmul, op.dadd,
    op.get(r4), op.get(r4), op.dmul, op.dmul, op.dadd, // e^r on the stack
    op.get(out), op.truncSatF64S, op.i64x2extendLowS, op.set(out), // out = n (i64 lanes)
    op.get(out), op.i32(1), op.i64x2shrS, ...pow2, op.dmul,
    op.get(out), op.get(out), op.i32(1), op.i64x2shrS, op.i64x2sub, ...pow2, op.dmul,
    op.set(out),
  ];
}

function geluFn(): WasmFn {
  const X = 0, Y = 1, D = 2, N = 3, WANT = 4;
  const J = 5, X4 = 6, V = 7, T = 8, E = 9, A = 10, NUM = 11, DEN = 12, Q = 13, SMALL = 14, RA = 15, HALF = 16, TMP = 17,
    YLO = 18, DLO = 19, W = 20, Y0 = 21, D0 = 22; // Y0, D0: the first half's y and d, demoted
  // one f64x2 half: V → YLO/DLO (the caller moves them)
  const half: Code = [
    op.get(V), op.dneg, ...c(0.7071067811865476), op.dmul, op.set(T), // t = −v·√½
    op.get(T), op.dabs, op.set(A),
    // e = exp(−t·t), where d is wanted or a lane is past the small interval
    op.get(WANT), op.get(A), ...c(0.46875), op.dle, op.i64x2allTrue, op.eqz, op.or, op.if,
    op.get(T), op.dneg, op.get(T), op.dmul, op.set(W), ...exp64(W, E, TMP, NUM, DEN),
    op.end,
    // erfSmall(t), Cody's first interval — only if a lane needs it (|t| ≤ 0.46875)
    op.get(A), ...c(0.46875), op.dle, op.anyTrue, op.if,
    op.get(T), op.get(T), op.dmul, op.set(Q),
    ...c(1.85777706184603153e-1), op.get(Q), op.dmul, op.set(NUM), op.get(Q), op.set(DEN),
    ...hornerPairs(NUM, DEN, Q, [[3.16112374387056560e0, 2.36012909523441209e1], [1.13864154151050156e2, 2.44024637934444173e2],
      [3.77485237685302021e2, 1.28261652607737228e3]]),
    ...c(1), op.get(T), op.get(NUM), ...c(3.20937758913846947e3), op.dadd, op.dmul, op.get(DEN), ...c(2.84423683343917062e3), op.dadd, op.ddiv,
    op.dsub, ...c(0.5), op.dmul, op.set(SMALL), // 0.5·(1 − erfSmall(t)) — 0.5·(…) as in the TypeScript form
    op.end,
    // erfcRatio(a), 0.46875 < a ≤ 4 — only if a lane needs it
    op.get(A), ...c(0.46875), op.dgt, op.get(A), ...c(4), op.dle, op.vand, op.anyTrue, op.if,
    ...c(2.15311535474403846e-8), op.get(A), op.dmul, op.set(NUM), op.get(A), op.set(DEN),
    ...hornerPairs(NUM, DEN, A, [[5.64188496988670089e-1, 1.57449261107098347e1], [8.88314979438837594e0, 1.17693950891312499e2],
      [6.61191906371416295e1, 5.37181101862009858e2], [2.98635138197400131e2, 1.62138957456669019e3],
      [8.81952221241769090e2, 3.29079923573345963e3], [1.71204761263407058e3, 4.36261909014324716e3],
      [2.05107837782607147e3, 3.43936767414372164e3]]),
    op.get(NUM), ...c(1.23033935479799725e3), op.dadd, op.get(DEN), ...c(1.23033935480374942e3), op.dadd, op.ddiv, op.set(RA),
    op.end,
    // erfcRatio(a), a > 4 (or NaN): z = 1/a² — only if a lane needs it
    op.get(A), ...c(4), op.dle, op.i64x2allTrue, op.eqz, op.if,
    ...c(1), op.get(A), op.get(A), op.dmul, op.ddiv, op.set(Q),
    ...c(1.63153871373020978e-2), op.get(Q), op.dmul, op.set(NUM), op.get(Q), op.set(DEN),
    ...hornerPairs(NUM, DEN, Q, [[3.05326634961232344e-1, 2.56852019228982242e0], [3.60344899949804439e-1, 1.87295284992346725e0],
      [1.25781726111229246e-1, 5.27905102951428412e-1], [1.60837851487422766e-2, 6.05183413124413191e-2]]),
    ...c(5.6418958354775628695e-1),
    op.get(Q), op.get(NUM), ...c(6.58749161529837803e-4), op.dadd, op.dmul, op.get(DEN), ...c(2.33520497626869185e-3), op.dadd, op.ddiv,
    op.dsub, op.get(A), op.ddiv, op.set(Q), // RB = (1/√π − r)/a
    op.end,
    // r = e·(a ≤ 4 ? RA : RB); erfc(t) = t < 0 ? 2 − r : r; half = 0.5·(|t| ≤ 0.46875 ? 1 − erfSmall(t) : erfc(t))
    op.get(E), op.get(RA), op.get(Q), op.get(A), ...c(4), op.dle, op.bitselect, op.dmul, op.set(Q),
    ...c(2), op.get(Q), op.dsub, op.get(Q), op.get(T), ...c(0), op.dlt, op.bitselect, ...c(0.5), op.dmul, op.set(HALF),
    op.get(SMALL), op.get(HALF), op.get(A), ...c(0.46875), op.dle, op.bitselect, op.set(HALF),
    op.get(V), op.get(HALF), op.dmul, op.set(YLO), // y = v·half
    op.get(HALF), op.get(V), ...c(0.3989422804014327), op.dmul, op.get(E), op.dmul, op.dadd, op.set(DLO), // d = half + (v·c)·e
  ];
  // four f32 per step: lanes 0–1, then 2–3, each through `half` (interleaving the two halves' statements measured no
  // faster: the step is bound by its operation count, not by the polynomials' latency)
  const joinLow = op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  const highToLow = [op.get(X4), op.get(X4), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15])];
  const at = (base: number): Code => [op.get(base), op.get(J), op.i32(2), op.shl, op.add];
  const step: Code = [
    ...at(X), op.loadU(0), op.set(X4),
    op.get(X4), op.promoteLow, op.set(V), ...half, op.get(YLO), op.demote, op.set(Y0), op.get(DLO), op.demote, op.set(D0),
    ...highToLow, op.promoteLow, op.set(V), ...half,
    ...at(Y), op.get(Y0), op.get(YLO), op.demote, joinLow, op.storeU(0),
    op.get(WANT), op.if, ...at(D), op.get(D0), op.get(DLO), op.demote, joinLow, op.storeU(0), op.end,
  ];
  return {
    name: 'gelu', params: [I32, I32, I32, I32, I32], locals: [I32, ...new Array<number>(D0 - X4 + 1).fill(V128)],
    code: forStep(J, N, 4, step),
  };
}
