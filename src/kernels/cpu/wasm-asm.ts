/**
 * A very small WebAssembly assembler, in TypeScript: just the instructions the CPU backend's SIMD kernels use
 * (wasm-gemm.ts, wasm-probs.ts), so those modules are built here as bytes — no toolchain, no binary in the
 * repository, nothing fetched. Opcodes are those of the WebAssembly 2.0 binary format (SIMD: prefix 0xfd, then the
 * opcode as unsigned LEB128); a module that gets one wrong fails WebAssembly.validate, and every kernel is tested
 * against a scalar model of what it computes.
 */

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
export const sleb = (n: number): number[] => {
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

/** Value types. */
export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

const simd = (code: number, ...imm: number[]): number[] => [0xfd, ...uleb(code), ...imm];
const f32Bytes = (x: number): number[] => Array.from(new Uint8Array(new Float32Array([x]).buffer));
const f64Bytes = (x: number): number[] => Array.from(new Uint8Array(new Float64Array([x]).buffer));

export const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)], brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (l: number) => [0x20, ...uleb(l)], set: (l: number) => [0x21, ...uleb(l)], tee: (l: number) => [0x22, ...uleb(l)],
  i32: (n: number) => [0x41, ...sleb(n | 0)],
  f32load: [0x2a, 2, 0], i32load: [0x28, 2, 0], i32store: [0x36, 2, 0], f32store: [0x38, 2, 0],
  eqz: [0x45], or: [0x72], ltU: [0x49], geU: [0x4f], ltS: [0x48], add: [0x6a], sub: [0x6b], mul: [0x6c], and: [0x71], shl: [0x74], shrU: [0x76],
  f32add: [0x92], f32max: [0x97],
  f64add: [0xa0], f64div: [0xa3], f64sqrt: [0x9f], f64const: (x: number) => [0x44, ...f64Bytes(x)],
  promoteF32: [0xbb], demoteF64: [0xb6],
  // SIMD; memarg = log2 alignment, offset
  load: (offset: number) => simd(0x00, 4, ...uleb(offset)),
  load32Splat: (offset: number) => simd(0x09, 2, ...uleb(offset)),
  load64Splat: (offset: number) => simd(0x0a, 2, ...uleb(offset)),
  store: (offset: number) => simd(0x0b, 4, ...uleb(offset)),
  /** Unaligned-tolerant load and store (alignment hint 4 bytes): rows that start anywhere. */
  loadU: (offset: number) => simd(0x00, 2, ...uleb(offset)),
  storeU: (offset: number) => simd(0x0b, 2, ...uleb(offset)),
  zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  i32x4const: (a: number, b: number, c: number, d: number) => simd(0x0c, ...Array.from(new Uint8Array(new Int32Array([a, b, c, d]).buffer))),
  f32x4const: (x: number) => simd(0x0c, ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x), ...f32Bytes(x)),
  f64x2const: (x: number) => simd(0x0c, ...f64Bytes(x), ...f64Bytes(x)),
  /** i8x16.shuffle: byte i of the result is byte lanes[i] of a‖b (0–15 a, 16–31 b). */
  shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  i32x4splat: simd(0x11), f32x4splat: simd(0x13), f64x2splat: simd(0x14),
  f32x4lane: (l: number) => simd(0x1f, l), f64x2lane: (l: number) => simd(0x21, l),
  i32x4ltS: simd(0x39), i32x4geS: simd(0x3f), f32x4eq: simd(0x41),
  vand: simd(0x4e), vandnot: simd(0x4f), vor: simd(0x50), vxor: simd(0x51), bitselect: simd(0x52),
  demote: simd(0x5e), promoteLow: simd(0x5f), fnearest: simd(0x6a),
  i32x4shl: simd(0xab), i32x4shrS: simd(0xac), i32x4shrU: simd(0xad), i32x4add: simd(0xae), i32x4sub: simd(0xb1), i32x4mul: simd(0xb5),
  i64x2extendLowS: simd(0xc7), i64x2extendHighS: simd(0xc8),
  fadd: simd(0xe4), fsub: simd(0xe5), fmul: simd(0xe6), fdiv: simd(0xe7), fmin: simd(0xe8), fmax: simd(0xe9),
  // f32x4.pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a: one minps/maxps on x64, where fmin/fmax's NaN and
  // ±0 rules cost V8 a sequence; the same result whenever b is a constant other than NaN and ±0 (a NaN a stays a)
  fpmin: simd(0xea), fpmax: simd(0xeb),
  dadd: simd(0xf0), dsub: simd(0xf1), dmul: simd(0xf2), ddiv: simd(0xf3), dsqrt: simd(0xef), dmax: simd(0xf5), dabs: simd(0xec), dneg: simd(0xed),
  dlt: simd(0x49), dgt: simd(0x4a), dle: simd(0x4b), dnearest: simd(0x94), anyTrue: simd(0x53), i64x2allTrue: simd(0xc3),
  truncSatS: simd(0xf8), truncSatF64S: simd(0xfc), i64x2shl: simd(0xcb), i64x2shrS: simd(0xcc), i64x2add: simd(0xce), i64x2sub: simd(0xd1),
  i64x2const: (a: number) => simd(0x0c, ...Array.from(new Uint8Array(new BigInt64Array([BigInt(a), BigInt(a)]).buffer))),
};

