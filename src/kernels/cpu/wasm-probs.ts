/**
 * attention_probs in f32 (forward and backward) in WebAssembly SIMD: four keys per instruction for the exponential,
 * the max and sum, the masks and dropout's hash, where the TypeScript rows (attention-probs.ts) take one `Math.exp`
 * and two hash rounds per score. The module is assembled by wasm-asm.ts; f64 storages, and engines without
 * WebAssembly SIMD, keep the TypeScript rows.
 *
 * Exports (pointers and sizes in bytes into `mem`, S the keys per row, rows may start anywhere; each row may read
 * and write up to 3 floats past its end, so every buffer has 4 floats of room after it):
 *   fwd(src, mask, y, probs, S, limit, scale: f64, fill: f32, threshold, keep: f64, seed, index, scratch)
 *     one row: v_j = f32(src_j · scale) (the product in f64, rounded once, as mul_scalar stores it), `fill` where
 *     mask_j = 0 or j ≥ limit; m = max_j v_j; e_j = expF32(v_j − m) (the difference in f32); y_j = e_j / Σ e (the sum
 *     in 4 lanes, lane k over j ≡ k mod 4, in j order, then (l0 + l1) + (l2 + l3), all f32); with probs ≠ 0,
 *     probs_j = f32(y_j · keep) (f64 product) where the draw of element index + j keeps it, else 0.
 *   bwd(y, g, mask, ds, S, limit, scale: f64, threshold, keep: f64, seed, index, scratch, dropout)
 *     one row, in f64 lanes as the TypeScript rows: gd_j = g_j·keep where kept (dropout ≠ 0), else 0, or g_j·1 without
 *     dropout (keep = 1); dot = Σ gd_j·y_j (2 lanes, lane k over j ≡ k mod 2, then l0 + l1); ds_j = f32(scale·y_j·(gd_j − dot)), 0
 *     at hidden keys.
 *   exp(src, dst, n): dst_i = expF32(src_i), n a multiple of 4 (what the tests tie to the scalar model).
 *   drop(src, dst, n, threshold, scale: f64, seed, index): dropout, dst_i = f32(src_i · scale) (f64 product) where the
 *     draw of element index + i keeps it, else 0 — the TypeScript dropoutRange's values bit for bit.
 *
 * expF32(x), in f32 arithmetic (no fused multiply-add, so the same bits on every engine): x clamped to [−104, 88.7];
 * n = nearest(x·log2 e); r = (x − n·C1) − n·C2 (C1 + C2 ≈ ln 2, C1 = 0.693359375 exact in 9 bits); the degree-7
 * polynomial 1 + r + r²·P(r) with Cephes' expf coefficients; times 2^⌊n/2⌋ then 2^(n − ⌊n/2⌋) (each factor normal, so
 * a result in the subnormal range is rounded once). Measured against Math.exp rounded to f32 on every 7th f32 of
 * [−104, 0] (160 M values): at most 1 ulp apart, 0.85 % differ at all (test/cpu-probs-simd.test.ts checks a sample and
 * the bit-exact model).
 *
 * Dropout's draw is rng.ts's uniformAt(seed, index) = hash32(seed ^ hash32(index)) >> 8 / 2²⁴ in i32x4 lanes (Math.imul
 * is i32x4.mul), kept where (hash >> 8) ≥ threshold = ⌈p·2²⁴⌉ — exactly where uniformAt ≥ p.
 */
