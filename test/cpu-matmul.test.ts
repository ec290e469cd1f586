/**
 * The CPU matmul (src/kernels/cpu/gemm.ts) against a compensated float64 reference, within the rounding bound stated
 * in src/kernels/cpu/matmul.ts, for every transpose case, batched and broadcast, f32 and f64; and bit-identical
 * results whatever the number of threads the worker pool splits it across.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatmulParams } from '../src/autograd/backend.js';
import type { FloatDType } from '../src/autograd/dtype.js';
import { type Shape, broadcastShapes, numel } from '../src/autograd/shape.js';
import { type CpuMatmulKernel, cpu, cpuMatmulKernel, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, cpuThreads, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { Rng } from '../src/kernels/rng.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const U = { f32: 2 ** -24, f64: 2 ** -53 } as const;
const gamma = (n: number, u: number) => (n * u) / (1 - n * u);

interface Case { batchA: Shape; batchB: Shape; M: number; K: number; N: number; transA: boolean; transB: boolean; seed: number }

function params(c: Case): MatmulParams {
  return { batchA: c.batchA, batchB: c.batchB, batchOut: broadcastShapes(c.batchA, c.batchB), M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB };
}

function operands(c: Case, dtype: FloatDType): { a: Float32Array | Float64Array; b: Float32Array | Float64Array } {
  const rng = new Rng(c.seed);
  const make = (n: number) => {
    // values spread over several binades, so rounding really happens
    const xs = Float64Array.from({ length: n }, () => rng.uniform(-1, 1) * 2 ** Math.floor(rng.uniform(-4, 4)));
    return dtype === 'f64' ? xs : Float32Array.from(xs);
  };
  return { a: make(numel(c.batchA) * c.M * c.K), b: make(numel(c.batchB) * c.K * c.N) };
}

/** Dot2 (Ogita, Rump, Oishi 2005): a dot product as accurate as if computed in twice the working precision. */
function dot2(xs: number[], ys: number[]): { value: number; absSum: number } {
  let s = 0, c = 0, absSum = 0;
  for (let k = 0; k < xs.length; k++) {
    const p = xs[k] * ys[k];
    // TwoProduct by Veltkamp splitting, then TwoSum
    const split = (v: number) => { const t = 134217729 * v; const hi = t - (t - v); return [hi, v - hi]; };
    const [xh, xl] = split(xs[k]); const [yh, yl] = split(ys[k]);
    const pe = xl * yl - (((p - xh * yh) - xl * yh) - xh * yl);
    const t = s + p; const z = t - s; const se = (s - (t - z)) + (p - z);
    s = t; c += pe + se;
    absSum += Math.abs(p);
  }
  return { value: s + c, absSum };
}

/** op(A)(i, k) and op(B)(k, j) of output batch item t, read from the stored layouts. */
function reference(c: Case, a: ArrayLike<number>, b: ArrayLike<number>): { value: Float64Array; absSum: Float64Array } {
  const p = params(c);
  const batch = numel(p.batchOut);
  const value = new Float64Array(batch * c.M * c.N);
  const absSum = new Float64Array(value.length);
  const itemOf = (shape: Shape, t: number) => {
    // broadcast: index of the operand's batch item for output item t
    let rest = t, off = 0, stride = 1;
    const out = p.batchOut;
    for (let d = out.length - 1; d >= 0; d--) {
      const idx = rest % out[d]; rest = Math.floor(rest / out[d]);
      const sd = d - (out.length - shape.length);
      if (sd >= 0) { off += (shape[sd] === 1 ? 0 : idx) * stride; stride *= shape[sd]; }
    }
    return off;
  };
  for (let t = 0; t < batch; t++) {
    const oa = itemOf(c.batchA, t) * c.M * c.K, ob = itemOf(c.batchB, t) * c.K * c.N;
    for (let i = 0; i < c.M; i++) {
      for (let j = 0; j < c.N; j++) {
        const xs: number[] = [], ys: number[] = [];
        for (let k = 0; k < c.K; k++) {
          xs.push(a[oa + (c.transA ? k * c.M + i : i * c.K + k)]);
          ys.push(b[ob + (c.transB ? j * c.K + k : k * c.N + j)]);
        }
        const r = dot2(xs, ys);
        value[(t * c.M + i) * c.N + j] = r.value;
        absSum[(t * c.M + i) * c.N + j] = r.absSum;
      }
    }
  }
  return { value, absSum };
}