export type Code = (number | number[])[];
export const flat = (parts: Code): number[] => parts.flatMap((p) => (typeof p === 'number' ? [p] : p));
/** `for (v = 0; v < limit; v++) body` with the bound a local. */
export const forLoop = (v: number, limit: number, body: Code): Code => [
  op.i32(0), op.set(v), op.block, op.loop, op.get(v), op.get(limit), op.geU, op.brIf(1),
  ...body, op.get(v), op.i32(1), op.add, op.set(v), op.br(0), op.end, op.end,
];
/** `for (v = 0; v < limit; v += step) body` with the bound a local. */
export const forStep = (v: number, limit: number, step: number, body: Code): Code => [
  op.i32(0), op.set(v), op.block, op.loop, op.get(v), op.get(limit), op.geU, op.brIf(1),
  ...body, op.get(v), op.i32(step), op.add, op.set(v), op.br(0), op.end, op.end,
];
/** `do { body } while (--v)` (v ≥ 1 on entry). */
export const countDown = (v: number, body: Code): Code => [op.loop, ...body, op.get(v), op.i32(1), op.sub, op.tee(v), op.brIf(0), op.end];

/** A function: its parameter types, its further locals' types (numbered after the parameters), no results. */
export interface WasmFn { name: string; params: number[]; locals: number[]; code: Code }

/** The bytes of a module with these functions and one growable memory, all exported (the memory as `mem`). */
export function wasmModule(fns: WasmFn[]): number[] {
  const types = fns.flatMap((f) => [0x60, ...uleb(f.params.length), ...f.params, 0]);
  const bodies = fns.flatMap((f) => {
    const runs: [number, number][] = []; // (count, type) for each run of equal types
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const locals = [...uleb(runs.length), ...runs.flatMap(([n, t]) => [...uleb(n), t])];
    const body = [...locals, ...flat(f.code), ...op.end];
    return [...uleb(body.length), ...body];
  });
  const exports = [...uleb(fns.length + 1), ...fns.flatMap((f, i) => [...str(f.name), 0x00, i]), ...str('mem'), 0x02, 0];
  return [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(fns.length), ...types]), // one type per function
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(5, [1, 0x00, 1]), // one memory, at least one 64 KiB page, growable
    ...section(7, exports),
    ...section(10, [...uleb(fns.length), ...bodies]),
  ];
}

/** Validated module bytes, built once per process by `build`, or null where this engine cannot run them. */
export function validatedModule(build: () => number[]): () => Uint8Array | null {
  let cached: Uint8Array | null = null;
  let valid: boolean | null = null;
  return () => {
    if (valid === null) {
      cached = new Uint8Array(build());
      const W = (globalThis as { WebAssembly?: { validate(b: Uint8Array): boolean } }).WebAssembly;
      try { valid = W !== undefined && W.validate(cached); } catch { valid = false; }
    }
    return valid ? cached : null;
  };
}
