/** Small pieces both models use: linear layers in HF's two weight layouts, activations, id/mask tensors. */
import type { FloatDType } from '../autograd/dtype.js';
import { tensor } from '../autograd/create.js';
import { gelu, linear as linearOp, relu } from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import type { Activation } from '../io/config.js';
import { wrap } from '../autograd/op.js';

/** HF Conv1D (GPT-2): weight stored [in, out]; x (…, in) → (…, out). */
export const conv1d = (x: Tensor, weight: Tensor, bias: Tensor): Tensor => linearOp(x, weight, bias);

/** nn.Linear (BERT): weight stored [out, in]; x (…, in) → (…, out). */
export const linear = (x: Tensor, weight: Tensor, bias: Tensor): Tensor => linearOp(x, weight, bias, { transW: true });

export function activate(x: Tensor, act: Activation): Tensor {
  return act === 'relu' ? relu(x) : gelu(x, act === 'gelu_tanh' ? 'tanh' : 'erf');
}

/** (B, T) i32 with row values offset, offset + 1, … (HF's default position ids). */
export function arangeIds(like: Tensor, B: number, T: number, offset: number): Tensor {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ids[b * T + t] = offset + t;
  return tensor(ids, [B, T], { backend: like.backend, dtype: 'i32' });
}

/** (B, T) filled with `value` in dtype. */
export function filled(like: Tensor, shape: [number, number], value: number, dtype: 'i32' | FloatDType): Tensor {
  return tensor(new Float64Array(shape[0] * shape[1]).fill(value), shape, { backend: like.backend, dtype });
}

/** A tensor on x's backend in the float dtype `dtype` (masks arrive as i32 or f32 from users). */
export function castTo(x: Tensor, dtype: FloatDType): Tensor {
  if (x.dtype === dtype) return x;
  return wrap(x.backend, x.backend.cast(x.storage, x.size, x.dtype, dtype), x.shape, dtype);
}

/** Bad input to a model's forward or generate (shapes, dtypes, ranges); the message is one line naming the input. */
export class ModelInputError extends Error {
  override name = 'ModelInputError';
}

/** Throws a ModelInputError unless `t` has shape `shape`. */
export function expectShape(what: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ModelInputError(`${what} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}
