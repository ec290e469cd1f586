/**
 * BERT as Hugging Face's BertModel computes it (transformers/models/bert/modeling_bert.py), with its three
 * fine-tuning heads:
 *
 *   h₀ = dropout(LayerNorm(word[ids] + token_type[types] + position[positions]))
 *   layer: a = LayerNorm(h + dropout(output.dense(attn(h))));  h = LayerNorm(a + dropout(output.dense(act(intermediate.dense(a)))))
 *   pooled = tanh(pooler.dense(h[:, 0]))
 *   masked-lm:  logits = LayerNorm(act(transform.dense(h))) @ wordᵀ + cls.predictions.bias
 *   sequence-classification:  logits = classifier(dropout(pooled))     token-classification: classifier(dropout(h))
 *
 * nn.Linear weights are stored [out, in] (x @ Wᵀ + b). Parameters carry HF's head-model names (`bert.…`,
 * `cls.predictions.…`, `classifier.…`); checkpoints may drop the `bert.` prefix or use the old LayerNorm
 * `gamma`/`beta` names. A head absent from a checkpoint (a new classifier) is initialized as HF does.
 */
import type { Backend } from '../autograd/backend.js';
import type { FloatDType } from '../autograd/dtype.js';
import {
  abs, add, crossEntropy, embedding, exp, layernorm, log, matmul, mean, mul, narrow, relu, reshape, square, sub, tanh,
} from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import type { BertConfig } from '../io/config.js';
import { DropoutSeeds, attention, mergeHeads, splitHeads } from './attention.js';
import {
  type Checkpoint, type KeyRules, type LoadOptions, type LoadReport, type SavedCheckpoint,
  checkpointFromSafetensors, matchCheckpoint, saveParams,
} from './checkpoint.js';
import { activate, arangeIds, castTo, checkModelInput, expectShape, filled, linear, rowsAt } from './common.js';
import type { Model, ModelDims } from './model.js';
import type { ModelHooks, ModelInput } from './hooks.js';
import { type ParamSpec, type Params, type Placement, buildParams, spec } from './params.js';

/** BertModel (with pooler), BertForMaskedLM, BertForSequenceClassification, BertForTokenClassification. */
export type BertHead = 'base' | 'masked-lm' | 'sequence-classification' | 'token-classification';

/** HF builds the pooler only for BertModel and sequence classification. */
export const hasPooler = (head: BertHead) => head === 'base' || head === 'sequence-classification';

export interface BertInput {
  /** (B, T) i32 token ids. */
  ids: Tensor;
  /** (B, T) 1 = attend, 0 = padding; default all ones. */
  attentionMask?: Tensor;
  /** (B, T) i32 segment ids; default zeros. */
  tokenTypeIds?: Tensor;
  /** (B, T) i32; default kvPrefixLength + (0, …, T−1) (HF offsets positions by past_key_values' length). */
  positionIds?: Tensor;
  /**
   * masked-lm and token-classification: (B, T) i32, −100 ignored. sequence-classification: (B) i32 classes,
   * (B) floats for regression (num_labels 1), or (B, num_labels) 0/1 floats for multi-label.
   */
  labels?: Tensor;
  /**
   * masked-lm and token-classification: (B) positions (in the sequence after the input hook); the head runs only at
   * position logitsAt[b] of row b and logits are (B, 1, ·) — for a reader of one position (a verbalizer at [MASK]).
   * Not with labels.
   */
  logitsAt?: Int32Array;
  /**
   * base and sequence-classification: the last layer runs its queries, attention output, feed-forward and layer
   * norms only at position 0, the row the pooler reads (its keys and values still cover every position), and
   * `hidden` is (B, 1, D). `pooled`, `logits` and `loss` are the full pass's: in evaluation the same bits; in
   * training the last layer's dropout masks are drawn over the rows it computes, so they are other draws of the same
   * distribution. A 4-layer model's step does about a fifth less work. The attention-probs observer then sees
   * (B, H, 1, S) in the last layer.
   */
  poolerOnly?: boolean;
  hooks?: ModelHooks;
  train?: boolean;
  seed?: number;
}

export interface BertOutput {
  /** (B, T, D) last layer. */
  hidden: Tensor;
  /** (B, D) tanh(dense(h[:, 0])), for heads with a pooler. */
  pooled?: Tensor;
  /** (B, T, V) masked-lm; (B, num_labels) sequence-classification; (B, T, num_labels) token-classification. */
  logits?: Tensor;
  loss?: Tensor;
}

