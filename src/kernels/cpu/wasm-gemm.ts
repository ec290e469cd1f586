/**
 * The f32 matmul's kernels in WebAssembly SIMD (128-bit, f32x4), assembled here, in TypeScript, into the bytes of a
 * ~1 KB module: no toolchain, no binary file, nothing fetched. V8 (Node, Chromium) and every current browser compile
 * it to SSE/AVX or NEON. Why: the scalar TypeScript kernel (gemm.ts) is bound by V8's scalar code — each
 * multiply-add is a bounds-checked load, a float64 multiply and an add, ≈ 1.7 GFLOP/s per core here — while one
 * f32x4 multiply and add do four. Where WebAssembly SIMD is missing (WebAssembly.validate says so) the f32 matmul
 * falls back to gemm.ts.
 *
 * The module exports its memory `mem` and three functions (all offsets and strides in bytes, into mem):
 *   tiles(pa, aStrip, aK, aRow, pb, pc, ldc, mStrips, nStrips, kc, accumulate)
 *     for every B strip t < nStrips and A strip s < mStrips (in that order: one 8-column B strip stays in L1 while
 *     the A strips stream past it) the 4 × 8 tile C[4s .. 4s+3, 8t .. 8t+7] (=|+=) Σ_{k < kc} A(4s + r, k)·B(k, 8t + c),
 *     A read in place through strides (A(i, k) at pa + i·aRow + k·aK; aStrip = 4·aRow), B from 8-column strips
 *     packed k-major (32 B per k, strip t at pb + t·kc·32), C row-major with row stride ldc at pc. Each lane sums
 *     its k terms in order, a multiply then an add each (f32x4.mul, f32x4.add: IEEE single, no fused multiply-add,
 *     so the result is the same on every engine and CPU); `accumulate` adds the tile into C (one more rounding).
 *   packB(src, rs, cs, nc, ncPad, kc, dst)
 *     B(k, j) = src[k·rs + j·cs] for k < kc, j < ncPad → 8-column strips at dst as `tiles` reads them, zero for j ≥ nc.
 *   finish(cb, ldcb, rows, nc, hasBias, bias, dst)
 *     rows × nc of the C buffer at cb (row stride ldcb) → dst, packed rows of nc, plus bias[j] when hasBias
 *     (f32.add: the same rounding as a separate add).
 */
