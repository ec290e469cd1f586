/**
 * Column sums of an f32 (rows, len) matrix in WebAssembly SIMD — the bias gradients of every linear layer, and what
 * BitFit trains — accumulated in f64 lanes, each column's terms added in row order: exactly reduce.ts's sumColumns
 * (the same additions in the same order), four columns per step.
 *
 * Exports: colsum(x, rows, width, stride, acc): acc[c] = Σ_r x[r·stride + c] for c < width, acc f64; and
 * lnparams(x, g, mean, rstd, rows, width, accG, accB, wantG, wantB): LayerNorm's dgamma and dbeta sums over rows (below).
 * Pointers in bytes into `mem`; rows are read 4 columns at a time, so up to 3 floats past each row's width (garbage
 * lanes, never copied out), and every accumulator has room for 4 more.
 */
import { type Code, forLoop, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const sumsWasm = validatedModule(() => wasmModule([colsumFn(), lnparamsFn()]));

function colsumFn(): WasmFn {
  const X = 0, ROWS = 1, WIDTH = 2, STRIDE = 3, ACC = 4, R = 5, C = 6, ROW = 7, P = 8, V = 9;
  const accAt: Code = [op.get(ACC), op.get(C), op.i32(3), op.shl, op.add, op.set(P)];
  const step: Code = [
    op.get(ROW), op.get(C), op.i32(2), op.shl, op.add, op.loadU(0), op.set(V), ...accAt,
    op.get(P), op.get(P), op.loadU(0), op.get(V), op.promoteLow, op.dadd, op.storeU(0),
    op.get(P), op.get(P), op.loadU(16), op.get(V), op.get(V), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]),
    op.promoteLow, op.dadd, op.storeU(16),
  ];
  return {
    name: 'colsum', params: [I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, V128],
    code: [
      ...forStep(C, WIDTH, 4, [...accAt, op.get(P), op.zero, op.storeU(0), op.get(P), op.zero, op.storeU(16)]),
      ...forLoop(R, ROWS, [op.get(X), op.get(R), op.get(STRIDE), op.mul, op.i32(2), op.shl, op.add, op.set(ROW), ...forStep(C, WIDTH, 4, step)]),
    ],
  };
}

function lnparamsFn(): WasmFn {
  const X = 0, G = 1, MEAN = 2, RSTD = 3, ROWS = 4, WIDTH = 5, AG = 6, AB = 7, WG = 8, WB = 9;
  const R = 10, C = 11, XR = 12, GR = 13, P = 14, XV = 15, GV = 16, MU = 17, RS = 18, GH = 19;
  const hi = op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]);
  const halfOf = (v: number, h: number): Code => (h === 0 ? [op.get(v), op.promoteLow] : [op.get(v), op.get(v), hi, op.promoteLow]);
  const acc = (base: number): Code => [op.get(base), op.get(C), op.i32(3), op.shl, op.add, op.set(P)];
  // acc[c..c+3] += f(h) for the two f64x2 halves
  const add = (base: number, f: (h: number) => Code): Code => [...acc(base),
    op.get(P), op.get(P), op.loadU(0), ...f(0), op.dadd, op.storeU(0),
    op.get(P), op.get(P), op.loadU(16), ...f(1), op.dadd, op.storeU(16)];
  const scalar = (base: number): Code => [op.get(base), op.get(R), op.i32(2), op.shl, op.add, op.f32load, [0xbb], op.f64x2splat]; // f64.promote_f32
  const step: Code = [
    op.get(XR), op.get(C), op.i32(2), op.shl, op.add, op.loadU(0), op.set(XV),
    op.get(GR), op.get(C), op.i32(2), op.shl, op.add, op.loadU(0), op.set(GV),
    op.get(WG), op.if, ...add(AG, (h) => [...halfOf(GV, h), op.set(GH), op.get(GH), ...halfOf(XV, h), op.get(MU), op.dsub, op.dmul, op.get(RS), op.dmul]), op.end,
    op.get(WB), op.if, ...add(AB, (h) => halfOf(GV, h)), op.end,
  ];
  const zero = (base: number): Code => [...acc(base), op.get(P), op.zero, op.storeU(0), op.get(P), op.zero, op.storeU(16)];
  return {
    name: 'lnparams', params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, V128, V128, V128, V128, V128],
    code: [
      ...forStep(C, WIDTH, 4, [...zero(AG), ...zero(AB)]),
      ...forLoop(R, ROWS, [
        op.get(X), op.get(R), op.get(WIDTH), op.mul, op.i32(2), op.shl, op.add, op.set(XR),
        op.get(G), op.get(R), op.get(WIDTH), op.mul, op.i32(2), op.shl, op.add, op.set(GR),
        ...scalar(MEAN), op.set(MU), ...scalar(RSTD), op.set(RS),
        ...forStep(C, WIDTH, 4, step),
      ]),
    ],
  };
}