export function bertParamSpecs(c: BertConfig, head: BertHead): ParamSpec[] {
  const { hiddenSize: D, intermediateSize: I, initializerRange: std } = c;
  const e = 'bert.embeddings';
  const specs = [
    spec.normal(`${e}.word_embeddings.weight`, [c.vocabSize, D], std, c.padTokenId ?? undefined),
    spec.normal(`${e}.position_embeddings.weight`, [c.maxPositionEmbeddings, D], std),
    spec.normal(`${e}.token_type_embeddings.weight`, [c.typeVocabSize, D], std),
    ...spec.layerNorm(`${e}.LayerNorm`, D),
  ];
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const L = `bert.encoder.layer.${l}`;
    specs.push(
      ...spec.linear(`${L}.attention.self.query`, [D, D], D, std),
      ...spec.linear(`${L}.attention.self.key`, [D, D], D, std),
      ...spec.linear(`${L}.attention.self.value`, [D, D], D, std),
      ...spec.linear(`${L}.attention.output.dense`, [D, D], D, std),
      ...spec.layerNorm(`${L}.attention.output.LayerNorm`, D),
      ...spec.linear(`${L}.intermediate.dense`, [I, D], I, std),
      ...spec.linear(`${L}.output.dense`, [D, I], D, std),
      ...spec.layerNorm(`${L}.output.LayerNorm`, D),
    );
  }
  if (hasPooler(head)) specs.push(...spec.linear('bert.pooler.dense', [D, D], D, std));
  if (head === 'masked-lm') {
    specs.push(...spec.linear('cls.predictions.transform.dense', [D, D], D, std), ...spec.layerNorm('cls.predictions.transform.LayerNorm', D));
    if (!c.tieWordEmbeddings) specs.push(spec.normal('cls.predictions.decoder.weight', [c.vocabSize, D], std));
    specs.push(spec.zeros('cls.predictions.bias', [c.vocabSize]));
  }
  if (head === 'sequence-classification' || head === 'token-classification') {
    specs.push(...spec.linear('classifier', [c.numLabels, D], c.numLabels, std));
  }
  return specs;
}

/** Checkpoint keys of any BERT head model: other heads' tensors and buffers are skipped, old names mapped. */
export function bertKeyRules(c: BertConfig, head: BertHead): KeyRules {
  return {
    model: 'bert',
    target(key, keys) {
      let name = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      if (/^(embeddings|encoder|pooler)\./.test(name)) name = `bert.${name}`;
      if (name === 'bert.embeddings.position_ids' || name === 'bert.embeddings.token_type_ids') return { skip: 'buffer' };
      if (name.startsWith('cls.seq_relationship.')) return { skip: 'next-sentence head (BertForPreTraining)' };
      if (name.startsWith('bert.pooler.') && !hasPooler(head)) return { skip: `no pooler in the ${head} model` };
      if (name.startsWith('cls.predictions.') && head !== 'masked-lm') return { skip: 'masked-lm head' };
      if (name.startsWith('classifier.') && head !== 'sequence-classification' && head !== 'token-classification') {
        return { skip: 'classification head' };
      }
      if (name === 'cls.predictions.decoder.weight' && c.tieWordEmbeddings) {
        return { skip: 'tied to bert.embeddings.word_embeddings.weight', shape: [c.vocabSize, c.hiddenSize] };
      }
      if (name === 'cls.predictions.decoder.bias') {
        // the decoder's bias is tied to cls.predictions.bias; older checkpoints store only one of the two
        return keys.has('cls.predictions.bias') ? { skip: 'tied to cls.predictions.bias', shape: [c.vocabSize] } : { param: 'cls.predictions.bias' };
      }
      return { param: name };
    },
    optional: (name) => !name.startsWith('bert.embeddings.') && !name.startsWith('bert.encoder.'),
  };
}

export interface BertOptions extends Placement { head?: BertHead; seed?: number }

export class Bert implements Model<BertInput, BertOutput> {
  loadReport?: LoadReport;

  constructor(readonly config: BertConfig, readonly head: BertHead, readonly params: Params) {}

  static init(config: BertConfig, o: BertOptions = {}): Bert {
    const head = o.head ?? 'base';
    return new Bert(config, head, buildParams(bertParamSpecs(config, head), o.seed ?? 0, o));
  }

  /** From an HF checkpoint; a head the checkpoint lacks is initialized from `seed` (an error with `strict`). */
  static load(config: BertConfig, source: Checkpoint | Uint8Array, o: BertOptions & LoadOptions = {}): Bert {
    const head = o.head ?? 'base';
    const checkpoint = source instanceof Uint8Array ? checkpointFromSafetensors(source) : source;
    const specs = bertParamSpecs(config, head);
    const { values, report } = matchCheckpoint(specs, checkpoint, bertKeyRules(config, head), o);
    const model = new Bert(config, head, buildParams(specs, o.seed ?? 0, o, values));
    model.loadReport = report;
    return model;
  }