const batchShapes = fc.constantFrom<[Shape, Shape]>([[], []], [[3], [3]], [[2, 1], [3]], [[1], [2, 2]], [[2], []], [[], [3]]);
const caseArb = (maxDim: number, maxK: number) => fc.record({
  batch: batchShapes, M: fc.integer({ min: 1, max: maxDim }), K: fc.integer({ min: 1, max: maxK }), N: fc.integer({ min: 1, max: maxDim }),
  transA: fc.boolean(), transB: fc.boolean(), seed: fc.integer({ min: 0, max: 1 << 30 }),
}).map((r): Case => ({ batchA: r.batch[0], batchB: r.batch[1], M: r.M, K: r.K, N: r.N, transA: r.transA, transB: r.transB, seed: r.seed }));

function runMatmul(c: Case, dtype: FloatDType, threads: number, kernel: CpuMatmulKernel = 'wasm-simd'): Float64Array {
  setCpuThreads(threads, { minWork: 1 });
  setCpuMatmulKernel(kernel);
  const { a, b } = operands(c, dtype);
  const p = params(c);
  const out = cpu.matmul(cpu.upload(a, dtype), cpu.upload(b, dtype), p, dtype);
  return Float64Array.from(cpu.readSync(out, numel(p.batchOut) * c.M * c.N, dtype));
}

describe('cpu matmul rounding', () => {
  it('WebAssembly SIMD is there (Node 20+): the f32 default is the wasm-simd kernel', () => {
    setCpuMatmulKernel(null);
    expect(cpuMatmulKernel()).toBe('wasm-simd');
  });

  // the bounds stated in src/kernels/cpu/matmul.ts, one per kernel
  const cases: { dtype: FloatDType; kernel: CpuMatmulKernel; bound: (K: number) => number }[] = [
    { dtype: 'f64', kernel: 'typescript', bound: (K) => gamma(K, U.f64) },
    { dtype: 'f32', kernel: 'typescript', bound: (K) => gamma(Math.ceil(K / 256), U.f32) + 2 * gamma(K, U.f64) },
    { dtype: 'f32', kernel: 'wasm-simd', bound: (K) => gamma(Math.min(K, 256) + Math.ceil(K / 256), U.f32) },
  ];
  for (const { dtype, kernel, bound: boundOf } of cases) {
    it(`${dtype} ${kernel}: every element within the stated bound of the exact product, all transposes, batched and broadcast`, () => {
      fc.assert(fc.property(caseArb(13, 600), (c) => {
        const { a, b } = operands(c, dtype);
        const got = runMatmul(c, dtype, 1, kernel);
        const ref = reference(c, a, b);
        const bound = boundOf(c.K);
        for (let e = 0; e < got.length; e++) {
          const err = Math.abs(got[e] - ref.value[e]);
          // the final rounding of an f32 result to the exact value's neighbour is within the bound too (Σ|ab| ≥ |c|)
          if (!(err <= bound * ref.absSum[e] + (dtype === 'f32' ? U.f32 * Math.abs(ref.value[e]) : 0))) {
            throw new Error(`element ${e}: |err| ${err} > bound ${bound * ref.absSum[e]} (K ${c.K})`);
          }
        }
      }), { numRuns: 40 });
    });
  }

  it('f32 wasm-simd: each element is the k-ordered f32 sum of its 256-blocks, bit for bit (an independent scalar model of the kernel)', () => {
    fc.assert(fc.property(caseArb(11, 700), (c) => {
      const { a, b } = operands(c, 'f32');
      const got = runMatmul(c, 'f32', 1, 'wasm-simd');
      const f = Math.fround;
      const p = params(c);
      const ref = reference(c, a, b); // only for the layout of the batch: recompute each element in f32 below
      const batch = numel(p.batchOut);
      // batch items of A and B for output item t, as reference() resolves them
      const item = (shape: Shape, t: number) => {
        let rest = t, off = 0, stride = 1;
        for (let d = p.batchOut.length - 1; d >= 0; d--) {
          const idx = rest % p.batchOut[d]; rest = Math.floor(rest / p.batchOut[d]);
          const sd = d - (p.batchOut.length - shape.length);
          if (sd >= 0) { off += (shape[sd] === 1 ? 0 : idx) * stride; stride *= shape[sd]; }
        }
        return off;
      };
      for (let t = 0; t < batch; t++) {
        const oa = item(c.batchA, t) * c.M * c.K, ob = item(c.batchB, t) * c.K * c.N;
        for (let i = 0; i < c.M; i++) for (let j = 0; j < c.N; j++) {
          let total = 0;
          for (let k0 = 0; k0 < c.K; k0 += 256) {
            let s = 0;
            for (let k = k0; k < Math.min(c.K, k0 + 256); k++) {
              s = f(s + f(a[oa + (c.transA ? k * c.M + i : i * c.K + k)] * b[ob + (c.transB ? j * c.K + k : k * c.N + j)]));
            }
            total = k0 === 0 ? s : f(total + s);
          }
          const e = (t * c.M + i) * c.N + j;
          if (got[e] !== total) throw new Error(`element ${e}: ${got[e]} ≠ ${total} (exact ${ref.value[e]})`);
        }
      }
    }), { numRuns: 30 });
  });

  it('K = 0 gives zeros and an empty output stays empty', () => {
    const c: Case = { batchA: [2], batchB: [2], M: 3, K: 0, N: 2, transA: false, transB: true, seed: 1 };
    expect(Array.from(runMatmul(c, 'f32', 2))).toEqual(new Array(12).fill(0));
  });
});

