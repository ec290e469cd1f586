/**
 * f32 layer normalization in WebAssembly SIMD (src/kernels/cpu/wasm-layernorm.ts) computes the same bits as the
 * TypeScript kernels (layernorm.ts) — forward y, mean, rstd; dx; dgamma, dbeta — for every shape, scale and set of
 * requested gradients, on 1 and 2 threads; and both stay within f32 rounding of a float64 layer norm.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { Rng } from '../src/kernels/rng.js';
import { layernormWasm } from '../src/kernels/cpu/wasm-layernorm.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

type Out = Record<string, number[]>;
const vals = (a: ArrayLike<number> | undefined) => Array.from(a ?? [], (v) => (Number.isNaN(v) ? NaN : v));
/** y, mean, rstd and the requested gradients, with the kernel `k`. */
function run(k: 'wasm-simd' | 'typescript', x: Float32Array, g: Float32Array, gamma: Float32Array, beta: Float32Array,
  rows: number, cols: number, eps: number, need: { dx: boolean; dgamma: boolean; dbeta: boolean }): Out {
  setCpuMatmulKernel(k);
  try {
    const f = cpu.layernorm(x, gamma, beta, rows, cols, eps, 'f32');
    const b = cpu.layernormBackward(x, g, gamma, f.mean, f.rstd, rows, cols, 'f32', need);
    const arr = (a: unknown) => vals(a as ArrayLike<number> | undefined);
    return { y: arr(f.y), mean: arr(f.mean), rstd: arr(f.rstd), dx: arr(b.dx), dgamma: arr(b.dgamma), dbeta: arr(b.dbeta) };
  } finally { setCpuMatmulKernel(null); }
}
/** Random rows (in shared memory, which the pool's workers can read), x at `scale` around `shift`. */
function data(rows: number, cols: number, seed: number, scale: number, shift: number) {
  const rng = new Rng(seed);
  const f = (n: number, s: number, o: number) => {
    const a = new Float32Array(new SharedArrayBuffer(4 * n));
    for (let i = 0; i < n; i++) a[i] = o + s * rng.uniform(-1, 1);
    return a;
  };
  return { x: f(rows * cols, scale, shift), g: f(rows * cols, 1, 0), gamma: f(cols, 1, 1), beta: f(cols, 0.5, 0) };
}

describe('layernorm in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(layernormWasm()).not.toBeNull(); });

  it('forward and backward: the same values as the TypeScript kernels, and f32 rounding of float64', () => {
    let simdRows = 0;
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 33 }), fc.oneof(fc.integer({ min: 1, max: 40 }).map((k) => 4 * k), fc.integer({ min: 1, max: 70 })),
      fc.integer(), fc.integer({ min: -6, max: 6 }), fc.double({ min: -100, max: 100, noNaN: true }), fc.constantFrom(1e-12, 1e-5, 0.5),
      fc.boolean(), fc.boolean(), fc.boolean(),
      (rows, cols, seed, e, shift, eps, dx, dgamma, dbeta) => {
        const { x, g, gamma, beta } = data(rows, cols, seed, 2 ** e, shift);
        const need = { dx, dgamma, dbeta };
        const simd = run('wasm-simd', x, g, gamma, beta, rows, cols, eps, need);
        const ts = run('typescript', x, g, gamma, beta, rows, cols, eps, need);
        expect(simd).toEqual(ts);
        if (cols % 4 === 0) simdRows++;
        // and against float64 (the row in doubles): y within f32 rounding of its terms
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
          const mu = row.reduce((s, v) => s + v, 0) / cols;
          const rs = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / cols + eps);
          for (let j = 0; j < cols; j++) {
            const t = (row[j]! - mu) * rs * gamma[j]!;
            expect(Math.abs(simd.y[r * cols + j]! - (t + beta[j]!))).toBeLessThanOrEqual(2 ** -23 * (Math.abs(t) + Math.abs(beta[j]!)) + 1e-30);
          }
        }
      }), { numRuns: 200, seed: 31 });
    expect(simdRows).toBeGreaterThan(60); // the module's path was taken, not only the TypeScript one
  });

  it('rows of specials (NaN, ±∞, a constant row) as the TypeScript kernels', () => {
    const cols = 8, rows = 4;
    const x = new Float32Array([1, 2, NaN, 4, 5, 6, 7, 8, 3, 3, 3, 3, 3, 3, 3, 3, Infinity, 0, 0, 0, 0, 0, 0, 0, 1e30, -1e30, 1, 2, 3, 4, 5, 6]);
    const { g, gamma, beta } = data(rows, cols, 3, 1, 0);
    const all = { dx: true, dgamma: true, dbeta: true };
    expect(run('wasm-simd', x, g, gamma, beta, rows, cols, 1e-12, all)).toEqual(run('typescript', x, g, gamma, beta, rows, cols, 1e-12, all));
  });

  it('BERT-tiny-sized rows on 2 threads, in the workers: the bits of 1 thread', () => {
    const rows = 768, cols = 64;
    const { x, g, gamma, beta } = data(rows, cols, 7, 3, 0.5);
    const all = { dx: true, dgamma: true, dbeta: true };
    setCpuThreads(1);
    const one = run('wasm-simd', x, g, gamma, beta, rows, cols, 1e-12, all);
    expect(one).toEqual(run('typescript', x, g, gamma, beta, rows, cols, 1e-12, all));
    setCpuThreads(2, { minWork: 1 }); // split even this: every kernel on both threads
    const before = cpuPoolInfo().workerJobs;
    const two = run('wasm-simd', x, g, gamma, beta, rows, cols, 1e-12, all);
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    expect(two).toEqual(one);
    setCpuThreads(1);
  });
});
