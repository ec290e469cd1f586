/**
 * Multi-head attention shared by GPT-2 and BERT, and the masks it needs. The per-layer K/V hook is called here,
 * so every model lets PEFT methods in at the same point with the same mask rules:
 *   - the key mask (B, S) covers every key position, including ones a hook adds;
 *   - with `causal`, query i (of T) sees key j (of S) iff j ≤ S − T + i: the S − T positions in front of the
 *     queries (a hook's prefix, a KV cache's past) are visible to every query.
 * Masked scores are set to the dtype's most negative finite value (HF's torch.finfo(dtype).min) before softmax;
 * scale, mask, softmax and dropout are one kernel (autograd/ops/attention-probs.ts).
 */
import type { FloatDType } from '../autograd/dtype.js';
import { fmt } from '../autograd/shape.js';
import { attentionProbs, dropout, matmul, permute, reshape } from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import { hash32 } from '../kernels/rng.js';
import type { ModelHooks } from './hooks.js';
import { ModelInputError, castTo } from './common.js';

export { castTo };

/** (B, T, H·Dh) → (B, H, T, Dh) */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, D] = x.shape;
  return permute(reshape(x, [B, T, heads, D / heads]), [0, 2, 1, 3]);
}

/** (B, H, T, Dh) → (B, T, H·Dh) */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, Dh] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [B, T, H * Dh]);
}

/** Dropout seeds for one forward pass: the k-th call site gets hash(seed, k), so a pass is reproducible. */
export class DropoutSeeds {
  private site = 0;
  constructor(readonly train: boolean, readonly seed: number) {}
  apply(x: Tensor, p: number): Tensor {
    const seed = this.next(p);
    return seed === null ? x : dropout(x, p, seed);
  }
  /** The next site's seed, or null when this pass drops nothing there (for kernels that fold dropout in). */
  next(p: number): number | null {
    if (!this.train || p === 0) return null;
    return hash32((this.seed >>> 0) ^ hash32(0x9e3779b9 + this.site++));
  }
}

export interface AttentionInput {
  layer: number;
  /** (B, H, T, Dh) */
  queries: Tensor;
  /** (B, H, S, Dh) */
  keys: Tensor;
  /** (B, H, S, Dh) */
  values: Tensor;
  /** (B, S) 1 = attend, 0 = padding; in the queries' float dtype. */
  keyMask: Tensor;
  causal: boolean;
  /** Multiplies qkᵀ (1/√Dh, or 1/(√Dh·(layer+1)) for GPT-2's scale_attn_by_inverse_layer_idx). */
  scale: number;
  hooks?: ModelHooks;
  /** Dropout on the attention probabilities (folded into their kernel). */
  dropout: { p: number; seeds: DropoutSeeds };
}

/** softmax(q kᵀ · scale, masked) v → (B, H, T, Dh), after the layer's K/V hook. */
export function attention(a: AttentionInput): Tensor {
  const { queries, causal } = a;
  let { keys, values, keyMask } = a;
  const [B, H, T, Dh] = queries.shape;
  if (a.hooks?.kv) {
    const rewritten = a.hooks.kv(a.layer, { keys, values, attentionMask: keyMask });
    ({ keys, values } = rewritten);
    keyMask = castTo(rewritten.attentionMask, queries.dtype as FloatDType);
  }
  const S = keys.shape[2];
  const expectKV = fmt([B, H, S, Dh]);
  if (fmt(keys.shape) !== expectKV || fmt(values.shape) !== expectKV || fmt(keyMask.shape) !== fmt([B, S])) {
    throw new ModelInputError(`attention layer ${a.layer}: keys ${fmt(keys.shape)}, values ${fmt(values.shape)} and key mask ` +
      `${fmt(keyMask.shape)} must be ${expectKV}, ${expectKV} and ${fmt([B, S])} (queries ${fmt(queries.shape)})`);
  }
  if (causal && S < T) throw new ModelInputError(`attention layer ${a.layer}: ${S} keys cannot be causal for ${T} queries`);

  // scores: (B, H, T, S) → probs = dropout(softmax(masked(scores · scale))), one kernel (attention_probs)
  const scores = matmul(queries, keys, { transB: true });
  const seed = a.dropout.seeds.next(a.dropout.p);
  const probs = attentionProbs(scores, keyMask, { scale: a.scale, causal, p: seed === null ? 0 : a.dropout.p, seed: seed ?? 0 });
  a.hooks?.attentionProbs?.(a.layer, probs);
  return matmul(probs, values);
}
