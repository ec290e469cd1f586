/** Small pieces both models use: linear layers in HF's two weight layouts, activations, id/mask tensors. */
import type { FloatDType } from '../autograd/dtype.js';
import { tensor } from '../autograd/create.js';
import { embedding, gelu, linear as linearOp, relu, reshape } from '../autograd/functions.js';
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
  /** Which input is wrong ('ids', 'positionIds', …), when one is. */
  constructor(message: string, readonly input?: string) { super(message); }
}

/** Throws a ModelInputError unless `t` has shape `shape`. */
export function expectShape(what: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ModelInputError(`${what} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}

/** What a model accepts: its vocabulary, position table and segment table sizes, named as in its config. */
export interface InputLimits {
  model: 'gpt2' | 'bert';
  vocabSize: number;
  maxPositions: number;
  positionsKey: 'n_positions' | 'max_position_embeddings';
  typeVocabSize?: number;
}

/** An i32 input's values when the host has them (made from numbers, or living on the CPU backend). */
function hostValues(t: Tensor): ArrayLike<number> | null {
  if (t.hostInts) return t.hostInts;
  return t.backend.name === 'cpu' ? t.dataSync() : null;
}

function firstOutside(values: ArrayLike<number>, hi: number): number {
  for (let i = 0; i < values.length; i++) if (!(values[i] >= 0 && values[i] < hi)) return i;
  return -1;
}

/**
 * The one check of a forward's ids, positions and segment ids, before any kernel runs, with the same text on
 * every backend: ids within the vocabulary, every position the model will embed — the input's own, shifted by
 * `shift` virtual tokens in front, or `firstPosition`… when none are given — below the position table's size.
 */
export function checkModelInput(l: InputLimits, input: { ids: Tensor; positionIds?: Tensor; tokenTypeIds?: Tensor },
  firstPosition: number, shift: number): void {
  const { ids } = input;
  if (ids.rank !== 2 || ids.dtype !== 'i32') throw new ModelInputError(`${l.model}: ids must be (B, T) i32, got ${ids.describe()}`, 'ids');
  const [B, T] = ids.shape;
  const at = (i: number) => `[${Math.floor(i / T)}, ${i % T}]`;
  const idValues = hostValues(ids);
  const badId = idValues ? firstOutside(idValues, l.vocabSize) : -1;
  if (badId >= 0) {
    throw new ModelInputError(`${l.model}: ids: token ${idValues![badId]} at ${at(badId)} is outside the vocabulary [0, ${l.vocabSize}) (vocab_size)`, 'ids');
  }
  const past = (last: number, where: string) => new ModelInputError(`${l.model}: positions: ${where} reaches position ${last}, past ` +
    `${l.positionsKey} ${l.maxPositions} (the model has position embeddings for 0…${l.maxPositions - 1}; virtual tokens count)`, 'positionIds');
  if (!input.positionIds) {
    const last = firstPosition + shift + T - 1;
    if (last >= l.maxPositions) throw past(last, `an input of ${T} tokens${firstPosition + shift ? ` after ${firstPosition + shift} earlier positions` : ''}`);
  } else {
    expectShape(`${l.model}: positionIds`, input.positionIds, [B, T]);
    const positions = hostValues(input.positionIds);
    if (positions) {
      const negative = firstOutside(positions, Number.POSITIVE_INFINITY);
      if (negative >= 0) throw new ModelInputError(`${l.model}: positionIds: ${positions[negative]} at ${at(negative)} is negative`, 'positionIds');
      const high = firstOutside(positions, l.maxPositions - shift);
      if (high >= 0) throw past(positions[high] + shift, `positionIds ${at(high)} = ${positions[high]}${shift ? ` + ${shift} virtual tokens` : ''}`);
    }
  }
  if (input.tokenTypeIds && l.typeVocabSize !== undefined) {
    expectShape(`${l.model}: tokenTypeIds`, input.tokenTypeIds, [B, T]);
    const types = hostValues(input.tokenTypeIds);
    const bad = types ? firstOutside(types, l.typeVocabSize) : -1;
    if (bad >= 0) throw new ModelInputError(`${l.model}: tokenTypeIds: ${types![bad]} at ${at(bad)} is outside [0, ${l.typeVocabSize}) (type_vocab_size)`, 'tokenTypeIds');
  }
}

/**
 * (B, T, D) → (B, 1, D): row b's vector at position at[b] (a gather, so gradients flow back to those positions
 * only). What a model's `logitsAt` reads its head from.
 */
export function rowsAt(h: Tensor, at: Int32Array, what: string): Tensor {
  const [B, T, D] = h.shape as [number, number, number];
  if (at.length !== B) throw new Error(`${what}: logitsAt has ${at.length} positions for ${B} rows`);
  const flat = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const t = at[b]!;
    if (!(Number.isInteger(t) && t >= 0 && t < T)) throw new Error(`${what}: logitsAt[${b}] = ${t} is outside [0, ${T})`);
    flat[b] = b * T + t;
  }
  return reshape(embedding(reshape(h, [B * T, D]), tensor(flat, [B], { backend: h.backend, dtype: 'i32' })), [B, 1, D]);
}
