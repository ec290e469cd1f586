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
