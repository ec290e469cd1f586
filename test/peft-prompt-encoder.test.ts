/**
 * P-tuning's LSTM prompt encoder (src/peft/prompt-encoder.ts) runs both directions of each layer as one lstm_scan, with
 * the input products hoisted out of the loop. It must compute what the cell-by-cell composition of lstmCell (the
 * gradient-checked `lstm_cell` op) computes — the output and every parameter's gradient, in f32 and f64, within
 * 1024 roundings of each tensor's largest value (the scan rounds once per stored value, the composition after every
 * op) — and in f64 what a plain PyTorch-order LSTM written out in numbers computes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, lstmCell, mul, narrow, relu, sum } from '../src/autograd/functions.js';
import { tensor, zeros } from '../src/autograd/create.js';
import { backward } from '../src/autograd/tape.js';
import type { Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig } from '../src/io/config.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert } from '../src/models/bert.js';
import type { Params } from '../src/models/params.js';
import { baseOf } from '../src/peft/base.js';
import { encodePrompt, promptEncoderParams } from '../src/peft/prompt-encoder.js';
import { linear } from '../src/peft/tables.js';

const D = 6;
const config = parseBertConfig({ vocab_size: 11, hidden_size: D, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8,
  max_position_embeddings: 16 }, 'tiny-bert');

/** The encoder as it was written before: one lstmCell per direction and row. */
function reference(params: Params, h: number): Tensor {
  const direction = (x: Tensor, layer: number, reverse: boolean): Tensor => {
    const w = (n: string) => params.tensor(`lstm_head.${n}_l${layer}${reverse ? '_reverse' : ''}`);
    const T = x.shape[0];
    let state = { h: zeros([1, h], { backend: x.backend, dtype: x.dtype }), c: zeros([1, h], { backend: x.backend, dtype: x.dtype }) };
    const outs: Tensor[] = new Array<Tensor>(T);
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      state = lstmCell(narrow(x, 0, t, 1), state.h, state.c, w('weight_ih'), w('weight_hh'), w('bias_ih'), w('bias_hh'));
      outs[t] = state.h;
    }
    return concat(outs, 0);
  };
  let seq = params.tensor('embedding.weight');
  for (let layer = 0; layer < 2; layer++) seq = concat([direction(seq, layer, false), direction(seq, layer, true)], 1);
  return linear(params, 'mlp_head.2', relu(linear(params, 'mlp_head.0', seq)));
}

/** A 2-layer bidirectional LSTM in plain numbers (PyTorch's equations, gate order i, f, g, o), then the MLP head. */
async function plain(params: Params, h: number): Promise<number[][]> {
  const v = async (n: string) => Array.from(await params.tensor(n).data());
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  let seq: number[][] = [];
  const emb = await v('embedding.weight');
  const P = params.tensor('embedding.weight').shape[0];
  for (let t = 0; t < P; t++) seq.push(emb.slice(t * D, (t + 1) * D));
  for (let layer = 0; layer < 2; layer++) {
    const next: number[][] = seq.map(() => []);
    for (const dir of ['', '_reverse']) {
      const wIh = await v(`lstm_head.weight_ih_l${layer}${dir}`), wHh = await v(`lstm_head.weight_hh_l${layer}${dir}`);
      const bIh = await v(`lstm_head.bias_ih_l${layer}${dir}`), bHh = await v(`lstm_head.bias_hh_l${layer}${dir}`);
      const I = seq[0]!.length;
      let hs = new Array<number>(h).fill(0), cs = new Array<number>(h).fill(0);
      const outs: number[][] = [];
      for (let s = 0; s < P; s++) {
        const t = dir ? P - 1 - s : s;
        const z = Array.from({ length: 4 * h }, (_, r) => {
          let a = bIh[r]! + bHh[r]!;
          for (let k = 0; k < I; k++) a += wIh[r * I + k]! * seq[t]![k]!;
          for (let k = 0; k < h; k++) a += wHh[r * h + k]! * hs[k]!;
          return a;
        });
        cs = cs.map((c, j) => sig(z[h + j]!) * c + sig(z[j]!) * Math.tanh(z[2 * h + j]!));
        hs = cs.map((c, j) => sig(z[3 * h + j]!) * Math.tanh(c));
        outs[t] = hs;
      }
      outs.forEach((o, t) => next[t]!.push(...o));
    }
    seq = next;
  }
  const lin = async (x: number[][], name: string, relu: boolean) => {
    const w = await v(`${name}.weight`), b = await v(`${name}.bias`);
    const out = b.length, inp = x[0]!.length;
    return x.map((row) => Array.from({ length: out }, (_, r) => {
      let a = b[r]!;
      for (let k = 0; k < inp; k++) a += w[r * inp + k]! * row[k]!;
      return relu ? Math.max(0, a) : a;
    }));
  };
  return lin(await lin(seq, 'mlp_head.0', true), 'mlp_head.2', false);
}

const plus0 = (xs: ArrayLike<number>) => Array.from(xs, (x) => (x === 0 ? 0 : x));

describe('P-tuning LSTM encoder, both directions batched', () => {
  it('equals the cell-by-cell composition (output and gradients, within rounding) and, in f64, a plain LSTM', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer(), fc.constantFrom('f32' as const, 'f64' as const),
      async (P, h, seed, dtype) => {
        const model = Bert.init(config, { seed: 3, dtype });
        const base = baseOf(model);
        const run = async (encode: (p: Params) => Tensor) => {
          const params = promptEncoderParams(base, { numVirtualTokens: P, kind: 'lstm', hidden: h, seed });
          const y = encode(params);
          const rng = new Rng(seed ^ 0x5bd1e995);
          const r = tensor(Array.from({ length: y.size }, () => rng.normal()), y.shape, { dtype });
          backward(sum(mul(y, r)));
          const grads = new Map<string, number[]>();
          for (const [name, t] of params) grads.set(name, plus0(await t.grad!.data()));
          const out = { y: plus0(await y.data()), grads, params };
          return out;
        };
        const batched = await run((p) => encodePrompt(p, 'lstm', h));
        const cellwise = await run((p) => reference(p, h));
        expect([...batched.grads.keys()]).toEqual([...cellwise.grads.keys()]);
        const eps = dtype === 'f32' ? 2 ** -24 : 2 ** -53;
        const worstOf = (a: number[], b: number[]) => {
          expect(a.length).toBe(b.length);
          const scale = Math.max(1e-30, ...b.map(Math.abs));
          return Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!))) / (scale * eps);
        };
        const w = [worstOf(batched.y, cellwise.y), ...[...batched.grads].map(([name, g]) => worstOf(g, cellwise.grads.get(name)!))];
        // the fused scan rounds each stored value once where the composition rounds after every op, and the
        // differences pass through up to 2 layers × 6 steps of recurrence forward and back: 400 random cases gave at
        // most 132 units of the dtype's rounding of each tensor's largest value (a wrong gate or step is ~2^20 units)
        for (const [i, x] of w.entries()) expect(x, `${i === 0 ? 'output' : [...batched.grads.keys()][i - 1]} (${dtype}, P ${P}, h ${h})`).toBeLessThanOrEqual(1024);
        if (dtype === 'f64') {
          const want = (await plain(batched.params, h)).flat();
          batched.y.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-12 * (1 + Math.abs(want[i]!))));
        }
        model.dispose();
      }), { numRuns: 40 });
  });
});
