/**
 * The worker pool's other kernels (softmax, layernorm forward and backward, AdamW, every unary and binary op) give
 * bit-identical results on 1, 2 and 3 threads, really run on the workers, and leave storages the pool cannot share
 * on one thread.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../src/autograd/backend.js';
import type { FloatDType } from '../src/autograd/dtype.js';
import { cpu, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool, splitRange } from '../src/kernels/cpu/pool.js';
import { Rng, uniformAt } from '../src/kernels/rng.js';
import { dropoutDraw } from '../src/kernels/cpu/attention-probs.js';

afterAll(() => { setCpuThreads(1); shutdownCpuPool(); });

function values(n: number, seed: number, dtype: FloatDType): Float32Array | Float64Array {
  const rng = new Rng(seed);
  const xs = Float64Array.from({ length: n }, () => rng.uniform(-3, 3));
  return dtype === 'f64' ? xs : Float32Array.from(xs);
}

function shared(xs: Float32Array | Float64Array): Float32Array | Float64Array {
  const out = new (xs.constructor as Float64ArrayConstructor)(new SharedArrayBuffer(xs.byteLength));
  out.set(xs);
  return out;
}

/** Every output of softmax, log-softmax, layernorm fwd/bwd and one AdamW step, as plain arrays. */
function kernelsOn(threads: number, rows: number, cols: number, dtype: FloatDType, seed: number): number[][] {
  setCpuThreads(threads, { minWork: 1 });
  const n = rows * cols;
  const x = cpu.upload(values(n, seed, dtype), dtype);
  const g = cpu.upload(values(n, seed + 1, dtype), dtype);
  const gamma = cpu.upload(values(cols, seed + 2, dtype), dtype);
  const beta = cpu.upload(values(cols, seed + 3, dtype), dtype);
  const read = (s: unknown, len: number) => Array.from(cpu.readSync(s, len, dtype));
  const ln = cpu.layernorm(x, gamma, beta, rows, cols, 1e-5, dtype);
  const lnb = cpu.layernormBackward(x, g, gamma, ln.mean, ln.rstd, rows, cols, dtype, { dx: true, dgamma: true, dbeta: true });
  // AdamW updates in place: its storages must be shared for the pool to split it, whatever their size
  const param = shared(values(n, seed + 4, dtype));
  const m = shared(values(n, seed + 5, dtype));
  const v = shared(values(n, seed + 6, dtype).map(Math.abs));
  cpu.adamw(param, g, m, v, n, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, bias1: 0.19, bias2: 0.002 }, dtype);
  return [
    read(cpu.softmax(x, rows, cols, dtype, false), n), read(cpu.softmax(x, rows, cols, dtype, true), n),
    read(ln.y, n), read(ln.mean, rows), read(ln.rstd, rows), read(lnb.dx, n), read(lnb.dgamma, cols), read(lnb.dbeta, cols),
    read(param, n), read(m, n), read(v, n),
  ];
}

const UNARY_OPS: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'square', 'gelu_tanh',
  'gelu_erf', 'erf', 'mul_scalar', 'add_scalar', 'pow_scalar'];
const BINARY_OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt', 'lt', 'relu_grad',
  'gelu_tanh_grad', 'gelu_erf_grad', 'tanh_grad', 'sigmoid_grad'];

/**
 * Every unary op, and every binary op in each of its layouts: same shapes, a scalar either side, (rows, cols) + (cols),
 * a column (rows, 1) against (rows, cols), and a 3-D broadcast that does not coalesce to two dims. 20 K elements, so
 * every storage is shared and the pool can split each kernel.
 */
