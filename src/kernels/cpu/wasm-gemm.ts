/**
 * The f32 matmul's micro-kernel in WebAssembly SIMD (128-bit, f32x4), assembled here, in TypeScript, into the bytes of
 * a ~0.4 KB module: no toolchain, no binary file, nothing fetched. V8 (Node, Chromium) and every current browser
 * compile it to SSE/AVX or NEON. Why: the scalar TypeScript kernel (gemm.ts) is bound by V8's scalar code — each
 * multiply-add is a bounds-checked load, a float64 multiply and an add, ≈ 1.7 GFLOP/s per core here — while one
 * f32x4 multiply and add do four. Where WebAssembly SIMD is missing (WebAssembly.validate says so) the f32 matmul
 * falls back to gemm.ts.
 *
 * The module exports its memory `mem` and one function
 *   tiles(pa, pb, pc, mStrips, nStrips, kc, ldc, accumulate)
 * which, for every B strip t < nStrips and A strip s < mStrips (in that order: one 8-column B strip stays in L1
 * while the A strips stream past it), computes the 4 × 8 tile
 *   C[4s .. 4s+3, 8t .. 8t+7] (=|+=) Σ_{k < kc} Apack(s)[k, ·] ⊗ Bpack(t)[k, ·]
 * with A strips packed k-major 4 rows wide (16 B per k, at pa + s·kc·16), B strips k-major 8 columns wide (32 B per
 * k, at pb + t·kc·32) and C row-major with a row stride of ldc bytes at pc. All offsets are byte offsets into mem.
 * Each lane sums its k terms in order, a multiply then an add each (f32x4.mul, f32x4.add: IEEE single, no fused
 * multiply-add, so the result is the same on every engine and CPU), and `accumulate` adds the tile into C (one more
 * rounding) instead of storing it.
 */

/** The module's bytes (a fresh copy each call). */
export function gemmWasmBytes(): Uint8Array {
  return new Uint8Array(bytes());
}

let cached: Uint8Array | null = null;
let valid: boolean | null = null;

/** The module, built once per process, and whether this engine can run it. */
export function gemmWasm(): Uint8Array | null {
  if (valid === null) {
    cached = gemmWasmBytes();
    const W = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
    try { valid = W !== undefined && W.validate(cached); } catch { valid = false; }
  }
  return valid ? cached : null;
}

