/**
 * Each fused op equals the chain of ops it replaces (values and gradients, float64 on the CPU, to a few ulps):
 * the models' switch to fused kernels changes no number beyond rounding.
 */
import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../src/autograd/create.js';
import {
  add, attentionProbs, binary, concat, dropout, linear, lstmCell, lstmScan, maskedFill, matmul, maximum, mul, narrow, reshape, scalarLike,
  softmax, sum,
} from '../src/autograd/functions.js';
import { backward } from '../src/autograd/tape.js';
import type { Tensor } from '../src/autograd/tensor.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';

const o = { backend: cpu, dtype: 'f64' as const };

/** Value and gradients of Σ w ⊙ f(inputs) for a fixed random w, so every output element matters. */
async function run(f: (xs: Tensor[]) => Tensor, make: () => Tensor[], seed: number) {
  const xs = make();
  for (const x of xs) x.requiresGrad = true;
  const y = f(xs);
  const w = randn(y.shape, new Rng(seed), o);
  backward(sum(mul(y, w)));
  return { y: Array.from(await y.data()), grads: await Promise.all(xs.map(async (x) => Array.from(await x.grad!.data()))) };
}

function expectClose(a: number[], b: number[], what: string): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]), `${what}[${i}]: ${v} vs ${b[i]}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(b[i]))));
}

describe('fused ops equal the chains they replace', () => {
  it('linear(x, W, b) = x @ W + b and x @ Wᵀ + b, values and all three gradients', async () => {
    for (const transW of [false, true]) {
      const make = () => [randn([2, 5, 3], new Rng(1), o), randn(transW ? [4, 3] : [3, 4], new Rng(2), o), randn([4], new Rng(3), o)];
      const fused = await run(([x, w, b]) => linear(x, w, b, { transW }), make, 9);
      const chain = await run(([x, w, b]) => add(matmul(x, w, { transB: transW }), b), make, 9);
      expectClose(fused.y, chain.y, 'y');
      fused.grads.forEach((g, i) => expectClose(g, chain.grads[i], `grad ${i}`));
    }
  });

  it('attention_probs = dropout(softmax(masked_fill(scores · scale))) with padding and the causal rule', async () => {
    const [B, H, T, S] = [2, 3, 4, 6];
    const keyMask = tensor([1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0], [B, S], o);
    for (const [causal, p] of [[false, 0], [true, 0], [false, 0.3], [true, 0.5]] as const) {
      const make = () => [randn([B, H, T, S], new Rng(4), o)];
      const fused = await run(([s]) => attentionProbs(s, keyMask, { scale: 0.35, causal, p, seed: 77 }), make, 5);
      const chain = await run(([s]) => {
        let blocked = reshape(binary('eq', keyMask, scalarLike(keyMask, 0)), [B, 1, 1, S]);
        if (causal) {
          const c = new Float64Array(T * S);
          for (let i = 0; i < T; i++) for (let j = S - T + i + 1; j < S; j++) c[i * S + j] = 1;
          blocked = maximum(blocked, tensor(c, [1, 1, T, S], o));
        }
        const probs = softmax(maskedFill(mul(s, 0.35), blocked, -Number.MAX_VALUE));
        return p > 0 ? dropout(probs, p, 77) : probs;
      }, make, 5);
      expectClose(fused.y, chain.y, `probs causal=${causal} p=${p}`);
      expectClose(fused.grads[0], chain.grads[0], `dscores causal=${causal} p=${p}`);
    }
  });

  it('lstm_scan = lstmCell stepped T times per sequence (N recurrences with their own W_hh, B sequences each)', async () => {
    const [N, B, T, H] = [2, 3, 5, 4];
    const make = () => [randn([N, B, T, 4 * H], new Rng(6), o), mul(randn([N, 4 * H, H], new Rng(7), o), 0.5), randn([N, 4 * H], new Rng(8), o)];
    const fused = await run(([gx, w, b]) => lstmScan(gx, w, b), make, 10);
    const chain = await run(([gx, w, b]) => {
      const seqs: Tensor[] = [];
      for (let n = 0; n < N; n++) {
        const wn = reshape(narrow(w, 0, n, 1), [4 * H, H]);
        const bn = reshape(narrow(b, 0, n, 1), [4 * H]);
        // lstmCell adds x Wᵢₕᵀ + bᵢₕ itself: x = the step's gates and Wᵢₕ = I, bᵢₕ = 0 give gx + (h Wₕₕᵀ + bₕₕ)
        const eye = tensor(Array.from({ length: 16 * H * H }, (_, k) => (k % (4 * H + 1) === 0 ? 1 : 0)), [4 * H, 4 * H], o);
        const zero4 = tensor(new Float64Array(4 * H), [4 * H], o);
        let state = { h: tensor(new Float64Array(B * H), [B, H], o), c: tensor(new Float64Array(B * H), [B, H], o) };
        const hs: Tensor[] = [];
        for (let t = 0; t < T; t++) {
          const x = reshape(narrow(narrow(gx, 0, n, 1), 2, t, 1), [B, 4 * H]);
          state = lstmCell(x, state.h, state.c, eye, wn, zero4, bn);
          hs.push(reshape(state.h, [1, B, 1, H]));
        }
        seqs.push(concat(hs, 2));
      }
      return concat(seqs, 0);
    }, make, 10);
    expectClose(fused.y, chain.y, 'h');
    fused.grads.forEach((g, i) => expectClose(g, chain.grads[i], ['dgx', 'dW_hh', 'db_hh'][i]!));
  });

  it('lstm_scan names a bad shape', () => {
    const t = (shape: number[]) => tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape, o);
    expect(() => lstmScan(t([2, 1, 3, 6]), t([2, 6, 1]), t([2, 6]))).toThrow('lstm_scan: gates must be (N, B, T, 4H) with N, B, T, H ≥ 1, got [2, 1, 3, 6]');
    expect(() => lstmScan(t([2, 1, 0, 8]), t([2, 8, 2]), t([2, 8]))).toThrow(/gates must be \(N, B, T, 4H\) with N, B, T, H ≥ 1, got \[2, 1, 0, 8\]/);
    expect(() => lstmScan(t([2, 1, 3, 8]), t([1, 8, 2]), t([2, 8]))).toThrow(/W_hh \[1, 8, 2\] must be \[2, 8, 2\]/);
    expect(() => lstmScan(t([2, 1, 3, 8]), t([2, 8, 2]), t([2, 1, 8]))).toThrow(/b_hh \[2, 1, 8\] must be \[2, 8\]/);
  });
});

describe('attention_probs on the CPU worker pool', () => {
  it('1, 2 and 3 threads give bit-identical probabilities, softmax and gradients (f32 and f64, masks, causal, dropout)', async () => {
    const { setCpuThreads } = await import('../src/kernels/cpu/index.js');
    const { shutdownCpuPool, cpuPoolInfo } = await import('../src/kernels/cpu/pool.js');
    try {
      for (const dtype of ['f32', 'f64'] as const) {
        for (const [causal, p] of [[false, 0], [true, 0.2], [false, 0.3]] as const) {
          const B = 3, H = 2, T = 7, S = causal ? 9 : 7;
          const rng = new Rng(11);
          const s = Float64Array.from({ length: B * H * T * S }, () => rng.uniform(-3, 3));
          const mask = Float64Array.from({ length: B * S }, (_, k) => (k % 5 === 4 ? 0 : 1));
          const results = [];
          for (const threads of [1, 2, 3]) {
            setCpuThreads(threads, { minWork: 1 });
            const before = cpuPoolInfo().workerJobs;
            const x = tensor(s, [B, H, T, S], { backend: cpu, dtype });
            x.requiresGrad = true;
            const km = tensor(mask, [B, S], { backend: cpu, dtype });
            const y = attentionProbs(x, km, { scale: 0.4, causal, p, seed: 5 });
            const w = tensor(Float64Array.from({ length: y.size }, (_, k) => Math.sin(k)), y.shape, { backend: cpu, dtype });
            backward(sum(mul(y, w)));
            results.push({ y: Array.from(await y.data()), g: Array.from(await x.grad!.data()) });
            if (threads > 1) expect(cpuPoolInfo().workerJobs).toBeGreaterThan(before);
          }
          expect(results[1]).toEqual(results[0]);
          expect(results[2]).toEqual(results[0]);
        }
      }
    } finally {
      setCpuThreads(1);
      shutdownCpuPool();
    }
  });
});