function pointwiseOn(threads: number, dtype: FloatDType, seed: number): number[][] {
  setCpuThreads(threads, { minWork: 1 });
  const [rows, cols] = [40, 512];
  const n = rows * cols;
  const up = (len: number, k: number) => cpu.upload(values(len, seed + k, dtype), dtype);
  const x = up(n, 0), y = up(n, 1), bias = up(cols, 2), scalar = up(1, 3), column = up(rows, 4), planes = up(4 * cols, 5);
  const read = (s: unknown, len = n) => Array.from(cpu.readSync(s, len, dtype));
  const out: number[][] = UNARY_OPS.map((op) => read(cpu.unary(op, x, n, dtype, 1.5)));
  out.push(read(cpu.dropout(x, n, 0.3, seed, dtype)));
  for (const op of ['gelu_erf', 'gelu_tanh'] as const) { const r = cpu.geluWithGrad(op, x, n, dtype); out.push(read(r.y), read(r.dydx)); }
  // strided copies: a transpose, two 3-D permutes (the attention head split and merge) and a slice
  out.push(read(cpu.permute(x, [rows, cols], [1, 0], dtype)), read(cpu.permute(x, [4, 10, cols], [1, 0, 2], dtype)),
    read(cpu.permute(x, [4, 10, cols], [2, 0, 1], dtype)), read(cpu.slice(x, [rows, cols], [3, 7], [30, 500], dtype), 30 * 500));
  // sums over rows (a bias gradient) and over columns: split on their outputs
  out.push(read(cpu.reduce('sum', x, [rows, cols], [0], dtype), cols), read(cpu.reduce('sum', x, [rows, cols], [1], dtype), rows));
  for (const op of BINARY_OPS) {
    out.push(
      read(cpu.binary(op, x, [rows, cols], y, [rows, cols], [rows, cols], dtype)),
      read(cpu.binary(op, x, [n], scalar, [1], [n], dtype)),
      read(cpu.binary(op, scalar, [1], y, [n], [n], dtype)),
      read(cpu.binary(op, x, [rows, cols], bias, [cols], [rows, cols], dtype)),
      read(cpu.binary(op, column, [rows, 1], y, [rows, cols], [rows, cols], dtype)),
      read(cpu.binary(op, x, [4, 10, cols], planes, [4, 1, cols], [4, 10, cols], dtype)),
    );
  }
  return out;
}

describe('cpu pool kernels', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}: softmax, log-softmax, layernorm fwd/bwd and AdamW are bit-identical on 1, 2 and 3 threads`, () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 1 << 20 }),
        (rows, cols, seed) => {
          const one = kernelsOn(1, rows, cols, dtype, seed);
          expect(kernelsOn(2, rows, cols, dtype, seed)).toEqual(one);
          expect(kernelsOn(3, rows, cols, dtype, seed)).toEqual(one);
        }), { numRuns: 15 });
    });
  }

  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}: dropout, row and column sums, every unary and binary op in every layout are bit-identical on 1, 2 and 3 threads and runs on the workers`, () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 1 << 20 }), (seed) => {
        const one = pointwiseOn(1, dtype, seed);
        const before = cpuPoolInfo().workerJobs;
        expect(pointwiseOn(2, dtype, seed)).toEqual(one);
        // every op but the 3-D broadcast (this thread, row by row) is split: at least one worker job each
        expect(cpuPoolInfo().workerJobs - before).toBeGreaterThanOrEqual(UNARY_OPS.length + 9 + 5 * BINARY_OPS.length);
        expect(pointwiseOn(3, dtype, seed)).toEqual(one);
      }), { numRuns: 2 });
    });
  }

  it('the workers\' dropout draw (dropoutDraw) is uniformAt of rng.ts, the mask every backend draws', () => {
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 31 }), (seed, index) => {
      expect(dropoutDraw(seed, index)).toBe(uniformAt(seed, index));
    }), { numRuns: 2000 });
  });

  it('the kernels run on the workers when the storages are shared', () => {
    const before = cpuPoolInfo().workerJobs;
    kernelsOn(2, 64, 512, 'f32', 9); // 32 K elements: every storage is on a SharedArrayBuffer
    const info = cpuPoolInfo();
    expect(info.broken).toBeNull();
    // softmax ×2, layernorm, layernorm dx, AdamW: one worker job each at least
    expect(info.workerJobs - before).toBeGreaterThanOrEqual(5);
  });

  it('an in-place kernel on a plain (unshared) array stays on this thread and still updates it', () => {
    setCpuThreads(2, { minWork: 1 });
    const n = 5000;
    const param = new Float32Array(n).fill(1);
    const grad = new Float32Array(n).fill(0.5);
    const before = cpuPoolInfo().workerJobs;
    cpu.adamw(param, grad, new Float32Array(n), new Float32Array(n), n, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, bias1: 0.1, bias2: 0.001 }, 'f32');
    expect(cpuPoolInfo().workerJobs).toBe(before);
    expect(param.every((p) => Math.abs(p - 0.9) < 1e-6)).toBe(true);
  });

  it('splitRange covers [0, total) with aligned, increasing bounds', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10000 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 64 }), (total, parts, align) => {
      const b = splitRange(total, parts, align);
      expect(b[0]).toBe(0);
      expect(b[b.length - 1]).toBe(total);
      for (let i = 1; i < b.length - 1; i++) { expect(b[i] % align).toBe(0); expect(b[i]).toBeGreaterThan(b[i - 1]); }
      expect(b.length - 1).toBeLessThanOrEqual(Math.max(parts, 1));
    }));
  });
});
