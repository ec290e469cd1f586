/**
 * Strided copies with contiguous rows in WebAssembly SIMD — the attention heads' permutes, (B, T, H, Dh) ↔
 * (B, H, T, Dh) — for any element type (the copy moves bytes: the same bits). In V8 a JavaScript loop over short
 * typed-array rows costs 1–4 ns per element here; this module moves 16 bytes per instruction, and the bytes go in
 * and out of its memory with two memcpys (TypedArray.set).
 *
 * Export: rows(src, dst, n0, n1, n2, words, s0, s1, s2): for each (i0, i1, i2) < (n0, n1, n2), in that order, the
 * `words` 4-byte words at src + i0·s0 + i1·s1 + i2·s2 are appended to dst (dense); pointers and strides in bytes into
 * `mem`.
 */
import { type Code, forLoop, I32, op, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const copyWasm = validatedModule(() => wasmModule([rowsFn()]));

function rowsFn(): WasmFn {
  const SRC = 0, DST = 1, N0 = 2, N1 = 3, N2 = 4, WORDS = 5, S0 = 6, S1 = 7, S2 = 8;
  const I0 = 9, I1 = 10, I2 = 11, P = 12, W = 13;
  const bump = (l: number, by: number): Code => [op.get(l), op.i32(by), op.add, op.set(l)];
  const row: Code = [
    op.get(SRC), op.get(I0), op.get(S0), op.mul, op.add, op.get(I1), op.get(S1), op.mul, op.add,
    op.get(I2), op.get(S2), op.mul, op.add, op.set(P),
    op.i32(0), op.set(W),
    // 16 bytes at a time while 4 words remain
    op.block, op.loop, op.get(WORDS), op.get(W), op.i32(4), op.add, op.ltU, op.brIf(1),
    op.get(DST), op.get(P), op.loadU(0), op.storeU(0), ...bump(P, 16), ...bump(DST, 16), ...bump(W, 4), op.br(0), op.end, op.end,
    // the last 0–3 words
    op.block, op.loop, op.get(W), op.get(WORDS), op.geU, op.brIf(1),
    op.get(DST), op.get(P), op.i32load, op.i32store, ...bump(P, 4), ...bump(DST, 4), ...bump(W, 1), op.br(0), op.end, op.end,
  ];
  return {
    name: 'rows', params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32],
    code: forLoop(I0, N0, forLoop(I1, N1, forLoop(I2, N2, row))),
  };
}
