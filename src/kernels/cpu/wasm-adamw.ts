/**
 * AdamW on f32 storages in WebAssembly SIMD: optim.ts's adamwRange, operation for operation, in f64x2 lanes — the
 * moments and the decayed parameter rounded to f32 where that kernel stores them and read back rounded, as PyTorch's
 * in-place ops do — so the same bits (f64 +, −, ×, ÷ and √ are IEEE on every engine), four elements per step.
 *
 * Export: adamw(p, g, m, v, n, decay, stepSize, sqrtBias2, b1, b2, c1, c2, eps) with c1 = 1 − b1, c2 = 1 − b2;
 * pointers in bytes into `mem`, each buffer with room for 4 floats past its end.
 */
import { type Code, F64, forStep, I32, op, V128, validatedModule, wasmModule, type WasmFn } from './wasm-asm.js';

/** The module, built once per process, or null where this engine cannot run it. */
export const adamwWasm = validatedModule(() => wasmModule([adamwFn()]));

function adamwFn(): WasmFn {
  const P = 0, G = 1, M = 2, V = 3, N = 4, DECAY = 5, STEP = 6, SB2 = 7, B1 = 8, B2 = 9, C1 = 10, C2 = 11, EPS = 12;
  const J = 13, PV = 14, GV = 15, MV = 16, VV = 17, LO = 18, HI = 19, GH = 20;
  const at = (base: number): Code => [op.get(base), op.get(J), op.i32(2), op.shl, op.add];
  const joinLow = op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
  // f64x2 of lanes 0–1 (h = 0) or 2–3 (h = 1) of the f32x4 local x
  const half = (x: number, h: number): Code => (h === 0 ? [op.get(x), op.promoteLow]
    : [op.get(x), op.get(x), op.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]), op.promoteLow]);
  const splat = (l: number): Code => [op.get(l), op.f64x2splat];
  // an f32x4 from two f64x2 expressions, each rounded to f32
  const both = (f: (h: number) => Code): Code => [...f(0), op.demote, ...f(1), op.demote, joinLow];
  const step: Code = [
    ...at(P), op.loadU(0), op.set(PV), ...at(G), op.loadU(0), op.set(GV), ...at(M), op.loadU(0), op.set(MV), ...at(V), op.loadU(0), op.set(VV),
    // m ← f32(b1·m + (1 − b1)·g); v ← f32(b2·v + ((1 − b2)·g)·g)
    ...both((h) => [...splat(B1), ...half(MV, h), op.dmul, ...splat(C1), ...half(GV, h), op.dmul, op.dadd]), op.set(LO),
    ...both((h) => [...half(GV, h), op.set(GH), ...splat(B2), ...half(VV, h), op.dmul, ...splat(C2), op.get(GH), op.dmul, op.get(GH), op.dmul, op.dadd]), op.set(HI),
    ...at(M), op.get(LO), op.storeU(0), ...at(V), op.get(HI), op.storeU(0),
    // param ← f32(param·decay); param ← f32(param − (stepSize·m)/(√v/√bias2 + eps)), m and v as stored
    ...both((h) => [...half(PV, h), ...splat(DECAY), op.dmul]), op.set(PV),
    ...at(P),
    ...both((h) => [...half(PV, h), ...splat(STEP), ...half(LO, h), op.dmul, ...half(HI, h), op.dsqrt, ...splat(SB2), op.ddiv, ...splat(EPS), op.dadd, op.ddiv, op.dsub]),
    op.storeU(0),
  ];
  return {
    name: 'adamw', params: [I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, F64, F64],
    locals: [I32, V128, V128, V128, V128, V128, V128, V128], code: forStep(J, N, 4, step),
  };
}
