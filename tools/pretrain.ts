/**
 * Pretraining of the embedded tiny models (assets/models/gpt2-tiny, assets/models/bert-tiny) on the shipped corpus,
 * with this engine, seeded end to end: initialization (per-tensor seeds), data order (a seeded shuffle per epoch),
 * dropout masks (seed, step) and MLM masking (seed, step). `npm run pretrain` (scripts/pretrain.mjs) bundles this file
 * and calls `main`. The data, baseline and evaluation helpers are exported for test/pretrained.test.ts.
 *
 *   GPT-2: causal LM on 128-token blocks of the corpus (documents joined by <|endoftext|>), held-out perplexity
 *          vs an add-one unigram model of the training tokens and vs the random initialization.
 *   BERT:  masked LM on [CLS] … [SEP] sequences of ≤ 128 tokens (each document cut into 126-token pieces), 15 %
 *          masking (80/10/10), held-out accuracy at masked positions vs always predicting the most frequent
 *          training token and vs the random initialization.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { add, crossEntropy, embedding, layernorm, matmul, narrow, reshape } from '../src/autograd/functions.js';
import { noGrad } from '../src/autograd/op.js';
import { type Tensor, tidy } from '../src/autograd/tensor.js';
import { hash32 } from '../src/kernels/rng.js';
import { type BackendName, releaseBackend, selectBackend } from '../src/kernels/select.js';
import { corpusDocuments, dataPath, loadBpe, loadCorpus, loadHeldoutCorpus, loadSpam, packageRoot } from '../src/data/load.js';
import {
  type Batch, IGNORE_INDEX, collateLm, maskForMlm, packBlocks, padSequences, shuffled, spamText,
} from '../src/data/datasets.js';
import { type BertConfig, type Gpt2Config, configToJson, parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { loadSafetensors, saveSafetensors } from '../src/io/node.js';
import { writeFolderAtomic } from '../src/io/atomic-folder.js';
import { Bert } from '../src/models/bert.js';
import { activate, linear } from '../src/models/common.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { Params, buildParams, spec } from '../src/models/params.js';
import { type TrainConfig, batchTensors, trainLoop } from '../src/train/trainer.js';

// ---------------------------------------------------------------------------------------------------------------
// Configurations
// ---------------------------------------------------------------------------------------------------------------

export const VOCAB_SIZE = 4096;
export const BLOCK = 128;
/** <|endoftext|> in assets/data/tokenizer/gpt2 */
export const GPT2_EOS = 4095;
/** assets/data/tokenizer/bert */
export const BERT_IDS = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 } as const;
export const BERT_SPECIAL_IDS: readonly number[] = [BERT_IDS.pad, BERT_IDS.unk, BERT_IDS.cls, BERT_IDS.sep, BERT_IDS.mask];

export const GPT2_TINY_JSON = {
  model_type: 'gpt2', architectures: ['GPT2LMHeadModel'],
  vocab_size: VOCAB_SIZE, n_positions: BLOCK, n_embd: 64, n_layer: 4, n_head: 4, n_inner: null,
  activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, layer_norm_epsilon: 1e-5,
  initializer_range: 0.02, scale_attn_weights: true, tie_word_embeddings: true,
  bos_token_id: GPT2_EOS, eos_token_id: GPT2_EOS,
} as const;

export const BERT_TINY_JSON = {
  model_type: 'bert', architectures: ['BertForMaskedLM'],
  vocab_size: VOCAB_SIZE, hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 256,
  hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: BLOCK,
  type_vocab_size: 2, layer_norm_eps: 1e-12, initializer_range: 0.02, position_embedding_type: 'absolute',
  tie_word_embeddings: true, pad_token_id: BERT_IDS.pad,
} as const;

export const gpt2TinyConfig = (initStd?: number): Gpt2Config =>
  parseGpt2Config({ ...GPT2_TINY_JSON, ...(initStd === undefined ? {} : { initializer_range: initStd }) }, 'gpt2-tiny');
export const bertTinyConfig = (initStd?: number, shape: Hyper['shape'] = {}, nsp = false): BertConfig =>
  parseBertConfig({ ...BERT_TINY_JSON, ...shape, ...(nsp ? { architectures: ['BertForPreTraining'] } : {}),
    ...(initStd === undefined ? {} : { initializer_range: initStd }) }, 'bert-tiny');

export interface Hyper {
  batchSize: number; lr: number; warmupFraction: number; weightDecay: number; clip: number;
  /** Train with the config's dropout (0.1); false trains without (the saved config keeps 0.1 for fine-tuning). */
  dropout: boolean;
  /** AdamW's second-moment decay. */
  beta2: number;
  /** The config's initializer_range (std of the normal initialization; saved in config.json). */
  initStd: number;
  /**
   * BERT: start the MLM decoder bias (`cls.predictions.bias`) at the log of the add-one unigram frequencies of the
   * training tokens, so the initial model already predicts the unigram distribution and the encoder is not pushed to
   * produce it by making every position's output the same vector (see assets/models/README.md).
   */
  logPrior: boolean;
  /**
   * BERT: next-sentence prediction through the pooler next to MLM (BertForPreTraining's two heads): [CLS] A [SEP] B
   * [SEP] with B the piece that follows A in its document or a piece of another document, half each, so [CLS] and
   * the pooler learn what a text is about — what a frozen body's classifier head reads. false: MLM only.
   */
  nsp: boolean;
  /** BERT: add the spam task's *training-split* mails (subject + body, no labels) to the pretraining text. */
  taskText: boolean;
  /** Sequence length of the NSP pairs ([CLS] A [SEP] B [SEP]); every `longEvery`-th step is a batch of single 128-token pieces. */
  pairLength: number;
  longEvery: number;
  /** BERT shape overrides (config.json keys): width, layers, heads, MLP width. */
  shape: { hidden_size?: number; num_hidden_layers?: number; num_attention_heads?: number; intermediate_size?: number };
}
export const DEFAULT_HYPER: Record<'gpt2' | 'bert', Hyper> = {
  // initializer_range 0.1 instead of HF's 0.02 (tuned for width 768): at width 64 the 0.02 init leaves GPT-2 on the
  // unigram plateau far longer (measured: mean train loss over steps 81–100 6.63 vs 6.83; memorising 16 blocks:
  // loss 0.03 vs 5.4 after 60 steps)
  gpt2: { batchSize: 8, lr: 1e-2, warmupFraction: 0.06, weightDecay: 0.01, clip: 1, dropout: true, beta2: 0.999, initStd: 0.1, logPrior: false,
    nsp: false, taskText: false, pairLength: BLOCK, longEvery: 0, shape: {} },
  // BERT: the decoder bias starts at the log unigram distribution (logPrior). Without it the encoder learns the
  // unigram answer by mapping every input to one output vector (held-out [CLS] spread ~5e-5) and stays on that
  // plateau; with it, lr 2e-3 left the plateau within 150 steps in a PyTorch replica of this setup (lr 1e-3: slower;
  // 5e-3: collapsed even with the prior). See assets/models/README.md.
  // v2 (see assets/models/README.md): + next-sentence prediction through the pooler, + the spam training split's mail
  // text, pairs of 64 tokens with every 8th step a batch of 128-token pieces (so every position trains)
  bert: { batchSize: 16, lr: 2e-3, warmupFraction: 0.06, weightDecay: 0.01, clip: 1, dropout: true, beta2: 0.999, initStd: 0.02, logPrior: true,
    nsp: true, taskText: true, pairLength: 64, longEvery: 8, shape: {} },
};