import { type Code, F32, F64, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const probsWasm = validatedModule(() => wasmModule([fwdFn(), bwdFn(), expFn(), dropFn()]));

/** Cephes expf's polynomial, highest degree first, and the split of ln 2. */
export const EXP_F32 = {
  log2e: 1.44269504088896341, c1: 0.693359375, c2: -2.12194440e-4, lo: -104, hi: 88.7,
  p: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
};

/** expF32 of the v128 on the stack → its result on the stack; uses locals t0 (v128) and t1 (v128). */
export function expCode(t0: number, t1: number): Code {
  const c = EXP_F32;
  const poly: Code = [op.f32x4const(c.p[0]!)];
  for (let i = 1; i < c.p.length; i++) poly.push(op.get(t1), op.fmul, op.f32x4const(c.p[i]!), op.fadd);
  const pow2 = (shift: Code): Code => [...shift, op.i32x4const(127, 127, 127, 127), op.i32x4add, op.i32(23), op.i32x4shl];
  return [
    op.f32x4const(c.lo), op.fpmax, op.f32x4const(c.hi), op.fpmin, op.set(t0), // x clamped (NaN stays NaN: fpmin/fpmax with a constant)
    op.get(t0), op.f32x4const(c.log2e), op.fmul, op.fnearest, op.set(t1), // n
    // r = (x − n·C1) − n·C2 → t0; n as i32 → t1 is needed later, so keep n in the stack order below
    op.get(t0), op.get(t1), op.f32x4const(c.c1), op.fmul, op.fsub, op.get(t1), op.f32x4const(c.c2), op.fmul, op.fsub,
    op.get(t1), op.truncSatS, op.set(t0), // t0 = n (i32 lanes); the stack holds r
    op.set(t1), // t1 = r
    ...poly, op.get(t1), op.get(t1), op.fmul, op.fmul, op.get(t1), op.fadd, op.f32x4const(1), op.fadd, // p = 1 + r + r²·P(r)
    ...pow2([op.get(t0), op.i32(1), op.i32x4shrS]), op.fmul, // · 2^⌊n/2⌋
    ...pow2([op.get(t0), op.get(t0), op.i32(1), op.i32x4shrS, op.i32x4sub]), op.fmul, // · 2^(n − ⌊n/2⌋)
  ];
}

/** lowbias32 of the i32 lanes on the stack → on the stack; uses local t (v128). */
function hashCode(t: number): Code {
  const round = (k: number, m?: number): Code => [op.set(t), op.get(t), op.get(t), op.i32(k), op.i32x4shrU, op.vxor,
    ...(m === undefined ? [] : [op.i32(m), op.i32x4splat, op.i32x4mul])];
  return [...round(16, 0x7feb352d), ...round(15, 0x846ca68b | 0), ...round(16)];
}

/** The draw's keep mask of elements index + j + (0, 1, 2, 3) on the stack (all ones where kept). */
function keepCode(index: number, j: number, seed: number, threshold: number, t: number): Code {
  return [op.i32x4const(0, 1, 2, 3), op.get(index), op.get(j), op.add, op.i32x4splat, op.i32x4add,
    ...hashCode(t), op.get(seed), op.i32x4splat, op.vxor, ...hashCode(t), op.i32(8), op.i32x4shrU,
    op.get(threshold), op.i32x4splat, op.i32x4geS];
}

/** f32 lanes (a0, a1, ·, ·) and (b0, b1, ·, ·) on the stack → (a0, a1, b0, b1). */
const joinLow = op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
/** The high two f32 lanes of the v128 on the stack, moved low (for promote). */
const highToLow = (v: number): Code => [op.get(v), op.get(v), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15])];
/** f32 lanes of local v times the f64 local k, each product rounded once to f32 → on the stack. */
const timesF64 = (v: number, k: number): Code => [
  op.get(v), op.promoteLow, op.get(k), op.f64x2splat, op.dmul, op.demote,
  ...highToLow(v), op.promoteLow, op.get(k), op.f64x2splat, op.dmul, op.demote, joinLow,
];
/** Lanes j + (0..3) hidden: mask (f32) = 0 or j + lane ≥ limit. */
const hiddenCode = (mask: number, j: number, limit: number): Code => [
  op.get(mask), op.get(j), op.i32(2), op.shl, op.add, op.loadU(0), op.zero, op.f32x4eq,
  op.i32x4const(0, 1, 2, 3), op.get(j), op.i32x4splat, op.i32x4add, op.get(limit), op.i32x4splat, op.i32x4geS, op.vor,
];
/** Lanes j + (0..3) inside the row (j + lane < S). */
const validCode = (j: number, S: number): Code => [
  op.i32x4const(0, 1, 2, 3), op.get(j), op.i32x4splat, op.i32x4add, op.get(S), op.i32x4splat, op.i32x4ltS,
];
const at = (base: number, j: number, shift = 2): Code => [op.get(base), op.get(j), op.i32(shift), op.shl, op.add];

