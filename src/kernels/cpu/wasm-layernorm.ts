/**
 * f32 layer normalization in WebAssembly SIMD: the forward rows, the input gradient's rows and the γ/β gradients'
 * columns, each computing exactly what layernorm.ts's TypeScript kernels compute — the same f64 operations in the
 * same order on the same f32 inputs, so the same bits (test/cpu-layernorm-simd.test.ts). A row's sums are four
 * f64 partial sums (j mod 4) added as (s0 + s2) + (s1 + s3), the order layernorm.ts defines for every dtype; here
 * the partials are the lanes of two f64x2 accumulators fed from one f32x4 load. Elementwise work runs two f64
 * lanes at a time; results are rounded to f32 once, as a Float32Array store rounds.
 *
 * Exports (pointers in bytes into `mem`; rows are `cols` floats, packed; cols a multiple of 4 for the row kernels):
 *   lnfwd(x, gamma, beta, y, mean, rstd, rows, cols, colsF, eps)   y, mean, rstd as layernormRows
 *   lndx(x, g, gamma, mean, rstd, dx, rows, cols, colsF)           dx as layernormDxRows
 *   lnpg(x, g, mean, rstd, dgamma, dbeta, rows, cols, c0, c1, wantG, wantB)
 *     dgamma[c] += Σ_r g·(x − mean)·rstd and dbeta[c] += Σ_r g (f64, rows in order) for columns c0 ≤ c < c1, two
 *     at a time (c1 − c0 even), as layernormParamGradColumns.
 */
import { type Code, F64, forLoop, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const layernormWasm = validatedModule(() => wasmModule([fwdFn(), dxFn(), pgFn()]));

const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** The f64x2 of lanes 0–1 (`lo`) or 2–3 of the f32x4 in local v. */
const half = (v: number, hi: boolean): Code => (hi ? [op.get(v), op.get(v), op.shuffle(HIGH), op.promoteLow] : [op.get(v), op.promoteLow]);
/** Two f64x2 (lanes 0–1, then 2–3) rounded to one f32x4, left on the stack. */
const pack = (lo: Code, hi: Code): Code => [...lo, op.demote, ...hi, op.demote, op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23])];
/** Scalar (a + b)[0] + (a + b)[1]: the four partial sums (s0, s1) and (s2, s3) as (s0 + s2) + (s1 + s3). */
const total = (a: number, b: number, t: number): Code => [op.get(a), op.get(b), op.dadd, op.tee(t), op.f64x2lane(0), op.get(t), op.f64x2lane(1), op.f64add];
/** Byte address base + j·4, for the f32 at column j of a row. */
const at = (base: number, j: number): Code => [op.get(base), op.get(j), op.i32(2), op.shl, op.add];

function fwdFn(): WasmFn {
  const X = 0, G = 1, B = 2, Y = 3, MEAN = 4, RSTD = 5, ROWS = 6, COLS = 7, COLSF = 8, EPS = 9;
  const R = 10, J = 11, XR = 12, YR = 13, MU = 14, RS = 15, A = 16, Bq = 17, V = 18, T = 19, MUV = 20, RSV = 21, GV = 22, BV = 23, D = 24;
  const load = (base: number, into: number): Code => [...at(base, J), op.loadU(0), op.set(into)];
  const zero: Code = [op.zero, op.set(A), op.zero, op.set(Bq)];
  const sumX: Code = [...zero, ...forStep(J, COLS, 4, [
    ...load(XR, V),
    op.get(A), ...half(V, false), op.dadd, op.set(A),
    op.get(Bq), ...half(V, true), op.dadd, op.set(Bq),
  ])];
  const sq = (hi: boolean, acc: number): Code => [op.get(acc), ...half(V, hi), op.get(MUV), op.dsub, op.tee(D), op.get(D), op.dmul, op.dadd, op.set(acc)];
  const sumSq: Code = [...zero, ...forStep(J, COLS, 4, [...load(XR, V), ...sq(false, A), ...sq(true, Bq)])];
  // ((x − mu)·rs)·gamma + beta
  const y = (hi: boolean): Code => [...half(V, hi), op.get(MUV), op.dsub, op.get(RSV), op.dmul, ...half(GV, hi), op.dmul, ...half(BV, hi), op.dadd];
  const write: Code = forStep(J, COLS, 4, [
    ...load(XR, V), ...at(G, J), op.loadU(0), op.set(GV), ...at(B, J), op.loadU(0), op.set(BV),
    ...at(YR, J), ...pack(y(false), y(true)), op.storeU(0),
  ]);
  const offset: Code = [op.get(R), op.get(COLS), op.mul, op.i32(2), op.shl];
  return {
    name: 'lnfwd', params: [I32, I32, I32, I32, I32, I32, I32, I32, F64, F64],
    locals: [I32, I32, I32, I32, F64, F64, V128, V128, V128, V128, V128, V128, V128, V128, V128],
    code: forLoop(R, ROWS, [
      op.get(X), ...offset, op.add, op.set(XR), op.get(Y), ...offset, op.add, op.set(YR),
      ...sumX, ...total(A, Bq, T), op.get(COLSF), op.f64div, op.set(MU), op.get(MU), op.f64x2splat, op.set(MUV),
      ...sumSq,
      op.f64const(1), ...total(A, Bq, T), op.get(COLSF), op.f64div, op.get(EPS), op.f64add, op.f64sqrt, op.f64div, op.set(RS),
      op.get(RS), op.f64x2splat, op.set(RSV),
      ...write,
      op.get(MEAN), op.get(R), op.i32(2), op.shl, op.add, op.get(MU), op.demoteF64, op.f32store,
      op.get(RSTD), op.get(R), op.i32(2), op.shl, op.add, op.get(RS), op.demoteF64, op.f32store,
    ]),
  };
}