/**
 * Default step counts: gpt2-tiny trains in about 15 minutes and bert-tiny in about an hour on one core each of the
 * 2-core development machine, side by side (`--model both`, the default, runs them as two processes); measured step
 * times are in assets/models/README.md.
 */
export const DEFAULT_STEPS: Record<'gpt2' | 'bert', number> = { gpt2: 450, bert: 3000 };

// ---------------------------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------------------------

export type Encode = (text: string) => number[];

/** Documents of a text as token ids. */
export function encodeDocs(text: string, encode: Encode): number[][] {
  return corpusDocuments(text).map((d) => encode(d));
}

/** GPT-2 data: 128-token blocks of the documents joined by <|endoftext|>. */
export function gpt2Blocks(docs: readonly (readonly number[])[]): number[][] {
  return packBlocks(docs, BLOCK, GPT2_EOS);
}

/** BERT data: each document cut into pieces of ≤ 126 tokens, each wrapped as [CLS] piece [SEP]. */
export function bertSequences(docs: readonly (readonly number[])[], maxLength = BLOCK): number[][] {
  const room = maxLength - 2;
  const out: number[][] = [];
  for (const d of docs) {
    for (let i = 0; i < d.length; i += room) out.push([BERT_IDS.cls, ...d.slice(i, i + room), BERT_IDS.sep]);
  }
  return out;
}

/** Items of step `step`: epochs of a seeded shuffle (a fresh order per epoch), `batchSize` per step. */
export function epochBatcher<T>(items: readonly T[], batchSize: number, seed: number): (step: number) => T[] {
  const orders = new Map<number, T[]>();
  const order = (epoch: number) => {
    let o = orders.get(epoch);
    if (!o) { o = shuffled(items, hash32(seed ^ hash32(0x51ed + epoch))); orders.set(epoch, o); orders.delete(epoch - 2); }
    return o;
  };
  return (step) => {
    const out: T[] = [];
    for (let i = 0; i < batchSize; i++) {
      const k = step * batchSize + i;
      out.push(order(Math.floor(k / items.length))[k % items.length]!);
    }
    return out;
  };
}

export const mlmMask = (b: Batch, seed: number): Batch =>
  maskForMlm(b, { maskId: BERT_IDS.mask, vocabSize: VOCAB_SIZE, specialIds: BERT_SPECIAL_IDS, seed });

export const bertBatch = (seqs: readonly (readonly number[])[]): Batch => {
  const p = padSequences(seqs, { padId: BERT_IDS.pad });
  return { ids: p.ids, attentionMask: p.attentionMask, labels: new Int32Array(p.ids.length).fill(IGNORE_INDEX), shape: p.shape, labelShape: p.shape };
};

// ---------------------------------------------------------------------------------------------------------------
// Baselines
// ---------------------------------------------------------------------------------------------------------------

/** Token counts over sequences. */
export function tokenCounts(seqs: readonly (readonly number[])[], vocabSize = VOCAB_SIZE): Float64Array {
  const c = new Float64Array(vocabSize);
  for (const s of seqs) for (const t of s) c[t]!++;
  return c;
}

/**
 * Perplexity of an add-one smoothed unigram model (counts from training tokens) on the tokens GPT-2 is scored on:
 * every position of each block but the first.
 */
export function unigramPerplexity(counts: Float64Array, blocks: readonly (readonly number[])[]): number {
  let total = 0;
  for (const c of counts) total += c;
  const denom = total + counts.length;
  let nll = 0;
  let n = 0;
  for (const b of blocks) for (let t = 1; t < b.length; t++) { nll -= Math.log((counts[b[t]!]! + 1) / denom); n++; }
  return Math.exp(nll / n);
}

/**
 * Log add-one unigram probabilities of the maskable tokens (special tokens get the add-one floor): the MLM decoder
 * bias that makes an untrained model's prediction the unigram distribution (`Hyper.logPrior`).
 */
export function logUnigram(counts: Float64Array, exclude: readonly number[] = BERT_SPECIAL_IDS): Float32Array {
  let total = 0;
  const c = Float64Array.from(counts, (x, i) => (exclude.includes(i) ? 0 : x));
  for (const x of c) total += x;
  return Float32Array.from(c, (x) => Math.log((x + 1) / (total + c.length)));
}

