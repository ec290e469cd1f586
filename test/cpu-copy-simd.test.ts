/**
 * Strided copies in WebAssembly SIMD (src/kernels/cpu/wasm-copy.ts) — the attention heads' permutes and dense
 * slices — move the same bits as index arithmetic says and as the TypeScript loops do, for f32 (NaN payloads, −0
 * included), f64 and i32, on 1 and 2 threads; copies the module cannot take (writeRegion into a bigger tensor) keep
 * their meaning.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { DType } from '../src/autograd/dtype.js';
import { numel, stridesOf } from '../src/autograd/shape.js';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { coalesce, copiesInWasm } from '../src/kernels/cpu/strided.js';
import { copyWasm } from '../src/kernels/cpu/wasm-copy.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const unravel = (i: number, shape: readonly number[]) => {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { out[d] = i % shape[d]!; i = Math.floor(i / shape[d]!); }
  return out;
};
/** Random bits of every element type: an f32 view of random words holds NaNs with payloads, ±0, subnormals. */
function randomArray(dtype: DType, n: number, seed: number): Float32Array | Float64Array | Int32Array {
  const words = new Int32Array(dtype === 'f64' ? 2 * n : n);
  let s = seed >>> 0;
  for (let i = 0; i < words.length; i++) { s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0; words[i] = s; }
  if (dtype === 'f32') return new Float32Array(words.buffer);
  if (dtype === 'f64') return new Float64Array(words.buffer);
  return words;
}
type Typed = Float32Array | Float64Array | Int32Array;
const bits = (a: Typed) => Array.from(new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4));
/** Values with every NaN alike: a JavaScript loop may canonicalise a NaN's payload as it copies; the module never does. */
const values = (a: Typed) => Array.from(a, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v));
/** want[i] = x[from(i)] moved as words (no number in between, so a NaN keeps its payload). */
function gather(x: Typed, m: number, from: (i: number) => number): Typed {
  const w = x.BYTES_PER_ELEMENT / 4;
  const out = new (x.constructor as Int32ArrayConstructor)(m) as unknown as Typed;
  const src = new Int32Array(x.buffer), dst = new Int32Array(out.buffer);
  for (let i = 0; i < m; i++) for (let k = 0; k < w; k++) dst[i * w + k] = src[from(i) * w + k]!;
  return out;
}
/** The storage's bits from the wasm-simd and the typescript kernels. */
function both<T>(f: () => T): { simd: T; ts: T } {
  setCpuMatmulKernel('wasm-simd');
  const simd = f();
  setCpuMatmulKernel('typescript');
  const ts = f();
  setCpuMatmulKernel(null);
  return { simd, ts };
}

// shapes of ≥ 2048 elements (the module's threshold): a leading dim makes up the size
const bigShape = fc.tuple(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 3 }))
  .map(([mid, last, extra]) => { const rest = numel(mid) * last; return [Math.ceil(2048 / rest) + extra, ...mid, last]; });
const dtypeArb = fc.constantFrom<DType>('f32', 'f64', 'i32');

describe('strided copies in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(copyWasm()).not.toBeNull(); });

  it('permute: index arithmetic (bit for bit where the module runs), and the TypeScript loops, for f32, f64 and i32', () => {
    let wasmCases = 0;
    // mostly permutations that keep the last axis (the heads' permutes, the module's domain), some that move it
    const permArb = (rank: number) => fc.tuple(fc.shuffledSubarray([...Array(rank - 1).keys()], { minLength: rank - 1, maxLength: rank - 1 }), fc.integer({ min: 0, max: 3 }),
      fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }))
      .map(([lead, coin, any]) => (coin > 0 ? [...lead, rank - 1] : any));
    fc.assert(fc.property(bigShape.chain((shape) => fc.tuple(fc.constant(shape), permArb(shape.length))), dtypeArb, fc.integer(),
    ([shape, perm], dtype, seed) => {
      const n = numel(shape);
      const x = randomArray(dtype, n, seed);
      const outShape = perm.map((p) => shape[p]!);
      const st = stridesOf(shape);
      const want = gather(x, n, (i) => unravel(i, outShape).reduce((off, v, k) => off + v * st[perm[k]!]!, 0));
      const r = both(() => cpu.permute(x, shape, perm, dtype) as Typed);
      setCpuMatmulKernel('wasm-simd');
      const inWasm = copiesInWasm(coalesce(outShape, [stridesOf(outShape), perm.map((p) => st[p]!)]), x, want, n);
      setCpuMatmulKernel(null);
      if (inWasm) { wasmCases++; expect(bits(r.simd)).toEqual(bits(want)); } // the module moves bits
      expect(values(r.simd)).toEqual(values(want));
      expect(values(r.ts)).toEqual(values(want));
    }), { numRuns: 120, seed: 23 });
    expect(wasmCases).toBeGreaterThan(30); // the module's path was taken, not only the TypeScript one
  });

  it('the attention heads\' permute (B, T, H, Dh) → (B, H, T, Dh) and back, on 1 and 2 threads, in the workers', () => {
    const shape = [16, 48, 4, 32];
    const x = randomArray('f32', numel(shape), 5) as Float32Array;
    setCpuThreads(1);
    const one = both(() => cpu.permute(x, shape, [0, 2, 1, 3], 'f32') as Float32Array);
    expect(values(one.simd)).toEqual(values(one.ts));
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    setCpuMatmulKernel('wasm-simd');
    const heads = cpu.permute(x, shape, [0, 2, 1, 3], 'f32') as Float32Array;
    const back = cpu.permute(heads, [16, 4, 48, 32], [0, 2, 1, 3], 'f32') as Float32Array;
    setCpuMatmulKernel(null);
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    expect(bits(heads)).toEqual(bits(one.simd));
    expect(bits(back)).toEqual(bits(x));
    setCpuThreads(1);
  });

  it('slice (a dense box out of a bigger tensor) and writeRegion (not dense: TypeScript) keep their meaning', () => {
    let wasmCases = 0;
    // the box first (≥ 2048 elements), then a tensor around it: 0–2 more along each dim, the box at a random place
    fc.assert(fc.property(bigShape, dtypeArb, fc.integer(), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 8, maxLength: 8 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }),
      (size, dtype, seed, extra, u) => {
        const shape = size.map((d, i) => d + extra[i]!);
        const begin = size.map((_, i) => Math.min(extra[i]!, Math.floor(u[i]! * (extra[i]! + 1))));
        const x = randomArray(dtype, numel(shape), seed);
        const st = stridesOf(shape);
        const m = numel(size);
        const want = gather(x, m, (i) => unravel(i, size).reduce((off, v, k) => off + (v + begin[k]!) * st[k]!, 0));
        const r = both(() => cpu.slice(x, shape, begin, size, dtype) as Typed);
        setCpuMatmulKernel('wasm-simd');
        if (copiesInWasm(coalesce(size, [stridesOf(size), st]), x, want, m)) { wasmCases++; expect(bits(r.simd)).toEqual(bits(want)); }
        setCpuMatmulKernel(null);
        expect(values(r.simd)).toEqual(values(want));
        expect(values(r.ts)).toEqual(values(want));
        // and back in place: the box written into a copy of x gives x again
        const y = x.slice();
        setCpuMatmulKernel('wasm-simd');
        cpu.writeRegion(y, shape, want, size, begin, dtype);
        setCpuMatmulKernel(null);
        expect(values(y)).toEqual(values(x));
      }), { numRuns: 120, seed: 29 });
    expect(wasmCases).toBeGreaterThan(10);
  });
});