  /** HF's head-model layout (`bert.`-prefixed backbone, `cls.`/`classifier.` heads). */
  save(): Promise<SavedCheckpoint> { return saveParams(this.params, (name) => name); }

  get dims(): ModelDims {
    const c = this.config;
    return { family: 'bert', layers: c.numHiddenLayers, heads: c.numAttentionHeads, hidden: c.hiddenSize, vocabSize: c.vocabSize };
  }
  get wordEmbeddings(): Tensor { return this.params.tensor('bert.embeddings.word_embeddings.weight'); }
  get backend(): Backend { return this.params.tensor('bert.embeddings.word_embeddings.weight').backend; }
  get dtype(): FloatDType { return this.params.tensor('bert.embeddings.word_embeddings.weight').dtype as FloatDType; }

  forward(input: BertInput): BertOutput {
    const c = this.config;
    const p = (name: string) => this.params.tensor(name);
    const { ids, hooks } = input;
    const offset = hooks?.kvPrefixLength?.() ?? 0;
    checkModelInput({ model: 'bert', vocabSize: c.vocabSize, maxPositions: c.maxPositionEmbeddings, positionsKey: 'max_position_embeddings',
      typeVocabSize: c.typeVocabSize }, input, offset, hooks?.input ? hooks.inputPrefixLength?.() ?? 0 : 0);
    const [B, T0] = ids.shape;
    const drop = new DropoutSeeds(input.train ?? false, input.seed ?? 0);
    let x: ModelInput = {
      // HF: nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id) — the [PAD] row never trains
      embeds: embedding(p('bert.embeddings.word_embeddings.weight'), ids, c.padTokenId ?? undefined),
      ids,
      attentionMask: input.attentionMask ? castTo(input.attentionMask, this.dtype) : filled(ids, [B, T0], 1, this.dtype),
      positionIds: input.positionIds ?? arangeIds(ids, B, T0, offset),
      tokenTypeIds: input.tokenTypeIds ?? filled(ids, [B, T0], 0, 'i32'),
      labels: this.head === 'sequence-classification' ? undefined : input.labels,
    };
    for (const [what, t] of [['attentionMask', x.attentionMask], ['positionIds', x.positionIds], ['tokenTypeIds', x.tokenTypeIds!]] as const) {
      expectShape(`bert: ${what}`, t, [B, T0]);
    }
    if (hooks?.input) x = hooks.input(x);
    const T = x.embeds.shape[1];
    expectShape('bert: embeds after the input hook', x.embeds, [B, T, c.hiddenSize]);
    for (const [what, t] of [['attentionMask', x.attentionMask], ['positionIds', x.positionIds], ['tokenTypeIds', x.tokenTypeIds!]] as const) {
      expectShape(`bert: ${what} after the input hook`, t, [B, T]);
    }

    const e = 'bert.embeddings';
    const summed = add(add(x.embeds, embedding(p(`${e}.token_type_embeddings.weight`), x.tokenTypeIds!)),
      embedding(p(`${e}.position_embeddings.weight`), x.positionIds));
    let h = drop.apply(layernorm(summed, p(`${e}.LayerNorm.weight`), p(`${e}.LayerNorm.bias`), c.layerNormEps), c.hiddenDropoutProb);
    const keyMask = castTo(x.attentionMask, this.dtype);
    if (input.poolerOnly && !hasPooler(this.head)) throw new Error(`bert: poolerOnly is for the heads with a pooler (base, sequence-classification), not ${this.head}`);
    const L = c.numHiddenLayers;
    for (let l = 0; l < L; l++) h = this.layer(l, h, keyMask, drop, hooks, input.poolerOnly === true && l === L - 1);

    const out: BertOutput = { hidden: h };
    if (hasPooler(this.head)) {
      const first = reshape(narrow(h, 1, 0, 1), [B, c.hiddenSize]);
      out.pooled = tanh(linear(first, p('bert.pooler.dense.weight'), p('bert.pooler.dense.bias')));
    }
    const classifierDrop = c.classifierDropout ?? c.hiddenDropoutProb;
    const classify = (t: Tensor) => linear(drop.apply(t, classifierDrop), p('classifier.weight'), p('classifier.bias'));
    if (input.logitsAt && (this.head === 'base' || this.head === 'sequence-classification')) {
      throw new Error(`bert: logitsAt reads a per-position head (masked-lm, token-classification), not ${this.head}`);
    }
    if (input.logitsAt && input.labels) throw new Error('bert: logitsAt computes logits at one position per row; it takes no labels');
    const at = (t: Tensor) => (input.logitsAt ? rowsAt(t, input.logitsAt, 'bert') : t);
    switch (this.head) {
      case 'base': return out;
      case 'masked-lm': out.logits = this.mlmHead(at(h)); break;
      case 'sequence-classification': out.logits = classify(out.pooled!); break;
      case 'token-classification': out.logits = classify(at(h)); break;
    }
    const labels = this.head === 'sequence-classification' ? input.labels : x.labels;
    if (labels) out.loss = this.loss(out.logits!, labels);
    return out;
  }

