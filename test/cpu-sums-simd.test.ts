/**
 * f32 column sums in WebAssembly SIMD (src/kernels/cpu/wasm-sums.ts) — bias gradients — give the TypeScript sums' bits
 * (f64 lanes, each column's terms in row order), on shapes that coalesce to (rows, len), with NaN, ±∞ and ±0, on 1
 * and 2 threads (where the pool splits the columns into chunks).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { sumsWasm } from '../src/kernels/cpu/wasm-sums.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const key = (v: number) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v);
function both(x: Float32Array, shape: number[], axes: number[]) {
  setCpuMatmulKernel('wasm-simd');
  const simd = Array.from(cpu.reduce('sum', x, shape, axes, 'f32') as Float32Array).map(key);
  setCpuMatmulKernel('typescript');
  const ts = Array.from(cpu.reduce('sum', x, shape, axes, 'f32') as Float32Array).map(key);
  setCpuMatmulKernel(null);
  return { simd, ts };
}

describe('f32 column sums in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(sumsWasm()).not.toBeNull(); });

  it('the TypeScript sums bit for bit: (rows, len) over rows and (B, T, D) over (B, T)', () => {
    const value = fc.oneof({ weight: 20, arbitrary: fc.float({ min: -1e4, max: 1e4 }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 3.4e38) });
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 37 }),
      fc.array(value, { minLength: 300, maxLength: 300 }), (B, T, D, vals) => {
        const x = Float32Array.from({ length: B * T * D }, (_, i) => vals[i % 300]! * (1 + i / 7));
        const r2 = both(x, [B * T, D], [0]);
        expect(r2.simd).toEqual(r2.ts);
        const r3 = both(x, [B, T, D], [0, 1]);
        expect(r3.simd).toEqual(r3.ts);
      }), { numRuns: 200, seed: 8 });
  });

  it('1 and 2 threads (column chunks) give the same bits, and the workers ran the SIMD sums', () => {
    const rows = 2048, len = 301;
    const x = Float32Array.from({ length: rows * len }, (_, i) => Math.sin(i) * 100);
    setCpuThreads(1);
    const one = both(x, [rows, len], [0]);
    expect(one.simd).toEqual(one.ts);
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    setCpuMatmulKernel('wasm-simd');
    const two = Array.from(cpu.reduce('sum', x, [rows, len], [0], 'f32') as Float32Array).map(key);
    setCpuMatmulKernel(null);
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(two).toEqual(one.simd);
  });
});
