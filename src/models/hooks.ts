import type { Tensor } from '../autograd/tensor.js';

/**
 * The points where a model lets a PEFT method in: the input, each layer's K/V, each layer's hidden state. Models
 * call these and know nothing else about PEFT; a method (src/peft) is a value that supplies them. Absent hooks
 * cost nothing.
 */

/** What the input hook sees and may rewrite: the sequence as it enters the first layer. */
export interface ModelInput {
  /** (B, T, D) token embeddings only — before position (and token-type) embeddings are added. */
  embeds: Tensor;
  /** (B, T) i32 token ids, or null once rewritten (virtual tokens have no id). */
  ids: Tensor | null;
  /** (B, T) f32/f64 1 = attend, 0 = padding. */
  attentionMask: Tensor;
  /** (B, T) i32 position ids (GPT-2 and BERT add learned position embeddings at these). */
  positionIds: Tensor;
  /** (B, T) i32 BERT segment ids (absent for GPT-2). */
  tokenTypeIds?: Tensor;
  /** (B, T) i32 labels for token-level losses; virtual positions get −100. */
  labels?: Tensor;
}

/** Per-layer keys/values as attention uses them, and the mask over those key positions. */
export interface LayerKV {
  /** (B, H, S, Dh) */
  keys: Tensor;
  /** (B, H, S, Dh) */
  values: Tensor;
  /** (B, S) 1 = attend — extended together with keys when a prefix is added. */
  attentionMask: Tensor;
}

export interface ModelHooks {
  /** Rewrites the input sequence (prompt tuning, P-tuning: virtual tokens anywhere). */
  input?(x: ModelInput): ModelInput;
  /**
   * Rewrites one layer's keys/values before attention (prefix tuning, P-tuning v2). Added key positions are
   * seen by every query; causal masking applies to the original positions only.
   */
  kv?(layer: number, kv: LayerKV): LayerKV;
  /**
   * Rewrites the residual stream entering block `layer` (1 ≤ layer < L; what enters block 0 is the input hook's).
   * h: (B, T, D) holds sequence positions past … past + T − 1, where past = positions already in a KV cache.
   * GPT-2 and BART's decoder call it (BART: the output of decoder layer `layer` − 1, after its final layer norm);
   * BERT and BART's encoder do not.
   */
  hidden?(layer: number, h: Tensor, past: number): Tensor;
  /** Key positions a kv hook adds in front at every layer (GPT-2 and BERT position ids start after them, as HF). */
  kvPrefixLength?(): number;
  /**
   * Virtual tokens the input hook puts in front of the sequence. The input hook runs once, on the first pass
   * (with a KV cache, later passes feed only new tokens), so a generator numbers later positions after them.
   */
  inputPrefixLength?(): number;
  /**
   * Sees one layer's attention probabilities, (B, H, T, S): after the mask and softmax (and dropout, in training),
   * key positions a kv hook added first. Not PEFT: an observer for analysis (which keys a query reads); what it
   * does with the tensor cannot change the pass (it gets the tensor attention goes on with).
   */
  attentionProbs?(layer: number, probs: Tensor): void;
}
