/**
 * P-tuning's prompt encoder (HF PEFT's PromptEncoder, same parameter names): the P virtual-token embeddings
 * pass through a 2-layer bidirectional LSTM and an MLP head (reparameterisation "LSTM"), or through an MLP
 * only ("MLP"), so the virtual tokens are coupled rather than free. Output (P, D).
 */
import { add, concat, embedding, lstmScan, matmul, relu, reshape } from '../autograd/functions.js';
import { tensor } from '../autograd/create.js';
import type { Tensor } from '../autograd/tensor.js';
import { Rng } from '../kernels/rng.js';
import type { Params } from '../models/params.js';
import type { BaseModel } from './method.js';
import { linear, linearParams, param, paramsOf } from './tables.js';

export type EncoderKind = 'lstm' | 'mlp';

export interface PromptEncoderConfig { numVirtualTokens: number; kind: EncoderKind; hidden: number; seed?: number }

export function promptEncoderParams(base: BaseModel, c: PromptEncoderConfig): Params {
  const { numVirtualTokens: P, hidden: h } = c;
  const D = base.hidden;
  const rng = new Rng(c.seed ?? 0);
  const list: Tensor[] = [param(base, 'embedding.weight', [P, D], Float64Array.from({ length: P * D }, () => rng.normal()))];
  if (c.kind === 'lstm') {
    // PyTorch's LSTM init: uniform(±1/√h) for every weight and bias
    const u = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1 / Math.sqrt(h), 1 / Math.sqrt(h)));
    for (let layer = 0; layer < 2; layer++) {
      const inp = layer === 0 ? D : 2 * h;
      for (const dir of ['', '_reverse']) {
        list.push(
          param(base, `lstm_head.weight_ih_l${layer}${dir}`, [4 * h, inp], u(4 * h * inp)),
          param(base, `lstm_head.weight_hh_l${layer}${dir}`, [4 * h, h], u(4 * h * h)),
          param(base, `lstm_head.bias_ih_l${layer}${dir}`, [4 * h], u(4 * h)),
          param(base, `lstm_head.bias_hh_l${layer}${dir}`, [4 * h], u(4 * h)),
        );
      }
    }
    list.push(...linearParams(base, 'mlp_head.0', 2 * h, 2 * h, rng), ...linearParams(base, 'mlp_head.2', D, 2 * h, rng));
  } else {
    list.push(...linearParams(base, 'mlp_head.0', h, D, rng), ...linearParams(base, 'mlp_head.2', h, h, rng),
      ...linearParams(base, 'mlp_head.4', D, h, rng));
  }
  return paramsOf(list);
}

/**
 * One bidirectional LSTM layer over the rows of x (T, I) → (T, 2h): [forward states | reverse states] per row.
 * Each direction's input products x Wᵢₕᵀ + bᵢₕ are one matmul over all T rows, and both directions' recurrences
 * are one lstm_scan (N = 2: one launch for all T steps, as torch's fused nn.LSTM; ~15 small ops a step before, and
 * the per-op cost, not the arithmetic, is what an encoder of 10 rows paid). The arithmetic is lstmCell's:
 * gates = (x Wᵢₕᵀ + bᵢₕ) + (h Wₕₕᵀ + bₕₕ), PyTorch's gate order i, f, g, o (test/peft-prompt-encoder.test.ts).
 */
function lstmLayer(params: Params, x: Tensor, layer: number, h: number): Tensor {
  const w = (n: string, reverse: boolean) => params.tensor(`lstm_head.${n}_l${layer}${reverse ? '_reverse' : ''}`);
  const T = x.shape[0];
  // the reverse direction reads its rows last to first: one gather puts step s of both directions in row s
  const stepRows = Int32Array.from({ length: 2 * T }, (_, k) => (k < T ? k : 3 * T - 1 - k));
  const inputs = reshape(embedding(concat([
    add(matmul(x, w('weight_ih', false), { transB: true }), w('bias_ih', false)),
    add(matmul(x, w('weight_ih', true), { transB: true }), w('bias_ih', true)),
  ], 0), tensor(stepRows, [2 * T], { backend: x.backend, dtype: 'i32' })), [2, 1, T, 4 * h]);
  const wHh = reshape(concat([w('weight_hh', false), w('weight_hh', true)], 0), [2, 4 * h, h]);
  const bHh = reshape(concat([w('bias_hh', false), w('bias_hh', true)], 0), [2, 4 * h]);
  // (2, 1, T, h) by step → rows (t, direction): the forward state of step t and the reverse state of step T − 1 − t
  const outRows = Int32Array.from({ length: 2 * T }, (_, k) => (k % 2 === 0 ? k >> 1 : 2 * T - 1 - (k >> 1)));
  const all = reshape(lstmScan(inputs, wHh, bHh), [2 * T, h]);
  return reshape(embedding(all, tensor(outRows, [2 * T], { backend: x.backend, dtype: 'i32' })), [T, 2 * h]);
}

/** The encoder's output (P, D). */
export function encodePrompt(params: Params, kind: EncoderKind, hidden: number): Tensor {
  const x = params.tensor('embedding.weight');
  if (kind === 'mlp') {
    return linear(params, 'mlp_head.4', relu(linear(params, 'mlp_head.2', relu(linear(params, 'mlp_head.0', x)))));
  }
  let seq = x;
  for (let layer = 0; layer < 2; layer++) seq = lstmLayer(params, seq, layer, hidden);
  return linear(params, 'mlp_head.2', relu(linear(params, 'mlp_head.0', seq)));
}
