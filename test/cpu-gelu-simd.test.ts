/**
 * f32 gelu_erf in WebAssembly SIMD (src/kernels/cpu/wasm-gelu.ts): the TypeScript f32 forms' operations in f64 lanes,
 * with its own exp — so the same f32 values except, at most, a 1-ulp step where the exact value sits on an f32
 * rounding boundary to within the two exponentials' difference. Checked on 2·10⁶ values (whole line, the branch
 * edges, ±0, ±∞, NaN), through the backend as the models call it, on 1 and 2 threads.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { geluWasm } from '../src/kernels/cpu/wasm-gelu.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const bits = (v: number): number => new Int32Array(new Float32Array([v]).buffer)[0]!;
const ulps = (a: number, b: number): number => (Number.isNaN(a) && Number.isNaN(b) ? 0 : Math.abs(bits(a) - bits(b)));

function both(x: Float32Array, kernel: 'wasm-simd' | 'typescript') {
  setCpuMatmulKernel(kernel);
  const r = cpu.geluWithGrad('gelu_erf', x, x.length, 'f32');
  const u = cpu.unary('gelu_erf', x, x.length, 'f32');
  setCpuMatmulKernel(null);
  return { y: r.y as Float32Array, d: r.dydx as Float32Array, u: u as Float32Array };
}

describe('f32 gelu_erf in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(geluWasm()).not.toBeNull(); });

  it('equals the TypeScript f32 forms (y, dy/dx, unary) on 2·10⁶ values but for ≤ 1e-6 of them, each within 1 ulp', () => {
    const edges = [0, -0, 1e-30, -1e-30, 0.6629126, -0.6629126, 0.66291261, 5.656854, -5.656854, 5.6568546, -5.6568546, 13, -13,
      -14, -20, -37.5, -38.5, 40, -1e30, 1e30, Infinity, -Infinity, NaN, 1, -1, 3, -3, 0.1, -0.1, 100, -100];
    let s = 7;
    const rand = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
    const x = Float32Array.from({ length: 2_000_000 }, (_, i) => (i < edges.length ? edges[i]! : (rand() * 2 - 1) * [1, 3, 8, 40][i % 4]!));
    const simd = both(x, 'wasm-simd');
    const ts = both(x, 'typescript');
    let differ = 0, worst = 0;
    for (const k of ['y', 'd', 'u'] as const) {
      const a = new Int32Array(simd[k].buffer, simd[k].byteOffset, x.length), b = new Int32Array(ts[k].buffer, ts[k].byteOffset, x.length);
      for (let i = 0; i < x.length; i++) {
        if (a[i] === b[i]) continue;
        if (Number.isNaN(simd[k][i]!) && Number.isNaN(ts[k][i]!)) continue;
        differ++;
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!)); // same sign: ulps apart; a sign flip counts as far apart
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(differ).toBeLessThanOrEqual(6);
    expect(Array.from(simd.u.subarray(0, 4096))).toEqual(Array.from(simd.y.subarray(0, 4096))); // unary = geluWithGrad's y
  });

  it('fast-check: any f32 values, any length, 1 and 2 threads give the TypeScript forms\' bits', () => {
    fc.assert(fc.property(fc.array(fc.float(), { minLength: 1, maxLength: 257 }), (vals) => {
      const x = Float32Array.from(vals);
      const simd = both(x, 'wasm-simd');
      const ts = both(x, 'typescript');
      for (let i = 0; i < x.length; i++) {
        expect(ulps(simd.y[i]!, ts.y[i]!)).toBeLessThanOrEqual(1);
        expect(ulps(simd.d[i]!, ts.d[i]!)).toBeLessThanOrEqual(1);
      }
    }), { numRuns: 200, seed: 3 });
    const x = Float32Array.from({ length: 1 << 19 }, (_, i) => Math.sin(i) * 6);
    setCpuThreads(1);
    const one = both(x, 'wasm-simd');
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = both(x, 'wasm-simd');
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(Buffer.from(two.y.buffer).equals(Buffer.from(one.y.buffer))).toBe(true);
    expect(Buffer.from(two.d.buffer).equals(Buffer.from(one.d.buffer))).toBe(true);
  });
});