/**
 * Columns [c0, c1) of sums[c] += Σ_r x[r·len + c] (f64 sums, x f32 (rows, len)) through `colsum`, the module's bytes
 * first: the same bits as sumColumns. SELF-CONTAINED: its text is the pool's worker source.
 */
export function sumColumnsF32x4(wasm: Uint8Array, x: Float32Array, sums: Float64Array, rows: number, len: number, c0: number, c1: number): void {
  type Kernels = { mem: WebAssembly.Memory; colsum(x: number, rows: number, width: number, stride: number, acc: number): void };
  const self = sumColumnsF32x4 as unknown as { kernels?: Kernels; view?: Float32Array };
  if (self.kernels === undefined) self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Kernels;
  const { mem, colsum } = self.kernels;
  const width = c1 - c0, whole = c0 === 0 && c1 === len;
  const n = rows * width, acc = 2 * (((n + 4) >> 1) + 2); // acc: f64-aligned, after the block and its room
  const need = 4 * acc + 8 * (width + 4);
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let v = self.view;
  if (v === undefined || v.buffer !== mem.buffer) { v = new Float32Array(mem.buffer); self.view = v; }
  if (whole) v.set(x.subarray(0, rows * len), 0);
  else for (let r = 0; r < rows; r++) v.set(x.subarray(r * len + c0, r * len + c1), r * width);
  colsum(0, rows, width, width, 4 * acc);
  const out = new Float64Array(mem.buffer, 4 * acc, width);
  for (let c = 0; c < width; c++) sums[c0 + c] += out[c]!;
}

/**
 * LayerNorm's parameter gradients over columns [c0, c1), f32 storages, through `lnparams`: dgamma[c] += Σ_r
 * (g·(x − mean_r))·rstd_r and dbeta[c] += Σ_r g, in f64 lanes and row order — layernormParamGradColumns' operations,
 * the same bits (layernorm.ts). Either output may be null. SELF-CONTAINED: its text is the pool's worker source.
 */
export function layernormParamGradColumnsF32x4(wasm: Uint8Array, x: Float32Array, g: Float32Array, mean: Float32Array,
  rstd: Float32Array, dgamma: Float64Array | null, dbeta: Float64Array | null, rows: number, cols: number, c0: number, c1: number): void {
  type Kernels = { mem: WebAssembly.Memory; lnparams(x: number, g: number, mean: number, rstd: number, rows: number, width: number,
    accG: number, accB: number, wantG: number, wantB: number): void };
  const self = layernormParamGradColumnsF32x4 as unknown as { kernels?: Kernels; view?: Float32Array };
  if (self.kernels === undefined) self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Kernels;
  const { mem, lnparams } = self.kernels;
  const width = c1 - c0, n = rows * width;
  // floats: [x block | g block | mean | rstd | accG (f64) | accB (f64)], each with room after it
  const px = 0, pg = n + 4, pm = 2 * n + 8, pr = pm + rows, ag = 2 * ((pr + rows + 4) >> 1) + 2, ab = ag + 2 * (width + 4);
  const need = 4 * (ab + 2 * (width + 4));
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let v = self.view;
  if (v === undefined || v.buffer !== mem.buffer) { v = new Float32Array(mem.buffer); self.view = v; }
  if (c0 === 0 && c1 === cols) { v.set(x.subarray(0, n), px); v.set(g.subarray(0, n), pg); } else {
    for (let r = 0; r < rows; r++) {
      v.set(x.subarray(r * cols + c0, r * cols + c1), px + r * width);
      v.set(g.subarray(r * cols + c0, r * cols + c1), pg + r * width);
    }
  }
  v.set(mean.subarray(0, rows), pm);
  v.set(rstd.subarray(0, rows), pr);
  lnparams(4 * px, 4 * pg, 4 * pm, 4 * pr, rows, width, 4 * ag, 4 * ab, dgamma === null ? 0 : 1, dbeta === null ? 0 : 1);
  const accG = new Float64Array(mem.buffer, 4 * ag, width), accB = new Float64Array(mem.buffer, 4 * ab, width);
  if (dgamma !== null) for (let c = 0; c < width; c++) dgamma[c0 + c] += accG[c]!;
  if (dbeta !== null) for (let c = 0; c < width; c++) dbeta[c0 + c] += accB[c]!;
}