function dxFn(): WasmFn {
  const X = 0, Gr = 1, GAMMA = 2, MEAN = 3, RSTD = 4, DX = 5, ROWS = 6, COLS = 7, COLSF = 8;
  const R = 9, J = 10, OFF = 11, MUV = 12, RSV = 13, AD = 14, BD = 15, AX = 16, BX = 17, V = 18, W = 19, GM = 20, T = 21, XH = 22, DH = 23, MDV = 24, MXV = 25;
  const ld = (base: number, into: number, rowwise: boolean): Code => [
    op.get(base), ...(rowwise ? [op.get(OFF), op.add] : []), op.get(J), op.i32(2), op.shl, op.add, op.loadU(0), op.set(into),
  ];
  const loads: Code = [...ld(X, V, true), ...ld(Gr, W, true), ...ld(GAMMA, GM, false)];
  // xhat = (x − mu)·rs, dxhat = g·gamma
  const xhat = (hi: boolean): Code => [...half(V, hi), op.get(MUV), op.dsub, op.get(RSV), op.dmul, op.set(XH)];
  const dxhat = (hi: boolean): Code => [...half(W, hi), ...half(GM, hi), op.dmul, op.set(DH)];
  const acc = (hi: boolean, d: number, x: number): Code => [
    ...xhat(hi), ...dxhat(hi),
    op.get(d), op.get(DH), op.dadd, op.set(d),
    op.get(x), op.get(DH), op.get(XH), op.dmul, op.dadd, op.set(x),
  ];
  // rs·((dxhat − meanD) − xhat·meanDX)
  const dx = (hi: boolean): Code => [
    op.get(RSV), ...xhat(hi), ...dxhat(hi), op.get(DH), op.get(MDV), op.dsub, op.get(XH), op.get(MXV), op.dmul, op.dsub, op.dmul,
  ];
  const scalar = (base: number): Code => [op.get(base), op.get(R), op.i32(2), op.shl, op.add, op.f32load, op.promoteF32, op.f64x2splat];
  return {
    name: 'lndx', params: [I32, I32, I32, I32, I32, I32, I32, I32, F64],
    locals: [I32, I32, I32, ...new Array<number>(14).fill(V128)],
    code: forLoop(R, ROWS, [
      op.get(R), op.get(COLS), op.mul, op.i32(2), op.shl, op.set(OFF),
      ...scalar(MEAN), op.set(MUV), ...scalar(RSTD), op.set(RSV),
      op.zero, op.set(AD), op.zero, op.set(BD), op.zero, op.set(AX), op.zero, op.set(BX),
      ...forStep(J, COLS, 4, [...loads, ...acc(false, AD, AX), ...acc(true, BD, BX)]),
      ...total(AD, BD, T), op.get(COLSF), op.f64div, op.f64x2splat, op.set(MDV),
      ...total(AX, BX, T), op.get(COLSF), op.f64div, op.f64x2splat, op.set(MXV),
      ...forStep(J, COLS, 4, [
        ...loads, op.get(DX), op.get(OFF), op.add, op.get(J), op.i32(2), op.shl, op.add, ...pack(dx(false), dx(true)), op.storeU(0),
      ]),
    ]),
  };
}

function pgFn(): WasmFn {
  const X = 0, Gr = 1, MEAN = 2, RSTD = 3, DG = 4, DB = 5, ROWS = 6, COLS = 7, C0 = 8, C1 = 9, WANTG = 10, WANTB = 11;
  const R = 12, J = 13, OFF = 14, P = 15, MUV = 16, RSV = 17, XV = 18, GV = 19;
  const scalar = (base: number): Code => [op.get(base), op.get(R), op.i32(2), op.shl, op.add, op.f32load, op.promoteF32, op.f64x2splat];
  const pair = (base: number): Code => [op.get(base), op.get(OFF), op.add, op.get(J), op.i32(2), op.shl, op.add, op.load64Splat(0), op.promoteLow];
  const accAt = (base: number): Code => [op.get(base), op.get(J), op.i32(3), op.shl, op.add, op.tee(P)];
  const body: Code = [
    ...pair(X), op.set(XV), ...pair(Gr), op.set(GV),
    // dgamma += (g·(x − mu))·rs
    op.get(WANTG), op.if,
    ...accAt(DG), op.get(P), op.loadU(0), op.get(GV), op.get(XV), op.get(MUV), op.dsub, op.dmul, op.get(RSV), op.dmul, op.dadd, op.storeU(0),
    op.end,
    op.get(WANTB), op.if, ...accAt(DB), op.get(P), op.loadU(0), op.get(GV), op.dadd, op.storeU(0), op.end,
  ];
  const columns: Code = [
    op.get(C0), op.set(J), op.block, op.loop, op.get(J), op.get(C1), op.geU, op.brIf(1),
    ...body, op.get(J), op.i32(2), op.add, op.set(J), op.br(0), op.end, op.end,
  ];
  return {
    name: 'lnpg', params: new Array<number>(12).fill(I32),
    locals: [I32, I32, I32, I32, V128, V128, V128, V128],
    code: forLoop(R, ROWS, [
      op.get(R), op.get(COLS), op.mul, op.i32(2), op.shl, op.set(OFF),
      ...scalar(MEAN), op.set(MUV), ...scalar(RSTD), op.set(RSV),
      ...columns,
    ]),
  };
}