import { type Code, countDown, forLoop, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module's bytes (a fresh copy each call). */
export function gemmWasmBytes(): Uint8Array {
  return new Uint8Array(bytes());
}

/** The module, built once per process, or null where this engine cannot run it. */
export const gemmWasm = validatedModule(bytes);

const i32s = (n: number): number[] => new Array<number>(n).fill(I32);
const v128s = (n: number): number[] => new Array<number>(n).fill(V128);

function tilesFn(): WasmFn {
  const PA = 0, ASTRIP = 1, AK = 2, AROW = 3, PB = 4, PC = 5, LDC = 6, MS = 7, NS = 8, KC = 9, ACC = 10;
  const T = 11, S = 12, K = 13, A = 14, B = 15, CP = 16, AR2 = 17, AR3 = 18;
  const ACC0 = 19, VA = 27, VB0 = 28, VB1 = 29; // 8 accumulators (row r: columns 0–3 in 2r, 4–7 in 2r + 1)
  const kStep: Code = [op.get(B), op.load(0), op.set(VB0), op.get(B), op.load(16), op.set(VB1)];
  for (let r = 0; r < 4; r++) {
    kStep.push(op.get(A));
    if (r > 0) kStep.push(op.get(r === 1 ? AROW : r === 2 ? AR2 : AR3), op.add);
    kStep.push(op.load32Splat(0), op.set(VA));
    for (let h = 0; h < 2; h++) kStep.push(op.get(ACC0 + 2 * r + h), op.get(VA), op.get(h ? VB1 : VB0), op.fmul, op.fadd, op.set(ACC0 + 2 * r + h));
  }
  kStep.push(op.get(A), op.get(AK), op.add, op.set(A), op.get(B), op.i32(32), op.add, op.set(B));
  const store = (accumulate: boolean): Code => {
    const out: Code = [];
    for (let r = 0; r < 4; r++) {
      for (let h = 0; h < 2; h++) {
        if (accumulate) out.push(op.get(CP), op.get(CP), op.load(16 * h), op.get(ACC0 + 2 * r + h), op.fadd, op.store(16 * h));
        else out.push(op.get(CP), op.get(ACC0 + 2 * r + h), op.store(16 * h));
      }
      out.push(op.get(CP), op.get(LDC), op.add, op.set(CP));
    }
    return out;
  };
  const tile: Code = [];
  for (let v = 0; v < 8; v++) tile.push(op.zero, op.set(ACC0 + v));
  tile.push(op.get(PA), op.get(S), op.get(ASTRIP), op.mul, op.add, op.set(A)); // a = pa + s·aStrip
  tile.push(op.get(PB), op.get(T), op.get(KC), op.mul, op.i32(5), op.shl, op.add, op.set(B)); // b = pb + t·kc·32
  tile.push(op.get(KC), op.set(K), ...countDown(K, kStep));
  // the tile's first row in C: pc + s·4·ldc + t·32
  tile.push(op.get(PC), op.get(S), op.get(LDC), op.mul, op.i32(2), op.shl, op.add, op.get(T), op.i32(5), op.shl, op.add, op.set(CP));
  tile.push(op.get(ACC), op.if, ...store(true), op.else, ...store(false), op.end);
  return {
    name: 'tiles', params: i32s(11), locals: [...i32s(8), ...v128s(11)],
    code: [op.get(AROW), op.i32(1), op.shl, op.set(AR2), op.get(AR2), op.get(AROW), op.add, op.set(AR3),
      ...forLoop(T, NS, forLoop(S, MS, tile))],
  };
}

function packBFn(): WasmFn {
  const SRC = 0, RS = 1, CS = 2, NC = 3, NCPAD = 4, KC = 5, DST = 6;
  const COL = 7, K = 8, SP = 9, DP = 10;
  return {
    name: 'packB', params: i32s(7), locals: i32s(4),
    code: forLoop(COL, NCPAD, [
      // dp = dst + (col >> 3)·kc·32 + (col & 7)·4
      op.get(DST), op.get(COL), op.i32(3), op.shrU, op.get(KC), op.mul, op.i32(5), op.shl, op.add,
      op.get(COL), op.i32(7), op.and, op.i32(2), op.shl, op.add, op.set(DP),
      op.get(KC), op.set(K),
      op.get(COL), op.get(NC), op.ltU, op.if,
      op.get(SRC), op.get(COL), op.get(CS), op.mul, op.add, op.set(SP),
      ...countDown(K, [op.get(DP), op.get(SP), op.f32load, op.f32store,
        op.get(SP), op.get(RS), op.add, op.set(SP), op.get(DP), op.i32(32), op.add, op.set(DP)]),
      op.else,
      ...countDown(K, [op.get(DP), op.i32(0), op.i32store, op.get(DP), op.i32(32), op.add, op.set(DP)]),
      op.end,
    ]),
  };
}

function finishFn(): WasmFn {
  const CB = 0, LDCB = 1, ROWS = 2, NC = 3, HASBIAS = 4, BIAS = 5, DST = 6;
  const I = 7, J = 8, SP = 9, BP = 10;
  const advance: Code = [op.get(DST), op.i32(4), op.add, op.set(DST), op.get(SP), op.i32(4), op.add, op.set(SP)];
  return {
    name: 'finish', params: i32s(7), locals: i32s(4),
    code: forLoop(I, ROWS, [
      op.get(CB), op.get(I), op.get(LDCB), op.mul, op.add, op.set(SP), op.get(BIAS), op.set(BP),
      op.get(HASBIAS), op.if,
      ...forLoop(J, NC, [op.get(DST), op.get(SP), op.f32load, op.get(BP), op.f32load, op.f32add, op.f32store,
        ...advance, op.get(BP), op.i32(4), op.add, op.set(BP)]),
      op.else,
      ...forLoop(J, NC, [op.get(DST), op.get(SP), op.f32load, op.f32store, ...advance]),
      op.end,
    ]),
  };
}

function bytes(): number[] {
  return wasmModule([tilesFn(), packBFn(), finishFn()]);
}

/**
 * Rows [g0, g1) of a batched f32 product through the kernels above, with the same arguments and loop structure as
 * gemmRows (gemm.ts) plus the module's bytes first. Per batch item, per NC-column panel and KC-deep block of op(B):
 * the block is copied into the module's memory (typed-array `set`s: one memcpy when its rows are contiguous) and
 * packed by `packB`; per MC-row block of op(A) the A block is copied in the same way and `tiles` reads it through
 * strides into a C buffer there (this range's rows × the panel's columns; stored on the first K block, accumulated on
 * the later ones); after the panel's last K block `finish` adds the bias and packs the rows, and they are copied out
 * to c. So JavaScript only copies whole rows; every per-element loop runs in WebAssembly.
 *
 * Rounding of each element: its K products are summed in blocks of KC = 256 in f32, lane by lane in k order, each
 * block's sum then added to the running total in f32 — the same order whatever range or thread computes the element.
 *
 * SELF-CONTAINED, like gemmRows: its text is the pool's worker source. Each thread instantiates the module once
 * (cached on the function object) and keeps its own memory (it grows to the largest product's buffers: about
 * 4·(2·rows·512 + 3·256·512) bytes for `rows` output rows of one batch item).
 */
export function gemmRowsF32x4(
  wasm: Uint8Array,
  a: Float32Array, b: Float32Array, c: Float32Array,
  offA: ArrayLike<number>, offB: ArrayLike<number>,
  M: number, K: number, N: number, transA: boolean, transB: boolean,
  bias: Float32Array | null, g0: number, g1: number,
): void {
  const MR = 4, NR = 8, KC = 256, MC = 96, NC = 512;
  type Kernels = {
    mem: WebAssembly.Memory;
    tiles(pa: number, aStrip: number, aK: number, aRow: number, pb: number, pc: number, ldc: number, ms: number, ns: number, kc: number, acc: number): void;
    packB(src: number, rs: number, cs: number, nc: number, ncPad: number, kc: number, dst: number): void;
    finish(cb: number, ldcb: number, rows: number, nc: number, hasBias: number, bias: number, dst: number): void;
  };
  const self = gemmRowsF32x4 as unknown as { kernels?: Kernels; view?: Float32Array };
  if (self.kernels === undefined) {
    self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Kernels;
  }
  const { mem, tiles, packB, finish } = self.kernels;
  const kcMax = Math.min(KC, K);
  const ncMax = Math.ceil(Math.min(NC, N) / NR) * NR;
  const rowsMax = Math.min(g1 - g0, M);
  const rowsPad = Math.ceil(rowsMax / MR) * MR;
  // floats: [raw A block | raw B block | packed B block | bias | C buffer | finished rows]
  const ra0 = 0;
  const rb0 = ra0 + MC * kcMax + MR * kcMax + MR; // + room for the padded rows' reads
  const pb0 = rb0 + kcMax * Math.min(NC, N);
  const bb0 = pb0 + kcMax * ncMax;
  const cb0 = bb0 + N;
  const fb0 = cb0 + rowsPad * ncMax;
  const need = 4 * (fb0 + rowsMax * ncMax);
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let p = self.view;
  if (p === undefined || p.buffer !== mem.buffer) { p = new Float32Array(mem.buffer); self.view = p; }
  // rows × cols of src (row stride `stride`, from `off`) → p[dst …], packed rows
  const copy = (src: Float32Array, off: number, stride: number, rows: number, cols: number, dst: number): void => {
    if (stride === cols) { p!.set(src.subarray(off, off + rows * cols), dst); return; }
    for (let r = 0; r < rows; r++) p!.set(src.subarray(off + r * stride, off + r * stride + cols), dst + r * cols);
  };
  if (bias !== null) p.set(bias, bb0);

  for (let t = Math.floor(g0 / M); t * M < g1; t++) {
    const i0 = Math.max(g0 - t * M, 0), i1 = Math.min(g1 - t * M, M);
    const oa = offA[t], ob = offB[t], oc = t * M * N;
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      const ncPad = Math.ceil(nc / NR) * NR;
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        // B block op(B)[pc : pc + kc, jc : jc + nc]: raw copy, then 8-column strips (zero past nc)
        if (transB) {
          copy(b, ob + jc * K + pc, K, nc, kc, rb0); // stored (N, K): raw(k, j) at j·kc + k
          packB(4 * rb0, 4, 4 * kc, nc, ncPad, kc, 4 * pb0);
        } else {
          copy(b, ob + pc * N + jc, N, kc, nc, rb0); // stored (K, N): raw(k, j) at k·nc + j
          packB(4 * rb0, 4 * nc, 4, nc, ncPad, kc, 4 * pb0);
        }
        for (let ic = i0; ic < i1; ic += MC) {
          const mc = Math.min(MC, i1 - ic);
          // A block op(A)[ic : ic + mc, pc : pc + kc], read in place by `tiles` (rows past mc: garbage, never kept)
          let aRow: number, aK: number;
          if (transA) { copy(a, oa + pc * M + ic, M, kc, mc, ra0); aRow = 4; aK = 4 * mc; } // raw(i, k) at k·mc + i
          else { copy(a, oa + ic * K + pc, K, mc, kc, ra0); aRow = 4 * kc; aK = 4; } // raw(i, k) at i·kc + k
          tiles(4 * ra0, MR * aRow, aK, aRow, 4 * pb0, 4 * (cb0 + (ic - i0) * ncPad), 4 * ncPad,
            Math.ceil(mc / MR), ncPad / NR, kc, pc === 0 ? 0 : 1);
        }
      }
      // the finished panel: rows i0 … i1 − 1, columns jc … jc + nc − 1 (+ bias), out to c
      const rows = i1 - i0;
      finish(4 * cb0, 4 * ncPad, rows, nc, bias === null ? 0 : 1, 4 * (bb0 + jc), 4 * fb0);
      if (nc === N) c.set(p.subarray(fb0, fb0 + rows * N), oc + i0 * N);
      else for (let i = 0; i < rows; i++) c.set(p.subarray(fb0 + i * nc, fb0 + (i + 1) * nc), oc + (i0 + i) * N + jc);
    }
  }
}
