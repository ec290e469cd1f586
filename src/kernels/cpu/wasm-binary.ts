/**
 * f32 add, sub, mul and div in WebAssembly SIMD, four elements per instruction: IEEE single arithmetic, which gives
 * exactly what the TypeScript kernels store (an f64 operation on two f32 values, rounded to f32, is the correctly
 * rounded f32 result for these four: f64 carries more than 2·24 + 2 bits), so the bits are the same — only a NaN's
 * payload may differ. Used for the layouts the models produce most: equal shapes, a scalar operand, and
 * (rows, len) with a row broadcast to every row (a bias). Other ops and layouts, and f64, stay in pointwise.ts.
 *
 * Export: bin(op, a, sa, b, sb, out, n) — out_i = a_(i·sa) op b_(i·sb), op 0 add, 1 sub, 2 mul, 3 div, sa and sb
 * 0 (a scalar) or 1; pointers in bytes into `mem`, each buffer with room for 4 floats past its end.
 */
import { type Code, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const binaryWasm = validatedModule(() => wasmModule([binFn()]));

/** The ops the module computes, by name → its op code. */
export const SIMD_BINARY: Readonly<Record<string, number>> = { add: 0, sub: 1, mul: 2, div: 3 };

function binFn(): WasmFn {
  const OP = 0, A = 1, SA = 2, B = 3, SB = 4, OUT = 5, N = 6, J = 7, VA = 8, VB = 9;
  const at = (base: number): Code => [op.get(base), op.get(J), op.i32(2), op.shl, op.add];
  // a scalar operand: splat it once, outside the loop
  const operand = (p: number, s: number, v: number): Code => [op.get(s), op.eqz, op.if, op.get(p), op.load32Splat(0), op.set(v), op.end];
  const loop = (instr: number[]): Code => {
    const load = (p: number, s: number, v: number): Code => [op.get(s), op.if, ...at(p), op.loadU(0), op.set(v), op.end];
    return forStep(J, N, 4, [...load(A, SA, VA), ...load(B, SB, VB), ...at(OUT), op.get(VA), op.get(VB), instr, op.storeU(0)]);
  };
  const code: Code = [...operand(A, SA, VA), ...operand(B, SB, VB)];
  [op.fadd, op.fsub, op.fmul, op.fdiv].forEach((instr, k) => code.push(op.get(OP), op.i32(k), [0x46], op.if, ...loop(instr), op.end));
  return { name: 'bin', params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, V128, V128], code };
}

/**
 * Elements [g0, g1) of out = a op b (sa, sb ∈ {0, 1}: a scalar operand has stride 0), f32, through `bin`, with the
 * module's bytes first: the ranges copied in, the result out. SELF-CONTAINED: its text is the pool's worker source.
 */
export function binaryFlatF32x4(wasm: Uint8Array, code: number, out: Float32Array, a: Float32Array, sa: number,
  b: Float32Array, sb: number, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; bin(op: number, a: number, sa: number, b: number, sb: number, out: number, n: number): void };
  const self = binaryFlatF32x4 as unknown as { kernels?: Kernels; view?: Float32Array };
  if (self.kernels === undefined) self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Kernels;
  const { mem, bin } = self.kernels;
  const n = g1 - g0, pa = 0, pb = n + 4, po = 2 * n + 8;
  const need = 4 * (po + n + 4);
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let v = self.view;
  if (v === undefined || v.buffer !== mem.buffer) { v = new Float32Array(mem.buffer); self.view = v; }
  if (sa === 1) v.set(a.subarray(g0, g1), pa); else v[pa] = a[0]!;
  if (sb === 1) v.set(b.subarray(g0, g1), pb); else v[pb] = b[0]!;
  bin(code, 4 * pa, sa, 4 * pb, sb, 4 * po, n);
  out.set(v.subarray(po, po + n), g0);
}

/**
 * Rows [g0, g1) of out (rows, len) = a op b where one operand is packed (rows, len) and the other one row (len)
 * broadcast to every row (`rowA`: a is the row), f32, through `bin`. SELF-CONTAINED, as above.
 */
export function binaryRowBroadcastF32x4(wasm: Uint8Array, code: number, out: Float32Array, a: Float32Array, b: Float32Array,
  rowA: boolean, len: number, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; bin(op: number, a: number, sa: number, b: number, sb: number, out: number, n: number): void };
  const self = binaryRowBroadcastF32x4 as unknown as { kernels?: Kernels; view?: Float32Array };
  if (self.kernels === undefined) self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as Kernels;
  const { mem, bin } = self.kernels;
  const n = (g1 - g0) * len, pm = 0, pr = n + 4, po = pr + len + 4;
  const need = 4 * (po + n + 4);
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  let v = self.view;
  if (v === undefined || v.buffer !== mem.buffer) { v = new Float32Array(mem.buffer); self.view = v; }
  v.set((rowA ? b : a).subarray(g0 * len, g1 * len), pm);
  v.set((rowA ? a : b).subarray(0, len), pr);
  for (let r = 0; r < g1 - g0; r++) {
    const m = 4 * (pm + r * len), row = 4 * pr;
    if (rowA) bin(code, row, 1, m, 1, 4 * (po + r * len), len);
    else bin(code, m, 1, row, 1, 4 * (po + r * len), len);
  }
  out.set(v.subarray(po, po + n), g0 * len);
}
