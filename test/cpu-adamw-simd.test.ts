/**
 * AdamW on f32 storages in WebAssembly SIMD (src/kernels/cpu/wasm-adamw.ts) leaves exactly the TypeScript kernel's
 * parameters and moments, step after step, for any length and hyperparameters, on 1 and 2 threads.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AdamWParams } from '../src/autograd/backend.js';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { adamwWasm } from '../src/kernels/cpu/wasm-adamw.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

function steps(kernel: 'wasm-simd' | 'typescript', p0: Float32Array, grads: Float32Array[], hp: Omit<AdamWParams, 'bias1' | 'bias2'>) {
  setCpuMatmulKernel(kernel);
  // SharedArrayBuffer-backed, as the CPU backend's parameters are, so the pool may split the update
  const shared = () => new Float32Array(new SharedArrayBuffer(4 * p0.length));
  const p = shared(), m = shared(), v = shared();
  p.set(p0);
  grads.forEach((g, t) => cpu.adamw(p, g, m, v, p.length, { ...hp, bias1: 1 - hp.beta1 ** (t + 1), bias2: 1 - hp.beta2 ** (t + 1) }, 'f32'));
  setCpuMatmulKernel(null);
  return [...p, ...m, ...v].map((x) => (Object.is(x, -0) ? '-0' : x));
}

describe('AdamW f32 in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(adamwWasm()).not.toBeNull(); });

  it('the TypeScript kernel\'s parameters and moments bit for bit over three steps', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 70 }), fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 64, maxLength: 64 }),
      fc.record({ lr: fc.constantFrom(1e-3, 1e-2, 0.1), beta1: fc.constantFrom(0.9, 0.8), beta2: fc.constantFrom(0.999, 0.98),
        eps: fc.constantFrom(1e-8, 1e-6), weightDecay: fc.constantFrom(0, 0.01, 0.1) }), (n, vals, hp) => {
        const p0 = Float32Array.from({ length: n }, (_, i) => vals[i % 64]!);
        const grads = [1, 2, 3].map((t) => Float32Array.from({ length: n }, (_, i) => vals[(i * t + 5) % 64]! / (t + 1)));
        expect(steps('wasm-simd', p0, grads, hp)).toEqual(steps('typescript', p0, grads, hp));
      }), { numRuns: 150, seed: 4 });
  });

  it('1 and 2 threads give the same bits, and the workers ran it', () => {
    const n = 1 << 20;
    const p0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const grads = [Float32Array.from({ length: n }, (_, i) => Math.cos(i))];
    const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    setCpuThreads(1);
    const one = steps('wasm-simd', p0, grads, hp);
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = steps('wasm-simd', p0, grads, hp);
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(two).toEqual(one);
  });
});