function fwdFn(): WasmFn {
  const SRC = 0, MASK = 1, Y = 2, PR = 3, S = 4, LIMIT = 5, SCALE = 6, FILL = 7, THR = 8, KEEP = 9, SEED = 10, INDEX = 11, X = 12;
  const J = 13, MX = 14, SUM = 15, V = 16, T0 = 17, T1 = 18, T2 = 19, M = 20, V2 = 21, T3 = 22, T4 = 23;
  const pass1: Code = [
    ...at(SRC, J), op.loadU(0), op.set(V),
    ...timesF64(V, SCALE), op.set(V),
    op.get(FILL), op.f32x4splat, op.get(V), ...hiddenCode(MASK, J, LIMIT), op.bitselect, op.set(V),
    ...at(X, J), op.get(V), op.storeU(0),
    op.get(MX), op.get(V), op.fmax, op.set(MX),
  ];
  // the exponentials, eight a step while eight remain (two copies, so their latency chains overlap), then four; the
  // sum adds the same vectors in the same order either way. The eight-wide copy's lanes are all inside the row.
  const exp4 = (off: number, t0: number, t1: number, v: number, masked: boolean): Code => [
    ...at(Y, J),
    ...at(X, J), op.loadU(off), op.get(M), op.fsub, ...expCode(t0, t1), ...(masked ? [...validCode(J, S), op.vand] : []), op.tee(v), op.storeU(off),
  ];
  const pass2Pairs: Code = [
    op.i32(0), op.set(J), op.block, op.loop, op.get(S), op.get(J), op.i32(8), op.add, op.ltU, op.brIf(1),
    ...exp4(0, T0, T1, V, false), ...exp4(16, T3, T4, V2, false),
    op.get(SUM), op.get(V), op.fadd, op.get(V2), op.fadd, op.set(SUM),
    op.get(J), op.i32(8), op.add, op.set(J), op.br(0), op.end, op.end,
  ];
  const pass2Rest: Code = [
    op.block, op.loop, op.get(J), op.get(S), op.geU, op.brIf(1),
    ...exp4(0, T0, T1, V, true), op.get(SUM), op.get(V), op.fadd, op.set(SUM),
    op.get(J), op.i32(4), op.add, op.set(J), op.br(0), op.end, op.end,
  ];
  const pass3: Code = [
    ...at(Y, J), ...at(Y, J), op.loadU(0), op.get(SUM), op.fdiv, op.tee(V), op.storeU(0),
    op.get(PR), op.if,
    ...at(PR, J), ...timesF64(V, KEEP), ...keepCode(INDEX, J, SEED, THR, T2), op.vand, op.storeU(0),
    op.end,
  ];
  const lane = (v: number, l: number): Code => [op.get(v), op.f32x4lane(l)];
  return {
    name: 'fwd', params: [I32, I32, I32, I32, I32, I32, F64, F32, I32, F64, I32, I32, I32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    code: [
      op.f32x4const(-Infinity), op.set(MX), op.zero, op.set(SUM),
      ...forStep(J, S, 4, pass1),
      // m = max(max(l0, l1), max(l2, l3)), splat
      ...lane(MX, 0), ...lane(MX, 1), op.f32max, ...lane(MX, 2), ...lane(MX, 3), op.f32max, op.f32max, op.f32x4splat, op.set(M),
      ...pass2Pairs, ...pass2Rest,
      ...lane(SUM, 0), ...lane(SUM, 1), op.f32add, ...lane(SUM, 2), ...lane(SUM, 3), op.f32add, op.f32add, op.f32x4splat, op.set(SUM),
      ...forStep(J, S, 4, pass3),
    ],
  };
}

function bwdFn(): WasmFn {
  const Y = 0, G = 1, MASK = 2, DS = 3, S = 4, LIMIT = 5, SCALE = 6, THR = 7, KEEP = 8, SEED = 9, INDEX = 10, X = 11, DROP = 12;
  const J = 13, GV = 14, YV = 15, VAL = 16, DOT = 17, T = 18, LO = 19, HI = 20;
  // gd (f64, 2 lanes each) for lanes 0–1 → LO, 2–3 → HI; dropped and out-of-row lanes 0
  const pass1: Code = [
    ...at(G, J), op.loadU(0), op.set(GV), ...at(Y, J), op.loadU(0), op.set(YV),
    ...validCode(J, S), op.set(VAL),
    op.get(DROP), op.if, ...keepCode(INDEX, J, SEED, THR, T), op.get(VAL), op.vand, op.set(VAL), op.end,
    op.get(GV), op.promoteLow, op.get(KEEP), op.f64x2splat, op.dmul, // keep = 1 without dropout: exact
    op.get(VAL), op.i64x2extendLowS, op.vand, op.set(LO),
    ...highToLow(GV), op.promoteLow, op.get(KEEP), op.f64x2splat, op.dmul,
    op.get(VAL), op.i64x2extendHighS, op.vand, op.set(HI),
    ...at(X, J, 3), op.get(LO), op.storeU(0), ...at(X, J, 3), op.get(HI), op.storeU(16),
    // dot += gd·y, out-of-row lanes masked (their y may be anything)
    op.get(DOT), op.get(LO), op.get(YV), op.promoteLow, op.dmul, ...validCode(J, S), op.i64x2extendLowS, op.vand, op.dadd,
    op.get(HI), ...highToLow(YV), op.promoteLow, op.dmul, ...validCode(J, S), op.i64x2extendHighS, op.vand, op.dadd, op.set(DOT),
  ];
  // ds = f32(scale·y·(gd − dot)), 0 where hidden
  const half = (low: boolean): Code => [
    op.get(SCALE), op.f64x2splat, ...(low ? [op.get(YV)] : highToLow(YV)), op.promoteLow, op.dmul,
    ...at(X, J, 3), op.loadU(low ? 0 : 16), op.get(DOT), op.dsub, op.dmul, op.demote,
  ];
  const pass2: Code = [
    ...at(Y, J), op.loadU(0), op.set(YV),
    ...at(DS, J), ...half(true), ...half(false), joinLow, ...hiddenCode(MASK, J, LIMIT), op.vandnot, op.storeU(0),
  ];
  return {
    name: 'bwd', params: [I32, I32, I32, I32, I32, I32, F64, I32, F64, I32, I32, I32, I32],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128],
    code: [
      op.zero, op.set(DOT),
      ...forStep(J, S, 4, pass1),
      // dot = l0 + l1, splat
      op.get(DOT), op.f64x2lane(0), op.get(DOT), op.f64x2lane(1), [0xa0], op.f64x2splat, op.set(DOT),
      ...forStep(J, S, 4, pass2),
    ],
  };
}

function dropFn(): WasmFn {
  const SRC = 0, DST = 1, N = 2, THR = 3, SCALE = 4, SEED = 5, INDEX = 6, J = 7, V = 8, T = 9;
  return {
    name: 'drop', params: [I32, I32, I32, I32, F64, I32, I32], locals: [I32, V128, V128],
    code: forStep(J, N, 4, [...at(DST, J), ...at(SRC, J), op.loadU(0), op.set(V), ...timesF64(V, SCALE),
      ...keepCode(INDEX, J, SEED, THR, T), op.vand, op.storeU(0)]),
  };
}

function expFn(): WasmFn {
  const SRC = 0, DST = 1, N = 2, J = 3, T0 = 4, T1 = 5;
  return {
    name: 'exp', params: [I32, I32, I32], locals: [I32, V128, V128],
    code: forStep(J, N, 4, [...at(DST, J), ...at(SRC, J), op.loadU(0), ...expCode(T0, T1), op.storeU(0)]),
  };
}