/** The most frequent training token that can be masked (no special token). */
export function majorityToken(counts: Float64Array, exclude: readonly number[] = BERT_SPECIAL_IDS): number {
  let best = -1;
  for (let i = 0; i < counts.length; i++) if (!exclude.includes(i) && (best < 0 || counts[i]! > counts[best]!)) best = i;
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------------------------

export interface LmEval { perplexity: number; meanNll: number; tokens: number }

/** Held-out perplexity of GPT-2 on blocks (no dropout), token-weighted. */
export async function evalGpt2(model: Gpt2, blocks: readonly (readonly number[])[], batchSize = 16): Promise<LmEval> {
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < blocks.length; i += batchSize) {
    const b = collateLm(blocks.slice(i, i + batchSize));
    const loss = noGrad(() => tidy(() => model.forward({ ...batchTensors(b, model.backend, model.dtype) }).loss!));
    const n = b.shape[0] * (b.shape[1] - 1);
    nll += (await loss.item()) * n;
    tokens += n;
    loss.dispose();
  }
  return { perplexity: Math.exp(nll / tokens), meanNll: nll / tokens, tokens };
}

export interface MlmEval {
  /** over every selected position (80 % [MASK], 10 % random, 10 % unchanged), as BERT and HF report it */
  accuracy: number;
  majorityAccuracy: number;
  meanNll: number;
  masked: number;
  /** over the positions replaced by [MASK] only (the model cannot copy its input there) */
  maskTokenAccuracy: number;
  maskTokenMajorityAccuracy: number;
  maskTokenPositions: number;
  /**
   * How much the last layer's [CLS] vector depends on the input: the standard deviation over held-out sequences,
   * averaged over the hidden dimensions. Near 0 means every input gives the same features (a collapsed encoder).
   */
  clsSpread: number;
}

/** The held-out MLM batches: `batchSize` sequences each, masked with seed (seed, batch index). */
export function mlmEvalBatches(seqs: readonly (readonly number[])[], seed: number, batchSize = 16): Batch[] {
  const out: Batch[] = [];
  for (let i = 0, k = 0; i < seqs.length; i += batchSize, k++) out.push(mlmMask(bertBatch(seqs.slice(i, i + batchSize)), hash32(seed ^ hash32(0xe7a1 + k))));
  return out;
}