// ---- a very small assembler: just what `tiles` needs

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) { out.push(byte); return out; }
    out.push(byte | 0x80);
  }
};
const str = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f, V128 = 0x7b;
const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)], brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (l: number) => [0x20, ...uleb(l)], set: (l: number) => [0x21, ...uleb(l)], tee: (l: number) => [0x22, ...uleb(l)],
  i32: (n: number) => [0x41, ...sleb(n)],
  eqz: [0x45], geU: [0x4f], add: [0x6a], sub: [0x6b], mul: [0x6c], shl: [0x74],
  // SIMD (prefix 0xfd, then the opcode as unsigned LEB128; memarg = log2 alignment, offset)
  load: (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  load32Splat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  store: (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  fadd: [0xfd, ...uleb(0xe4)], fmul: [0xfd, ...uleb(0xe6)],
};

function bytes(): number[] {
  // params
  const PA = 0, PB = 1, PC = 2, MS = 3, NS = 4, KC = 5, LDC = 6, ACC = 7;
  // i32 locals
  const T = 8, S = 9, K = 10, A = 11, B = 12, CP = 13;
  // v128 locals: 8 accumulators (row r: columns 0–3 in 2r, 4–7 in 2r + 1), the A splat, the two B vectors
  const ACC0 = 14, VA = 22, VB0 = 23, VB1 = 24;

  const code: number[] = [];
  const emit = (...parts: (number | number[])[]) => { for (const p of parts) typeof p === 'number' ? code.push(p) : code.push(...p); };

  emit(op.i32(0), op.set(T));
  emit(op.block, op.loop); // over B strips t
  emit(op.get(T), op.get(NS), op.geU, op.brIf(1));
  emit(op.i32(0), op.set(S));
  emit(op.block, op.loop); // over A strips s
  emit(op.get(S), op.get(MS), op.geU, op.brIf(1));
  for (let v = 0; v < 8; v++) emit(op.zero, op.set(ACC0 + v));
  // a = pa + s·kc·16; b = pb + t·kc·32; k = kc
  emit(op.get(PA), op.get(S), op.get(KC), op.mul, op.i32(4), op.shl, op.add, op.set(A));
  emit(op.get(PB), op.get(T), op.get(KC), op.mul, op.i32(5), op.shl, op.add, op.set(B));
  emit(op.get(KC), op.set(K));
  emit(op.loop); // over k (kc ≥ 1)
  emit(op.get(B), op.load(0), op.set(VB0), op.get(B), op.load(16), op.set(VB1));
  for (let r = 0; r < 4; r++) {
    emit(op.get(A), op.load32Splat(4 * r), op.set(VA));
    emit(op.get(ACC0 + 2 * r), op.get(VA), op.get(VB0), op.fmul, op.fadd, op.set(ACC0 + 2 * r));
    emit(op.get(ACC0 + 2 * r + 1), op.get(VA), op.get(VB1), op.fmul, op.fadd, op.set(ACC0 + 2 * r + 1));
  }
  emit(op.get(A), op.i32(16), op.add, op.set(A), op.get(B), op.i32(32), op.add, op.set(B));
  emit(op.get(K), op.i32(1), op.sub, op.tee(K), op.brIf(0), op.end);
  // the tile's first row in C: pc + s·4·ldc + t·32
  emit(op.get(PC), op.get(S), op.get(LDC), op.mul, op.i32(2), op.shl, op.add, op.get(T), op.i32(5), op.shl, op.add, op.set(CP));
  emit(op.get(ACC), op.if);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      emit(op.get(CP), op.get(CP), op.load(16 * h), op.get(ACC0 + 2 * r + h), op.fadd, op.store(16 * h));
    }
    emit(op.get(CP), op.get(LDC), op.add, op.set(CP));
  }
  emit(op.else);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) emit(op.get(CP), op.get(ACC0 + 2 * r + h), op.store(16 * h));
    emit(op.get(CP), op.get(LDC), op.add, op.set(CP));
  }
  emit(op.end);
  emit(op.get(S), op.i32(1), op.add, op.set(S), op.br(0), op.end, op.end);
  emit(op.get(T), op.i32(1), op.add, op.set(T), op.br(0), op.end, op.end);
  emit(op.end); // the function

  const locals = [...uleb(2), ...uleb(6), I32, ...uleb(11), V128];
  const body = [...locals, ...code];
  return [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, ...uleb(8), ...new Array<number>(8).fill(I32), 0]), // one type: (i32 × 8) → ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0x00, 1]), // one memory, at least one 64 KiB page, growable
    ...section(7, [2, ...str('tiles'), 0x00, 0, ...str('mem'), 0x02, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
}

/**
 * Rows [g0, g1) of a batched f32 product through the `tiles` kernel above, with the same arguments and loop
 * structure as gemmRows (gemm.ts) plus the module's bytes first: KC × NC panels of op(B) and MC × KC blocks of op(A)
 * are packed (f32, zero-padded to whole strips) into the module's memory, `tiles` computes the block's tiles into a
 * C buffer there (rows of this range × the panel's columns, stored on the first K block, accumulated on the later
 * ones), and after the last K block the valid part is copied out to c, plus bias[j] (a separate rounding, as a matmul
 * then an add).
 *
 * Rounding of each element: its K products are summed in blocks of KC = 256 in f32, lane by lane in k order, each
 * block's sum then added to the running total in f32 — the same order whatever range or thread computes the element.
 *
 * SELF-CONTAINED, like gemmRows: its text is the pool's worker source. Each thread instantiates the module once
 * (cached on the function object) and keeps its own memory.
 */
export function gemmRowsF32x4(
  wasm: Uint8Array,
  a: Float32Array, b: Float32Array, c: Float32Array,
  offA: ArrayLike<number>, offB: ArrayLike<number>,
  M: number, K: number, N: number, transA: boolean, transB: boolean,
  bias: Float32Array | null, g0: number, g1: number,
): void {
  const MR = 4, NR = 8, KC = 256, MC = 96, NC = 512;
  type Exports = { mem: WebAssembly.Memory; tiles: (pa: number, pb: number, pc: number, ms: number, ns: number, kc: number, ldc: number, acc: number) => void };
  const self = gemmRowsF32x4 as unknown as { exports?: Exports; view?: Float32Array };
  if (self.exports === undefined) {
    self.exports = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Exports;
  }
  const { mem, tiles } = self.exports;
  const rsA = transA ? 1 : K, csA = transA ? M : 1;
  const rsB = transB ? 1 : N, csB = transB ? K : 1;
  const kcMax = Math.min(KC, K);
  const ncMax = Math.ceil(Math.min(NC, N) / NR) * NR;
  const rowsMax = Math.ceil(Math.min(g1 - g0, M) / MR) * MR;
  // floats: [A block | B panel | C buffer]
  const bp0 = Math.ceil(Math.min(MC, rowsMax) / MR) * MR * kcMax;
  const cp0 = bp0 + ncMax * kcMax;
  const need = 4 * (cp0 + rowsMax * ncMax);
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let p = self.view;
  if (p === undefined || p.buffer !== mem.buffer) { p = new Float32Array(mem.buffer); self.view = p; }

  for (let t = Math.floor(g0 / M); t * M < g1; t++) {
    const i0 = Math.max(g0 - t * M, 0), i1 = Math.min(g1 - t * M, M);
    const oa = offA[t], ob = offB[t], oc = t * M * N;
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      const ncPad = Math.ceil(nc / NR) * NR;
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        // B panel: strips of NR columns of op(B)[pc : pc + kc, jc : jc + nc], k-major, zero-padded past nc
        for (let js = 0; js < ncPad; js += NR) {
          const base = bp0 + (js / NR) * kc * NR;
          for (let jj = 0; jj < NR; jj++) {
            if (js + jj < nc) {
              const src = ob + pc * rsB + (jc + js + jj) * csB;
              if (rsB === 1) for (let k = 0; k < kc; k++) p[base + k * NR + jj] = b[src + k];
              else for (let k = 0; k < kc; k++) p[base + k * NR + jj] = b[src + k * rsB];
            } else {
              for (let k = 0; k < kc; k++) p[base + k * NR + jj] = 0;
            }
          }
        }
        for (let ic = i0; ic < i1; ic += MC) {
          const mc = Math.min(MC, i1 - ic);
          const mcPad = Math.ceil(mc / MR) * MR;
          // A block: strips of MR rows of op(A)[ic : ic + mc, pc : pc + kc], k-major, zero-padded past mc
          for (let is = 0; is < mcPad; is += MR) {
            const base = (is / MR) * kc * MR;
            if (transA && is + MR <= mc) {
              let src = oa + pc * M + ic + is;
              for (let k = 0; k < kc; k++) {
                const d = base + k * MR;
                p[d] = a[src]; p[d + 1] = a[src + 1]; p[d + 2] = a[src + 2]; p[d + 3] = a[src + 3];
                src += M;
              }
              continue;
            }
            for (let ii = 0; ii < MR; ii++) {
              if (is + ii < mc) {
                const src = oa + (ic + is + ii) * rsA + pc * csA;
                if (csA === 1) for (let k = 0; k < kc; k++) p[base + k * MR + ii] = a[src + k];
                else for (let k = 0; k < kc; k++) p[base + k * MR + ii] = a[src + k * csA];
              } else {
                for (let k = 0; k < kc; k++) p[base + k * MR + ii] = 0;
              }
            }
          }
          tiles(0, 4 * bp0, 4 * (cp0 + (ic - i0) * ncPad), mcPad / MR, ncPad / NR, kc, 4 * ncPad, pc === 0 ? 0 : 1);
        }
      }
      // the finished panel: rows i0 … i1 − 1, columns jc … jc + nc − 1, out to c (+ bias)
      for (let i = i0; i < i1; i++) {
        const src = cp0 + (i - i0) * ncPad, dst = oc + i * N + jc;
        if (bias === null) for (let j = 0; j < nc; j++) c[dst + j] = p[src + j];
        else for (let j = 0; j < nc; j++) c[dst + j] = p[src + j] + bias[jc + j];
      }
    }
  }
}