describe('cpu linear (matmul with the bias in its epilogue)', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}: linear = matmul, rounded, then + bias, bit for bit (both weight layouts, K across the 256-block, 1 and 2 threads; f32 on both kernels)`, () => {
      fc.assert(fc.property(fc.record({
        rows: fc.integer({ min: 1, max: 40 }), K: fc.integer({ min: 0, max: 600 }), N: fc.integer({ min: 1, max: 20 }),
        transW: fc.boolean(), threads: fc.constantFrom(1, 2), seed: fc.integer({ min: 0, max: 1 << 30 }),
        kernel: fc.constantFrom<CpuMatmulKernel>('wasm-simd', 'typescript'),
      }), ({ rows, K, N, transW, threads, seed, kernel }) => {
        setCpuThreads(threads, { minWork: 1 });
        setCpuMatmulKernel(kernel);
        const c: Case = { batchA: [], batchB: [], M: rows, K, N, transA: false, transB: transW, seed };
        const { a, b } = operands(c, dtype);
        const bias = operands({ ...c, M: 1, K: 1, seed: seed + 1 }, dtype).b;
        const product = cpu.readSync(cpu.matmul(cpu.upload(a, dtype), cpu.upload(b, dtype), params(c), dtype), rows * N, dtype);
        const want = cpu.readSync(cpu.binary('add', cpu.upload(product, dtype), [rows, N], cpu.upload(bias, dtype), [N], [rows, N], dtype), rows * N, dtype);
        const got = cpu.readSync(cpu.linear(cpu.upload(a, dtype), cpu.upload(b, dtype), cpu.upload(bias, dtype), { rows, K, N, transW }, dtype), rows * N, dtype);
        expect(Array.from(got)).toEqual(Array.from(want));
      }), { numRuns: 40 });
    });
  }
});

describe('cpu matmul thread count', () => {
  for (const [dtype, kernel] of [['f32', 'wasm-simd'], ['f32', 'typescript'], ['f64', 'typescript']] as const) {
    it(`${dtype} ${kernel}: 1, 2 and 3 threads give bit-identical results (random shapes, all transposes, batched/broadcast)`, () => {
      fc.assert(fc.property(caseArb(70, 300), (c) => {
        const one = runMatmul(c, dtype, 1, kernel);
        const two = runMatmul(c, dtype, 2, kernel);
        const three = runMatmul(c, dtype, 3, kernel);
        expect(two).toEqual(one);
        expect(three).toEqual(one);
      }), { numRuns: 25 });
    });
  }

  it('a product that crosses the K block (K > 256) and the N panel (N > 512) is bit-identical on 1 and 2 threads', () => {
    const c: Case = { batchA: [], batchB: [], M: 101, K: 700, N: 530, transA: true, transB: false, seed: 7 };
    expect(runMatmul(c, 'f32', 2)).toEqual(runMatmul(c, 'f32', 1));
    expect(runMatmul(c, 'f32', 2, 'typescript')).toEqual(runMatmul(c, 'f32', 1, 'typescript'));
  });

  it('a big product really runs on the workers (the pool did not fall back to one thread)', () => {
    setCpuThreads(2);
    expect(cpuThreads()).toBe(2);
    const before = cpuPoolInfo().workerJobs;
    const c: Case = { batchA: [], batchB: [], M: 128, K: 128, N: 128, transA: false, transB: false, seed: 3 };
    runMatmul(c, 'f32', 2);
    setCpuThreads(2);
    const { a, b } = operands(c, 'f32');
    cpu.matmul(cpu.upload(a, 'f32'), cpu.upload(b, 'f32'), params(c), 'f32');
    const info = cpuPoolInfo();
    expect(info.broken).toBeNull();
    expect(info.workerJobs).toBeGreaterThanOrEqual(before + 2);
  });

  it('WEBPEFT_THREADS-style counts are validated: 0 threads is an error', () => {
    expect(() => setCpuThreads(0)).toThrow(/positive integer/);
  });
});