/** Accuracy of BERT's argmax at the masked positions, and of always answering `majority`. */
export async function evalBert(model: Bert, batches: readonly Batch[], majority: number): Promise<MlmEval> {
  let right = 0;
  let major = 0;
  let masked = 0;
  let nll = 0;
  let mRight = 0;
  let mMajor = 0;
  let mCount = 0;
  const V = model.config.vocabSize;
  const D = model.config.hiddenSize;
  const clsSum = new Float64Array(D);
  const clsSq = new Float64Array(D);
  let sequences = 0;
  for (const b of batches) {
    const out = noGrad(() => tidy(() => {
      const o = model.forward({ ...batchTensors(b, model.backend, model.dtype) });
      return { logits: o.logits!, loss: o.loss!, cls: narrow(o.hidden, 1, 0, 1) };
    }));
    const cls = await out.cls.data(); // (B, 1, D): only the [CLS] rows are read back
    out.cls.dispose();
    for (let r = 0; r < b.shape[0]; r++, sequences++) {
      for (let d = 0; d < D; d++) { const x = cls[r * D + d]!; clsSum[d] += x; clsSq[d] += x * x; }
    }
    const logits = await out.logits.data();
    const n = b.labels.reduce((s, l) => s + (l === IGNORE_INDEX ? 0 : 1), 0);
    if (n > 0) nll += (await out.loss.item()) * n;
    out.logits.dispose();
    out.loss.dispose();
    for (let i = 0; i < b.labels.length; i++) {
      const label = b.labels[i]!;
      if (label === IGNORE_INDEX) continue;
      let arg = 0;
      const off = i * V;
      for (let v = 1; v < V; v++) if (logits[off + v]! > logits[off + arg]!) arg = v;
      if (arg === label) right++;
      if (label === majority) major++;
      masked++;
      if (b.ids[i] === BERT_IDS.mask) {
        if (arg === label) mRight++;
        if (label === majority) mMajor++;
        mCount++;
      }
    }
  }
  return {
    accuracy: right / masked, majorityAccuracy: major / masked, meanNll: nll / masked, masked,
    maskTokenAccuracy: mRight / mCount, maskTokenMajorityAccuracy: mMajor / mCount, maskTokenPositions: mCount,
    clsSpread: clsSum.reduce((a, s, d) => a + Math.sqrt(Math.max(0, clsSq[d]! / sequences - (s / sequences) ** 2)), 0) / D,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Masked-LM loss at the masked positions only
// ---------------------------------------------------------------------------------------------------------------

/**
 * BertForMaskedLM's loss computed only where it is taken: the encoder runs on the whole batch, then the MLM head
 * (transform dense → activation → LayerNorm → tied decoder + bias, exactly as `Bert`'s masked-lm head) runs on the
 * ~15 % masked rows, gathered with `embedding` (whose backward scatters the gradient back). The same value as
 * `model.forward({labels}).loss` — test/pretrained.test.ts checks it — without the (B·T, V) logits of every other
 * position: the decoder is as costly as the 4-layer encoder here, so a step takes ~40 % less time.
 */
export function maskedLmLoss(model: Bert, b: Batch, o: { train: boolean; seed: number }): Tensor {
  if (model.head !== 'masked-lm') throw new Error('maskedLmLoss needs a masked-lm model');
  const c = model.config;
  // the encoder alone: the same parameter tensors under the 'base' head, with a constant stand-in pooler
  // (the pooler is not on the loss's path, so it gets no gradient and changes nothing)
  const body = new Params(model.params);
  const D = c.hiddenSize;
  body.set('bert.pooler.dense.weight', tensor(new Float32Array(D * D), [D, D], { backend: model.backend, dtype: model.dtype }));
  body.set('bert.pooler.dense.bias', tensor(new Float32Array(D), [D], { backend: model.backend, dtype: model.dtype }));
  const t = batchTensors(b, model.backend, model.dtype);
  const { hidden } = new Bert(c, 'base', body).forward({ ids: t.ids, attentionMask: t.attentionMask, train: o.train, seed: o.seed });
  return maskedRowsLoss(model, hidden, b);
}

/** The MLM head and its cross-entropy at the labelled rows of `hidden` (B, T, D) only (see maskedLmLoss). */
function maskedRowsLoss(model: Bert, hidden: Tensor, b: Batch): Tensor {
  const c = model.config;
  const p = (name: string) => model.params.tensor(name);
  const D = c.hiddenSize;
  const rows: number[] = [];
  const labels: number[] = [];
  b.labels.forEach((l, i) => { if (l !== IGNORE_INDEX) { rows.push(i); labels.push(l); } });
  if (rows.length === 0) { rows.push(0); labels.push(IGNORE_INDEX); }
  const [B, T] = b.shape;
  const picked = embedding(reshape(hidden, [B * T, D]), tensor(Int32Array.from(rows), [rows.length], { backend: model.backend, dtype: 'i32' }));
  const dense = activate(linear(picked, p('cls.predictions.transform.dense.weight'), p('cls.predictions.transform.dense.bias')), c.activation);
  const normed = layernorm(dense, p('cls.predictions.transform.LayerNorm.weight'), p('cls.predictions.transform.LayerNorm.bias'), c.layerNormEps);
  const decoder = c.tieWordEmbeddings ? p('bert.embeddings.word_embeddings.weight') : p('cls.predictions.decoder.weight');
  const logits = add(matmul(normed, decoder, { transB: true }), p('cls.predictions.bias'));
  return crossEntropy(logits, tensor(Int32Array.from(labels), [labels.length], { backend: model.backend, dtype: 'i32' }));
}

// ---------------------------------------------------------------------------------------------------------------
// Next-sentence prediction
// ---------------------------------------------------------------------------------------------------------------

/** A document cut into consecutive pieces of ≤ `size` tokens (the last may be shorter). */
export interface Pieces { doc: number[]; pieces: number[][] }

export function piecesOf(docs: readonly (readonly number[])[], size: number): number[][][] {
  return docs.map((d) => {
    const out: number[][] = [];
    for (let i = 0; i < d.length; i += size) out.push(d.slice(i, i + size));
    return out;
  });
}

/** An NSP batch: ids with [CLS] A [SEP] B [SEP], token types 0 for [CLS] A [SEP] and 1 for B [SEP], labels 0 = IsNext, 1 = NotNext (HF's). */
export interface PairBatch extends Batch { tokenTypes: Int32Array; nspLabels: Int32Array }

/**
 * Pairs for one step, as BERT made them: each anchor (document, piece) is A; with probability ½ B is the next
 * piece of the same document (IsNext), else a random piece of a random other document (NotNext). Anchors are the
 * pieces that have a successor, in a seeded order per epoch; B's draw is seeded by (seed, step, row).
 */
export function nspBatcher(docs: readonly (readonly number[])[], pairLength: number, batchSize: number, seed: number): (step: number) => PairBatch {
  const half = Math.floor((pairLength - 3) / 2);
  const pieces = piecesOf(docs, half);
  const anchors: [number, number][] = [];
  pieces.forEach((ps, d) => { for (let k = 0; k + 1 < ps.length; k++) anchors.push([d, k]); });
  const order = epochBatcher(anchors, batchSize, seed);
  return (step) => {
    const rows = order(step);
    const seqs: number[][] = [];
    const types: number[][] = [];
    const labels: number[] = [];
    rows.forEach(([d, k], r) => {
      const u = (salt: number) => hash32(seed ^ hash32(step * 4099 + r * 131 + salt)) / 2 ** 32;
      let b = pieces[d]![k + 1]!;
      let label = 0;
      if (u(1) >= 0.5) {
        let other = Math.floor(u(2) * (pieces.length - 1));
        if (other >= d) other++;
        const ps = pieces[other]!;
        b = ps[Math.floor(u(3) * ps.length)]!;
        label = 1;
      }
      const a = pieces[d]![k]!;
      seqs.push([BERT_IDS.cls, ...a, BERT_IDS.sep, ...b, BERT_IDS.sep]);
      types.push([...new Array<number>(a.length + 2).fill(0), ...new Array<number>(b.length + 1).fill(1)]);
      labels.push(label);
    });
    const p = padSequences(seqs, { padId: BERT_IDS.pad });
    const T = p.shape[1];
    const tokenTypes = new Int32Array(p.ids.length);
    types.forEach((t, r) => tokenTypes.set(t, r * T));
    return { ids: p.ids, attentionMask: p.attentionMask, labels: new Int32Array(p.ids.length).fill(IGNORE_INDEX), shape: p.shape,
      labelShape: p.shape, tokenTypes, nspLabels: Int32Array.from(labels) };
  };
}

/** The NSP head's parameters (BertForPreTraining's pooler and `cls.seq_relationship`), initialized as HF does. */
export function addNspHead(model: Bert, seed: number): void {
  const D = model.config.hiddenSize;
  const std = model.config.initializerRange;
  const extra = buildParams([...spec.linear('bert.pooler.dense', [D, D], D, std), ...spec.linear('cls.seq_relationship', [2, D], 2, std)],
    hash32(seed ^ 0x9001), { backend: model.backend, dtype: model.dtype });
  for (const [name, t] of extra) model.params.set(name, t);
}

/**
 * BertForPreTraining's loss: the masked-LM loss at the masked positions (as `maskedLmLoss`) plus the next-sentence
 * cross-entropy of `cls.seq_relationship(pooler(h[CLS]))`. One encoder pass for both.
 */
export function pretrainingLoss(model: Bert, b: Batch & { tokenTypes?: Int32Array; nspLabels?: Int32Array }, o: { train: boolean; seed: number }): Tensor {
  const c = model.config;
  const p = (name: string) => model.params.tensor(name);
  const t = batchTensors(b, model.backend, model.dtype);
  const [B, T] = b.shape;
  const tokenTypeIds = b.tokenTypes ? tensor(b.tokenTypes, [B, T], { backend: model.backend, dtype: 'i32' }) : undefined;
  const { hidden, pooled } = new Bert(c, 'base', model.params).forward({ ids: t.ids, attentionMask: t.attentionMask, tokenTypeIds, train: o.train, seed: o.seed });
  const mlm = maskedRowsLoss(model, hidden, b);
  if (!b.nspLabels) return mlm;
  const nsp = crossEntropy(linear(pooled!, p('cls.seq_relationship.weight'), p('cls.seq_relationship.bias')),
    tensor(b.nspLabels, [B], { backend: model.backend, dtype: 'i32' }));
  return add(mlm, nsp);
}

/** Held-out NSP accuracy (no dropout) over fixed pair batches. */
export async function evalNsp(model: Bert, batches: readonly PairBatch[]): Promise<{ accuracy: number; pairs: number }> {
  let ok = 0;
  let n = 0;
  const p = (name: string) => model.params.tensor(name);
  for (const b of batches) {
    const logits = noGrad(() => tidy(() => {
      const t = batchTensors(b, model.backend, model.dtype);
      const [B, T] = b.shape;
      const { pooled } = new Bert(model.config, 'base', model.params).forward({ ids: t.ids, attentionMask: t.attentionMask,
        tokenTypeIds: tensor(b.tokenTypes, [B, T], { backend: model.backend, dtype: 'i32' }) });
      return linear(pooled!, p('cls.seq_relationship.weight'), p('cls.seq_relationship.bias'));
    }));
    const v = await logits.data();
    logits.dispose();
    b.nspLabels.forEach((l, r) => { if ((v[2 * r + 1]! > v[2 * r]! ? 1 : 0) === l) ok++; n++; });
  }
  return { accuracy: ok / n, pairs: n };
}

// ---------------------------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------------------------

export interface RunOptions {
  steps: number;
  backend: Backend;
  seed: number;
  hyper?: Partial<Hyper>;
  log?: (line: string) => void;
  logEvery?: number;
  /** Skip held-out evaluation (benchmarks). */
  evaluate?: boolean;
  /** BERT: start from this model folder's weights (continued pretraining) instead of the random initialization. */
  initFrom?: string;
}

export interface ModelReport {
  model: 'gpt2-tiny' | 'bert-tiny';
  backend: string;
  device: string;
  seed: number;
  steps: number;
  batchSize: number;
  sequenceLength: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  /** trained with the config's dropout */
  dropout: boolean;
  beta2: number;
  initStd: number;
  /** BERT: decoder bias started at the log unigram distribution */
  logPrior?: boolean;
  parameters: number;
  trainTokensInCorpus: number;
  tokensSeen: number;
  epochs: number;
  trainSeconds: number;
  secondsPerStep: number;
  tokensPerSecond: number;
  firstLoss: number;
  finalTrainLoss: number;
  /** mean of the last 20 steps' losses */
  finalTrainLossMean20: number;
  evalSeconds?: number;
  heldout?: Record<string, number>;
  /** BERT with NSP: held-out next-sentence accuracy */
  nspHeldout?: { accuracy: number; pairs: number };
  /** BERT: the folder the run continued from, and its model.safetensors' sha256 */
  initFrom?: { dir: string; sha256: string };
  /** BERT: the objective and data options of the run */
  objective?: { nsp: boolean; taskText: boolean; pairLength: number; longEvery: number; layers: number; hidden: number; heads: number; intermediate: number };
}

const LOG_EVERY = 20;

/** trainer.ts's TrainConfig for the pretraining hyper-parameters. */
const trainConfig = (h: Hyper, steps: number, warmup: number): TrainConfig =>
  ({ steps, lr: h.lr, warmup, weightDecay: h.weightDecay, clip: h.clip, beta2: h.beta2 });

function stepLogger(name: string, tokensPerStep: number, o: RunOptions, losses: number[]) {
  const every = o.logEvery ?? LOG_EVERY;
  let last = 0;
  let lastStep = -1;
  return ({ step, loss, lr, seconds }: { step: number; loss: number; lr: number; seconds: number }) => {
    losses.push(loss);
    if ((step + 1) % every !== 0 && step !== 0 && step !== o.steps - 1) return;
    const recent = losses.slice(lastStep + 1);
    const avg = recent.reduce((a, b) => a + b, 0) / recent.length;
    const tps = ((step - lastStep) * tokensPerStep) / Math.max(1e-9, seconds - last);
    o.log?.(`[${name}] step ${String(step + 1).padStart(5)}/${o.steps}  loss ${loss.toFixed(4)} (avg ${avg.toFixed(4)})  lr ${lr.toExponential(2)}  ` +
      `${tps.toFixed(0)} tok/s  ${(((seconds - last) / (step - lastStep)) * 1000).toFixed(0)} ms/step  ${seconds.toFixed(0)} s`);
    last = seconds;
    lastStep = step;
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function pretrainGpt2(o: RunOptions): Promise<{ model: Gpt2; report: ModelReport }> {
  const h = { ...DEFAULT_HYPER.gpt2, ...o.hyper };
  const bpe = loadBpe('gpt2');
  const encode: Encode = (t) => bpe.encode(t);
  const trainDocs = encodeDocs(loadCorpus(), encode);
  const blocks = gpt2Blocks(trainDocs);
  const config = gpt2TinyConfig(h.initStd);
  const model = Gpt2.init(config, { seed: o.seed, backend: o.backend, dtype: 'f32' });
  const batchOf = epochBatcher(blocks, h.batchSize, o.seed);
  const tokensPerStep = h.batchSize * BLOCK;
  const warmup = Math.round(h.warmupFraction * o.steps);
  o.log?.(`[gpt2-tiny] ${model.params.count()} parameters, ${blocks.length} blocks of ${BLOCK} (${blocks.length * BLOCK} tokens), ` +
    `batch ${h.batchSize}, ${o.steps} steps (${((o.steps * h.batchSize) / blocks.length).toFixed(2)} epochs), lr ${h.lr}, warm-up ${warmup}, ${o.backend.describe()}`);
  const losses: number[] = [];
  const result = await trainLoop({
    trainable: model.params.trainable(), config: trainConfig(h, o.steps, warmup),
    batch: (step) => collateLm(batchOf(step)),
    loss: (b, step) => model.forward({ ...batchTensors(b, o.backend, 'f32'), train: h.dropout, seed: hash32(o.seed ^ hash32(0xd50 + step)) }).loss!,
    onStep: stepLogger('gpt2-tiny', tokensPerStep, o, losses),
  });
  const report: ModelReport = {
    model: 'gpt2-tiny', backend: o.backend.name, device: o.backend.describe(), seed: o.seed, steps: o.steps,
    batchSize: h.batchSize, sequenceLength: BLOCK, lr: h.lr, warmupSteps: warmup, weightDecay: h.weightDecay, dropout: h.dropout, beta2: h.beta2, initStd: h.initStd,
    parameters: model.params.count(), trainTokensInCorpus: blocks.length * BLOCK, tokensSeen: o.steps * tokensPerStep,
    epochs: (o.steps * h.batchSize) / blocks.length, trainSeconds: result.seconds, secondsPerStep: result.seconds / o.steps,
    tokensPerSecond: (o.steps * tokensPerStep) / result.seconds, firstLoss: result.losses[0]!,
    finalTrainLoss: result.losses[result.losses.length - 1]!, finalTrainLossMean20: mean(result.losses.slice(-20)),
  };
  if (o.evaluate ?? true) {
    const t0 = performance.now();
    const heldout = gpt2Blocks(encodeDocs(loadHeldoutCorpus(), encode));
    const trained = await evalGpt2(model, heldout);
    const random = Gpt2.init(config, { seed: o.seed, backend: o.backend, dtype: 'f32' });
    const untrained = await evalGpt2(random, heldout);
    random.dispose();
    const unigram = unigramPerplexity(tokenCounts(blocks), heldout);
    report.heldout = {
      blocks: heldout.length, tokensScored: trained.tokens, perplexity: trained.perplexity, meanNll: trained.meanNll,
      unigramPerplexity: unigram, untrainedPerplexity: untrained.perplexity,
    };
    report.evalSeconds = (performance.now() - t0) / 1000;
    o.log?.(`[gpt2-tiny] held-out perplexity ${trained.perplexity.toFixed(2)} (unigram ${unigram.toFixed(2)}, untrained ${untrained.perplexity.toFixed(2)}) ` +
      `on ${trained.tokens} tokens, ${report.evalSeconds.toFixed(0)} s`);
  }
  return { model, report };
}

export async function pretrainBert(o: RunOptions): Promise<{ model: Bert; report: ModelReport }> {
  const h = { ...DEFAULT_HYPER.bert, ...o.hyper };
  const bpe = loadBpe('bert');
  const encode: Encode = (t) => bpe.encode(t);
  const docs = encodeDocs(loadCorpus(), encode);
  // the spam task's training mails as unlabelled text (validation/test mails never: the splits are by thread)
  if (h.taskText) for (const e of loadSpam('train')) docs.push(encode(spamText(e)));
  const seqs = bertSequences(docs);
  const config = bertTinyConfig(h.initStd, h.shape, h.nsp);
  // --init-from DIR: continue from an earlier bert-tiny (its masked-LM weights; the NSP head starts fresh)
  const from = o.initFrom ? await loadSafetensors(join(o.initFrom, 'model.safetensors')) : null;
  const model = from ? Bert.load(config, from.tensors, { head: 'masked-lm', seed: o.seed, backend: o.backend, dtype: 'f32' })
    : Bert.init(config, { head: 'masked-lm', seed: o.seed, backend: o.backend, dtype: 'f32' });
  if (h.nsp) addNspHead(model, o.seed);
  if (h.logPrior && !from) model.params.assign('cls.predictions.bias', logUnigram(tokenCounts(seqs)));
  const batchOf = epochBatcher(seqs, h.batchSize, o.seed);
  const pairsOf = h.nsp ? nspBatcher(docs, h.pairLength, h.batchSize, hash32(o.seed ^ 0x7a11)) : null;
  // step → which stream: with NSP every `longEvery`-th step is a batch of 128-token single pieces (MLM only)
  const isLong = (step: number) => !pairsOf || (h.longEvery > 0 && step % h.longEvery === h.longEvery - 1);
  const longSteps = (n: number) => { let k = 0; for (let s = 0; s < n; s++) if (isLong(s)) k++; return k; };
  const warmup = Math.round(h.warmupFraction * o.steps);
  const corpusTokens = seqs.reduce((a, s) => a + s.length, 0);
  o.log?.(`[bert-tiny] ${model.params.count()} parameters (${config.numHiddenLayers} × ${config.hiddenSize}), ${seqs.length} sequences of ≤ ${BLOCK} (${corpusTokens} tokens${h.taskText ? ', with the spam training mails' : ''}), ` +
    `batch ${h.batchSize}, ${o.steps} steps (${h.nsp ? `NSP pairs of ${h.pairLength}, every ${h.longEvery}th step 128-token pieces; ` : ''}` +
    `${((longSteps(o.steps) * h.batchSize) / seqs.length).toFixed(2)} epochs of pieces), lr ${h.lr}, warm-up ${warmup}, ${o.backend.describe()}`);
  const losses: number[] = [];
  let tokensSeen = 0;
  const result = await trainLoop({
    trainable: model.params.trainable(), config: trainConfig(h, o.steps, warmup),
    batch: (step) => {
      const raw: Batch & { tokenTypes?: Int32Array; nspLabels?: Int32Array } = !pairsOf ? bertBatch(batchOf(step)) : isLong(step)
        ? bertBatch(batchOf(Math.floor(step / h.longEvery)))
        : pairsOf!(step - Math.floor(step / Math.max(1, h.longEvery)));
      const b = { ...raw, ...mlmMask(raw, hash32(o.seed ^ hash32(0x3a5c + step))) };
      tokensSeen += b.attentionMask.reduce((a, m) => a + m, 0);
      return b;
    },
    loss: (b, step) => h.nsp ? pretrainingLoss(model, b, { train: h.dropout, seed: hash32(o.seed ^ hash32(0xbe57 + step)) })
      : maskedLmLoss(model, b, { train: h.dropout, seed: hash32(o.seed ^ hash32(0xbe57 + step)) }),
    onStep: stepLogger('bert-tiny', h.batchSize * (h.nsp ? h.pairLength : BLOCK), o, losses),
  });
  const report: ModelReport = {
    model: 'bert-tiny', backend: o.backend.name, device: o.backend.describe(), seed: o.seed, steps: o.steps,
    batchSize: h.batchSize, sequenceLength: BLOCK, lr: h.lr, warmupSteps: warmup, weightDecay: h.weightDecay, dropout: h.dropout, beta2: h.beta2, initStd: h.initStd, logPrior: h.logPrior,
    ...(o.initFrom ? { initFrom: { dir: o.initFrom, sha256: sha256(readFileSync(join(o.initFrom, 'model.safetensors'))) } } : {}),
    objective: { nsp: h.nsp, taskText: h.taskText, pairLength: h.pairLength, longEvery: h.longEvery, layers: config.numHiddenLayers,
      hidden: config.hiddenSize, heads: config.numAttentionHeads, intermediate: config.intermediateSize },
    parameters: model.params.count(), trainTokensInCorpus: corpusTokens, tokensSeen,
    epochs: (o.steps * h.batchSize) / seqs.length, trainSeconds: result.seconds, secondsPerStep: result.seconds / o.steps,
    tokensPerSecond: tokensSeen / result.seconds, firstLoss: result.losses[0]!,
    finalTrainLoss: result.losses[result.losses.length - 1]!, finalTrainLossMean20: mean(result.losses.slice(-20)),
  };
  if (o.evaluate ?? true) {
    const t0 = performance.now();
    const heldout = mlmEvalBatches(bertSequences(encodeDocs(loadHeldoutCorpus(), encode)), o.seed);
    const majority = majorityToken(tokenCounts(seqs));
    const trained = await evalBert(model, heldout, majority);
    if (h.nsp) {
      const heldoutDocs = encodeDocs(loadHeldoutCorpus(), encode);
      const pairs = nspBatcher(heldoutDocs, h.pairLength, 16, 0x5eed);
      const nsp = await evalNsp(model, Array.from({ length: 24 }, (_, i) => pairs(i)));
      report.nspHeldout = nsp;
      o.log?.(`[bert-tiny] held-out next-sentence accuracy ${(100 * nsp.accuracy).toFixed(1)} % on ${nsp.pairs} pairs (chance 50 %)`);
    }
    const random = Bert.init(config, { head: 'masked-lm', seed: o.seed, backend: o.backend, dtype: 'f32' });
    const untrained = await evalBert(random, heldout, majority);
    random.dispose();
    report.heldout = {
      maskedPositions: trained.masked, mlmAccuracy: trained.accuracy, meanNll: trained.meanNll,
      majorityAccuracy: trained.majorityAccuracy, majorityToken: majority, untrainedAccuracy: untrained.accuracy,
      untrainedMeanNll: untrained.meanNll, maskTokenPositions: trained.maskTokenPositions, maskTokenAccuracy: trained.maskTokenAccuracy,
      maskTokenMajorityAccuracy: trained.maskTokenMajorityAccuracy, untrainedMaskTokenAccuracy: untrained.maskTokenAccuracy,
      clsSpread: trained.clsSpread, untrainedClsSpread: untrained.clsSpread,
    };
    report.evalSeconds = (performance.now() - t0) / 1000;
    const pc = (x: number) => `${(100 * x).toFixed(2)} %`;
    o.log?.(`[bert-tiny] held-out MLM accuracy ${pc(trained.accuracy)} (majority ${pc(trained.majorityAccuracy)}, untrained ${pc(untrained.accuracy)}) ` +
      `on ${trained.masked} selected positions; at the ${trained.maskTokenPositions} [MASK] positions ${pc(trained.maskTokenAccuracy)} ` +
      `(majority ${pc(trained.maskTokenMajorityAccuracy)}, untrained ${pc(untrained.maskTokenAccuracy)}); [CLS] spread ${trained.clsSpread.toExponential(2)} ` +
      `(untrained ${untrained.clsSpread.toExponential(2)}), ${report.evalSeconds.toFixed(0)} s`);
  }
  return { model, report };
}

// ---------------------------------------------------------------------------------------------------------------
// Writing the model folders
// ---------------------------------------------------------------------------------------------------------------

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** config.json, model.safetensors (F32, HF keys, metadata format=pt), tokenizer.json + tokenizer_config.json. */
export async function writeModelDir(dir: string, model: Gpt2 | Bert, flavor: 'gpt2' | 'bert'): Promise<{ bytes: number; sha256: string }> {
  const config = { ...configToJson(model.config), torch_dtype: 'float32' };
  const checkpoint = await model.save();
  await writeFolderAtomic(dir, async (folder) => { // the folder is replaced as one unit, never left half written
    writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    await saveSafetensors(join(folder, 'model.safetensors'), checkpoint, { format: 'pt' });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(dataPath(`tokenizer/${flavor}/${f}`), join(folder, f));
  }, ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  return { bytes: bytes.length, sha256: sha256(bytes) };
}

// ---------------------------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------------------------

export interface CliOptions {
  model: 'gpt2' | 'bert' | 'both';
  steps: number | null;
  backend: BackendName;
  seed: number;
  out: string;
  /** Measure step times only: N timed steps per model after one warm-up step; nothing is written. */
  bench: number | null;
  evaluate: boolean;
  /** Overrides of DEFAULT_HYPER (both models). */
  hyper: Partial<Hyper>;
  /** Write bert-tiny's training and held-out sequences (token ids) as JSON to this file and stop. */
  writeSequences: string | null;
  /** BERT: continue from this model folder. */
  initFrom?: string;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { model: 'both', steps: null, backend: 'cpu', seed: 0, out: join(packageRoot(), 'assets', 'models'), bench: null, evaluate: true, hyper: {}, writeSequences: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${a}: expected a non-negative integer, got ${v}`);
      return n;
    };
    if (a === '--model') {
      const m = value();
      if (m !== 'gpt2' && m !== 'bert' && m !== 'both') throw new Error(`--model: gpt2, bert or both, got ${m}`);
      o.model = m;
    } else if (a === '--steps') o.steps = int(value());
    else if (a === '--backend') {
      const b = value();
      if (b !== 'cpu' && b !== 'webgpu') throw new Error(`--backend: cpu or webgpu, got ${b}`);
      o.backend = b;
    } else if (a === '--seed') o.seed = int(value());
    else if (a === '--out') o.out = value();
    else if (a === '--bench') o.bench = int(value());
    else if (a === '--no-eval') o.evaluate = false;
    else if (a === '--write-sequences') o.writeSequences = value();
    else if (a === '--sequential') { /* handled by scripts/pretrain.mjs */ }
    else if (a === '--no-dropout') o.hyper.dropout = false;
    else if (a === '--beta2') o.hyper.beta2 = Number(value());
    else if (a === '--init-std') o.hyper.initStd = Number(value());
    else if (a === '--dropout') o.hyper.dropout = true;
    else if (a === '--log-prior') o.hyper.logPrior = true;
    else if (a === '--no-log-prior') o.hyper.logPrior = false;
    else if (a === '--batch') o.hyper.batchSize = Math.max(1, int(value()));
    else if (a === '--init-from') o.initFrom = value();
    else if (a === '--nsp') o.hyper.nsp = true;
    else if (a === '--no-nsp') o.hyper.nsp = false;
    else if (a === '--task-text') o.hyper.taskText = true;
    else if (a === '--no-task-text') o.hyper.taskText = false;
    else if (a === '--pair-length') o.hyper.pairLength = Math.min(BLOCK, Math.max(8, int(value())));
    else if (a === '--long-every') o.hyper.longEvery = int(value());
    else if (a === '--hidden' || a === '--layers' || a === '--heads' || a === '--intermediate') {
      const key = ({ '--hidden': 'hidden_size', '--layers': 'num_hidden_layers', '--heads': 'num_attention_heads', '--intermediate': 'intermediate_size' } as const)[a];
      o.hyper.shape = { ...o.hyper.shape, [key]: Math.max(1, int(value())) };
    }
    else if (a === '--lr') {
      const v = value();
      const lr = Number(v);
      if (!(lr > 0 && lr < 1)) throw new Error(`--lr: expected a learning rate in (0, 1), got ${v}`);
      o.hyper.lr = lr;
    }
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

export const USAGE = `npm run pretrain -- [--model gpt2|bert|both] [--steps N] [--backend cpu|webgpu] [--seed S] [--out DIR] [--batch B] [--lr X] [--[no-]dropout] [--beta2 B] [--init-std S] [--[no-]log-prior] [--[no-]nsp] [--[no-]task-text] [--pair-length N] [--long-every K] [--hidden D --layers L --heads H --intermediate I] [--init-from DIR] [--sequential] [--bench N] [--no-eval] [--write-sequences FILE]
  Trains the embedded tiny models and writes DIR/gpt2-tiny, DIR/bert-tiny, DIR/pretrain-report.json
  (default DIR assets/models; default steps gpt2 ${DEFAULT_STEPS.gpt2}, bert ${DEFAULT_STEPS.bert}).
  --model both (the default) trains the two models side by side in two processes (one core each); add
  --sequential to train them one after the other in this process.
  --bench N: time N steps per model (after one warm-up step) on the chosen backend; writes nothing.
  --write-sequences FILE: write bert-tiny's training and held-out token sequences as JSON (for scripts/torch-mlm-replica.py).`;

export async function main(argv: readonly string[], log: (s: string) => void = (s) => console.log(s)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) { log(USAGE); return; }
  const o = parseArgs(argv);
  if (o.writeSequences) {
    const bpe = loadBpe('bert');
    const seqs = (text: string) => bertSequences(encodeDocs(text, (t) => bpe.encode(t)));
    writeFileSync(o.writeSequences, JSON.stringify({ ids: BERT_IDS, vocabSize: VOCAB_SIZE, train: seqs(loadCorpus()), heldout: seqs(loadHeldoutCorpus()) }));
    log(`wrote bert-tiny's training and held-out sequences to ${o.writeSequences}`);
    return;
  }
  const backend = await selectBackend(o.backend);
  try {
    const which: ('gpt2' | 'bert')[] = o.model === 'both' ? ['gpt2', 'bert'] : [o.model];
    if (o.bench !== null) {
      for (const m of which) {
        const run = m === 'gpt2' ? pretrainGpt2 : pretrainBert;
        const { model, report } = await run({ steps: o.bench + 1, backend, seed: o.seed, hyper: o.hyper, log, logEvery: 1, evaluate: false, initFrom: o.initFrom });
        log(`[bench] ${m} on ${backend.describe()}: first loss ${report.firstLoss.toFixed(6)}, ${report.trainSeconds.toFixed(1)} s for ${o.bench + 1} steps`);
        model.dispose();
      }
      return;
    }
    const reportPath = join(o.out, 'pretrain-report.json');
    // re-read just before writing, so runs of the two models (even concurrent ones) each keep the other's entry
    const readModels = (): Record<string, unknown> => {
      try {
        return (JSON.parse(readFileSync(reportPath, 'utf8')) as { models?: Record<string, unknown> }).models ?? {};
      } catch {
        return {};
      }
    };
    for (const m of which) {
      const t0 = performance.now();
      const steps = o.steps ?? DEFAULT_STEPS[m];
      const { model, report } = m === 'gpt2'
        ? await pretrainGpt2({ steps, backend, seed: o.seed, hyper: o.hyper, log, evaluate: o.evaluate })
        : await pretrainBert({ steps, backend, seed: o.seed, hyper: o.hyper, log, evaluate: o.evaluate, initFrom: o.initFrom });
      const name = m === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny';
      const file = await writeModelDir(join(o.out, name), model, m);
      model.dispose();
      const wallSeconds = (performance.now() - t0) / 1000;
      const models = readModels();
      models[name] = {
        command: process.env.WEBPEFT_PRETRAIN_COMMAND ?? (argv.length ? `npm run pretrain -- ${argv.join(' ')}` : 'npm run pretrain'),
        ...report, wallSeconds, safetensorsBytes: file.bytes, safetensorsSha256: file.sha256,
      };
      log(`[${name}] wrote ${join(o.out, name)} (model.safetensors ${(file.bytes / 1e6).toFixed(2)} MB, sha256 ${file.sha256.slice(0, 16)}…) in ${wallSeconds.toFixed(0)} s wall`);
      const out = {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        date: new Date().toISOString(),
        models,
      };
      mkdirSync(o.out, { recursive: true });
      writeFileSync(reportPath, `${JSON.stringify(out, null, 2)}\n`);
    }
  } finally {
    releaseBackend(backend);
  }
}
