/**
 * f32 add/sub/mul/div in WebAssembly SIMD (src/kernels/cpu/wasm-binary.ts) store exactly the TypeScript kernels' bits
 * (IEEE single arithmetic is the f64 operation rounded once), for every layout they take — equal shapes, a scalar on
 * either side, a row broadcast to every row on either side — with ±0, ±∞, NaN and subnormal operands, on 1 and 2 threads.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { BinaryOp } from '../src/autograd/backend.js';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { binaryWasm } from '../src/kernels/cpu/wasm-binary.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div'];
const special = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1, -1, 0.1];

function both(op: BinaryOp, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], outShape: number[]) {
  setCpuMatmulKernel('wasm-simd');
  const simd = Array.from(cpu.binary(op, a, aShape, b, bShape, outShape, 'f32') as Float32Array);
  setCpuMatmulKernel('typescript');
  const ts = Array.from(cpu.binary(op, a, aShape, b, bShape, outShape, 'f32') as Float32Array);
  setCpuMatmulKernel(null);
  const key = (v: number) => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v);
  return { simd: simd.map(key), ts: ts.map(key) };
}

describe('f32 add/sub/mul/div in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(binaryWasm()).not.toBeNull(); });

  it('the TypeScript kernels\' values bit for bit in every layout it takes', () => {
    const value = fc.oneof(fc.float(), fc.constantFrom(...special));
    fc.assert(fc.property(fc.constantFrom(...OPS), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 37 }),
      fc.constantFrom('same', 'scalar-b', 'scalar-a', 'row-b', 'row-a'), fc.array(value, { minLength: 400, maxLength: 400 }),
      (op, rows, len, layout, vals) => {
        const full = Float32Array.from({ length: rows * len }, (_, i) => vals[i % 400]!);
        const other = Float32Array.from({ length: rows * len }, (_, i) => vals[(7 * i + 3) % 400]!);
        const shape = [rows, len];
        const cases: Record<string, [Float32Array, number[], Float32Array, number[]]> = {
          'same': [full, shape, other, shape],
          'scalar-b': [full, shape, other.subarray(0, 1), [1]],
          'scalar-a': [other.subarray(0, 1), [1], full, shape],
          'row-b': [full, shape, other.subarray(0, len), [len]],
          'row-a': [other.subarray(0, len), [len], full, shape],
        };
        const [a, as, b, bs] = cases[layout]!;
        const r = both(op, a, as, b, bs, shape);
        expect(r.simd).toEqual(r.ts);
      }), { numRuns: 300, seed: 21 });
  });

  it('1 and 2 threads give the same bits, and the workers ran the SIMD kernels', () => {
    const n = 1 << 18, len = 256;
    const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
    const row = b.subarray(0, len);
    const run = () => OPS.flatMap((op) => [cpu.binary(op, a, [n], b, [n], [n], 'f32'), cpu.binary(op, a, [n / len, len], row, [len], [n / len, len], 'f32')])
      .map((x) => Array.from(x as Float32Array));
    setCpuThreads(1);
    const one = run();
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = run();
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(two).toEqual(one);
  });
});
