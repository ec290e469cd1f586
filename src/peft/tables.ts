/** Small shared pieces for method parameters: a Params of the method's own, and HF-style layers. */
import { tensor } from '../autograd/create.js';
import { add, matmul, tanh } from '../autograd/functions.js';
import { keep, type Tensor } from '../autograd/tensor.js';
import { Params } from '../models/params.js';
import { Rng } from '../kernels/rng.js';
import type { BaseModel } from './method.js';

/** A trainable tensor on the base model's backend and dtype, outside every scope. */
export function param(base: BaseModel, name: string, shape: number[], values: ArrayLike<number>): Tensor {
  const w = base.wordEmbeddings;
  return keep(tensor(values, shape, { backend: w.backend, dtype: w.dtype, name, requiresGrad: true }));
}

export function paramsOf(entries: Tensor[]): Params {
  const p = new Params();
  for (const t of entries) p.set(t.name!, t);
  return p;
}

/** nn.Linear's default init (Kaiming-uniform weight, uniform bias, bound 1/√fan_in) as PyTorch draws it. */
export function linearParams(base: BaseModel, prefix: string, out: number, inp: number, rng: Rng): Tensor[] {
  const bound = 1 / Math.sqrt(inp);
  const w = Array.from({ length: out * inp }, () => rng.uniform(-bound, bound));
  const b = Array.from({ length: out }, () => rng.uniform(-bound, bound));
  return [param(base, `${prefix}.weight`, [out, inp], w), param(base, `${prefix}.bias`, [out], b)];
}

/** x (…, in) @ Wᵀ + b with W stored [out, in] (nn.Linear). */
export function linear(params: Params, prefix: string, x: Tensor): Tensor {
  return add(matmul(x, params.tensor(`${prefix}.weight`), { transB: true }), params.tensor(`${prefix}.bias`));
}

/** Rows of the base model's word-embedding table (as plain values) — for prompt initialisation. */
export async function embeddingRows(base: BaseModel, ids: number[]): Promise<Float64Array> {
  const table = await base.wordEmbeddings.data();
  const D = base.hidden;
  const out = new Float64Array(ids.length * D);
  ids.forEach((id, r) => {
    if (id < 0 || id >= base.vocabSize) throw new Error(`token id ${id} outside the vocabulary [0, ${base.vocabSize})`);
    for (let d = 0; d < D; d++) out[r * D + d] = table[id * D + d];
  });
  return out;
}

/**
 * The MLP reparameterisation of a (P, width) table (Prefix-Tuning's, used by prefix and infix tuning):
 * `embedding.weight` (P, D) → Linear D→h (`transform.0`) → tanh → Linear h→width (`transform.2`), initialised from
 * `rng` in that order. `produce()` builds the (P, width) table on the tape.
 */
export function mlpTable(base: BaseModel, P: number, D: number, h: number, width: number, rng: Rng): { params: Params; produce: () => Tensor } {
  const params = paramsOf([
    param(base, 'embedding.weight', [P, D], Float64Array.from({ length: P * D }, () => rng.normal())),
    ...linearParams(base, 'transform.0', h, D, rng),
    ...linearParams(base, 'transform.2', width, h, rng),
  ]);
  const produce = () => linear(params, 'transform.2', tanh(linear(params, 'transform.0', params.tensor('embedding.weight'))));
  return { params, produce };
}
