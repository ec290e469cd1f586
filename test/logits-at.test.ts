/**
 * `logitsAt` (GPT-2 and BERT's per-position heads): the head run at one position per row gives exactly the full
 * logits' rows at those positions, in f32 and f64, and the same gradients; bad positions, labels and heads without
 * positions are one-line errors.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { mul, sum } from '../src/autograd/functions.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { cpu } from '../src/kernels/cpu/index.js';
import type { Bert } from '../src/models/bert.js';
import type { Gpt2 } from '../src/models/gpt2.js';
import { loadBert, loadGpt2 } from '../src/train/model-dir.js';

type Model = { name: string; forward: (m: Gpt2 | Bert, ids: Tensor, at?: Int32Array) => Tensor; V: number; model: Gpt2 | Bert };
const models: Record<string, Model[]> = { f32: [], f64: [] };

beforeAll(async () => {
  for (const dtype of ['f32', 'f64'] as const) {
    const gpt = (await loadGpt2('gpt2-tiny', { backend: cpu, seed: 1, dtype })).model;
    const bert = (await loadBert('bert-tiny', { backend: cpu, seed: 1, dtype, head: 'masked-lm' })).model;
    models[dtype] = [
      { name: 'gpt2-tiny', model: gpt, V: gpt.config.vocabSize, forward: (m, ids, at) => (m as Gpt2).forward({ ids, logitsAt: at }).logits },
      { name: 'bert-tiny MLM', model: bert, V: bert.config.vocabSize, forward: (m, ids, at) => (m as Bert).forward({ ids, logitsAt: at }).logits! },
    ];
  }
});
afterAll(() => { for (const list of Object.values(models)) for (const m of list) m.model.dispose(); });

const batchArb = fc.record({ B: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 1, max: 12 }), seed: fc.nat() });

function inputs(B: number, T: number, V: number, seed: number): { ids: Int32Array; at: Int32Array } {
  let s = seed >>> 0;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
  return { ids: Int32Array.from({ length: B * T }, () => 5 + (next() % (V - 5))), at: Int32Array.from({ length: B }, () => next() % T) };
}

describe('logitsAt', () => {
  for (const dtype of ['f32', 'f64'] as const) {
    it(`${dtype}: equals the full logits at (b, at[b]) bit for bit`, async () => {
      for (const m of models[dtype]!) {
        await fc.assert(fc.asyncProperty(batchArb, async ({ B, T, seed }) => {
          const { ids, at } = inputs(B, T, m.V, seed);
          const idsT = tensor(ids, [B, T], { backend: cpu, dtype: 'i32' });
          const full = await m.forward(m.model, idsT).data();
          const one = m.forward(m.model, idsT, at);
          expect(one.shape).toEqual([B, 1, m.V]);
          const got = await one.data();
          for (let b = 0; b < B; b++) {
            const want = full.subarray((b * T + at[b]!) * m.V, (b * T + at[b]! + 1) * m.V);
            expect(Array.from(got.subarray(b * m.V, (b + 1) * m.V))).toEqual(Array.from(want));
          }
        }), { numRuns: 8 });
      }
    });
  }

  it('f64: the gradients of every parameter equal those through the full logits (1e-12)', async () => {
    for (const m of models.f64!) {
      const [B, T] = [3, 7];
      const { ids, at } = inputs(B, T, m.V, 11);
      const idsT = tensor(ids, [B, T], { backend: cpu, dtype: 'i32' });
      const w = Float64Array.from({ length: B * m.V }, (_, i) => Math.sin(i));
      const params = [...m.model.params.values()];
      const grads = (loss: () => Tensor) => {
        for (const p of params) { p.requireGrad(true); p.grad?.dispose(); p.grad = null; }
        tidy(() => { backward(loss()); });
        return params.map((p) => Array.from(p.grad ? p.grad.dataSync() : []));
      };
      const viaAt = grads(() => sum(mul(m.forward(m.model, idsT, at), tensor(w, [B, 1, m.V], { backend: cpu, dtype: 'f64' }))));
      // the same loss from the full logits: weights only at (b, at[b])
      const wide = new Float64Array(B * T * m.V);
      for (let b = 0; b < B; b++) wide.set(w.subarray(b * m.V, (b + 1) * m.V), (b * T + at[b]!) * m.V);
      const viaFull = grads(() => sum(mul(m.forward(m.model, idsT), tensor(wide, [B, T, m.V], { backend: cpu, dtype: 'f64' }))));
      viaAt.forEach((g, i) => {
        expect(g.length).toBe(viaFull[i]!.length);
        g.forEach((x, j) => expect(Math.abs(x - viaFull[i]![j]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(viaFull[i]![j]!))));
      });
      for (const p of params) { p.grad?.dispose(); p.grad = null; }
    }
  });

  it('refuses a position outside the sequence, a count that is not one per row, labels, and a head without positions', async () => {
    const [gpt, bert] = models.f32!;
    const ids = tensor(new Int32Array([5, 6, 7, 8, 9, 10]), [2, 3], { backend: cpu, dtype: 'i32' });
    expect(() => gpt!.forward(gpt!.model, ids, new Int32Array([0, 3]))).toThrow(/^gpt2: logitsAt\[1\] = 3 is outside \[0, 3\)$/);
    expect(() => bert!.forward(bert!.model, ids, new Int32Array([1]))).toThrow(/^bert: logitsAt has 1 positions for 2 rows$/);
    expect(() => (gpt!.model as Gpt2).forward({ ids, labels: ids, logitsAt: new Int32Array([0, 0]) })).toThrow(/takes no labels/);
    const cls = (await loadBert('bert-tiny', { backend: cpu, seed: 1, head: 'sequence-classification', numLabels: 2 })).model;
    expect(() => cls.forward({ ids, logitsAt: new Int32Array([0, 0]) })).toThrow(/not sequence-classification/);
    cls.dispose();
  });
});
