/**
 * P-tuning's prompt encoder (HF PEFT's PromptEncoder, same parameter names): the P virtual-token embeddings
 * pass through a 2-layer bidirectional LSTM and an MLP head (reparameterisation "LSTM"), or through an MLP
 * only ("MLP"), so the virtual tokens are coupled rather than free. Output (P, D).
 */
import { concat, lstmCell, narrow, relu } from '../autograd/functions.js';
import { zeros } from '../autograd/create.js';
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

/** One LSTM direction over the rows of x (T, I) → (T, h). */
function lstmDirection(params: Params, x: Tensor, layer: number, reverse: boolean, h: number): Tensor {
  const sfx = `_l${layer}${reverse ? '_reverse' : ''}`;
  const w = (n: string) => params.tensor(`lstm_head.${n}${sfx}`);
  const T = x.shape[0];
  let state = { h: zeros([1, h], { backend: x.backend, dtype: x.dtype }), c: zeros([1, h], { backend: x.backend, dtype: x.dtype }) };
  const outs: Tensor[] = new Array<Tensor>(T);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    state = lstmCell(narrow(x, 0, t, 1), state.h, state.c, w('weight_ih'), w('weight_hh'), w('bias_ih'), w('bias_hh'));
    outs[t] = state.h;
  }
  return concat(outs, 0);
}

/** The encoder's output (P, D). */
export function encodePrompt(params: Params, kind: EncoderKind, hidden: number): Tensor {
  const x = params.tensor('embedding.weight');
  if (kind === 'mlp') {
    return linear(params, 'mlp_head.4', relu(linear(params, 'mlp_head.2', relu(linear(params, 'mlp_head.0', x)))));
  }
  let seq = x;
  for (let layer = 0; layer < 2; layer++) {
    seq = concat([lstmDirection(params, seq, layer, false, hidden), lstmDirection(params, seq, layer, true, hidden)], 1);
  }
  return linear(params, 'mlp_head.2', relu(linear(params, 'mlp_head.0', seq)));
}
