/**
 * Column sums of an f32 (rows, len) matrix in WebAssembly SIMD — the bias gradients of every linear layer, and what
 * BitFit trains — accumulated in f64 lanes, each column's terms added in row order: exactly reduce.ts's sumColumns
 * (the same additions in the same order), four columns per step.
 *
 * Export: colsum(x, rows, width, stride, acc): acc[c] = Σ_r x[r·stride + c] for c < width, acc f64; pointers in bytes
 * into `mem`; rows are read 4 columns at a time, so up to 3 floats past each row's width (garbage lanes, never copied
 * out), and acc has room for 4 more.
 */
import { type Code, forLoop, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const sumsWasm = validatedModule(() => wasmModule([colsumFn()]));

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