  /**
   * sequence-classification's head alone, in evaluation: classifier(pooled) for pooled vectors (B, D) — the logits
   * forward computes from the same pooled vectors (no dropout outside training), bit for bit. For a reader that keeps
   * the pooled vectors of a body that does not change (test/eval-pooled-cache.test.ts).
   */
  classify(pooled: Tensor): Tensor {
    if (this.head !== 'sequence-classification') throw new Error(`bert: classify is the sequence-classification head's, not ${this.head}'s`);
    expectShape('bert: pooled', pooled, [pooled.shape[0], this.config.hiddenSize]);
    return linear(pooled, this.params.tensor('classifier.weight'), this.params.tensor('classifier.bias'));
  }

  /** One post-LN encoder layer; h: (B, T, D), keyMask: (B, S). `firstOnly`: queries and the rest at position 0 only, (B, 1, D) out. */
  private layer(l: number, h: Tensor, keyMask: Tensor, drop: DropoutSeeds, hooks: ModelHooks | undefined, firstOnly: boolean): Tensor {
    const c = this.config;
    const L = `bert.encoder.layer.${l}`;
    const dense = (t: Tensor, name: string) => linear(t, this.params.tensor(`${L}.${name}.weight`), this.params.tensor(`${L}.${name}.bias`));
    const norm = (t: Tensor, name: string) =>
      layernorm(t, this.params.tensor(`${L}.${name}.weight`), this.params.tensor(`${L}.${name}.bias`), c.layerNormEps);
    const heads = c.numAttentionHeads;
    const q = firstOnly ? narrow(h, 1, 0, 1) : h;
    const context = attention({
      layer: l,
      queries: splitHeads(dense(q, 'attention.self.query'), heads),
      keys: splitHeads(dense(h, 'attention.self.key'), heads),
      values: splitHeads(dense(h, 'attention.self.value'), heads),
      keyMask, causal: false, hooks,
      scale: 1 / Math.sqrt(c.hiddenSize / heads),
      dropout: { p: c.attentionProbsDropoutProb, seeds: drop },
    });
    const a = norm(add(drop.apply(dense(mergeHeads(context), 'attention.output.dense'), c.hiddenDropoutProb), q), 'attention.output.LayerNorm');
    const inner = activate(dense(a, 'intermediate.dense'), c.activation);
    return norm(add(drop.apply(dense(inner, 'output.dense'), c.hiddenDropoutProb), a), 'output.LayerNorm');
  }

  /** BertOnlyMLMHead: (B, T, D) → (B, T, V). */
  private mlmHead(h: Tensor): Tensor {
    const p = (name: string) => this.params.tensor(`cls.predictions.${name}`);
    const t = activate(linear(h, p('transform.dense.weight'), p('transform.dense.bias')), this.config.activation);
    const normed = layernorm(t, p('transform.LayerNorm.weight'), p('transform.LayerNorm.bias'), this.config.layerNormEps);
    const decoder = this.config.tieWordEmbeddings ? this.params.tensor('bert.embeddings.word_embeddings.weight') : p('decoder.weight');
    return add(matmul(normed, decoder, { transB: true }), p('bias'));
  }

  /** HF's loss per head and problem type. */
  private loss(logits: Tensor, labels: Tensor): Tensor {
    if (this.head !== 'sequence-classification') return crossEntropy(logits, labels);
    const n = this.config.numLabels;
    const problem = this.config.problemType ?? (n === 1 ? 'regression' : labels.dtype === 'i32' ? 'single_label_classification' : 'multi_label_classification');
    if (problem === 'regression') {
      // MSELoss on logits.squeeze() vs labels.squeeze() (n = 1) or (B, n) vs (B, n)
      const target = castTo(labels, this.dtype);
      return mean(square(sub(n === 1 ? reshape(logits, [logits.shape[0]]) : logits, reshape(target, n === 1 ? [logits.shape[0]] : logits.shape))));
    }
    if (problem === 'single_label_classification') return crossEntropy(logits, labels);
    // BCEWithLogitsLoss: mean(max(x, 0) − x·y + log(1 + exp(−|x|)))
    const y = castTo(labels, this.dtype);
    return mean(add(sub(relu(logits), mul(logits, y)), log(add(exp(mul(abs(logits), -1)), 1))));
  }

  dispose(): void { this.params.dispose(); }
}
