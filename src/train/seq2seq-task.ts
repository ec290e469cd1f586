/**
 * The encoder-decoder task of `webpeft compare`: `subject-seq2seq` — a mail's subject line from its body, on BART
 * (the shipped subject.jsonl: ham bodies ≤ 300 characters and their subjects, split by thread as every mail task).
 * Encoder input `bos body eos` (the body cut to `maxLength` tokens in all), decoder target `subject eos` (at most 16
 * tokens), decoder inputs the target shifted right behind decoder_start_token_id (BART's own rule). Scored by greedy
 * generation: ROUGE-L F (and ROUGE-1/2 F) of the generated subjects against the references, plus the teacher-forced
 * loss of the reference subjects. Browser-safe: the examples come in through `subject(split)`.
 */
import type { Backend } from '../autograd/backend.js';
import { tensor } from '../autograd/create.js';
import { noGrad } from '../autograd/op.js';
import { tidy, type Tensor } from '../autograd/tensor.js';
import { chunks, IGNORE_INDEX, shuffled, type SubjectExample } from '../data/datasets.js';
import type { Split } from '../data/text.js';
import type { BartConfig } from '../io/bart-config.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { type BartPeftModel, generateWithBart } from '../peft/seq2seq.js';
import { meanRouge } from './rouge.js';

export const SEQ2SEQ_TASK = 'subject-seq2seq';
export type Seq2seqTaskName = typeof SEQ2SEQ_TASK;

export const SEQ2SEQ_TASK_INFO = {
  name: SEQ2SEQ_TASK, description: 'Mail subject from body (generation, BART encoder-decoder)', metric: 'ROUGE-L',
  family: 'bart', head: 'seq2seq', model: 'bart-tiny',
} as const;

/** Subject tokens kept as the target (the eos after them included). */
export const MAX_TARGET = 16;
/** Greedy generation (the slow part) scores the first this many examples of a split, as the GPT-2 subject task. */
export const GENERATE_LIMIT = 100;

/** Encoder ids/mask (B, S) and decoder labels (B, T), −100 at padding. */
export interface Seq2seqBatch { ids: Int32Array; attentionMask: Int32Array; shape: [number, number]; labels: Int32Array; labelShape: [number, number] }

/** Right-padded sources (with `pad`, masked) and targets (with −100). */
export function seq2seqBatch(sources: readonly (readonly number[])[], targets: readonly (readonly number[])[], pad: number): Seq2seqBatch {
  if (sources.length !== targets.length) throw new Error(`seq2seq batch: ${sources.length} sources for ${targets.length} targets`);
  const B = sources.length;
  const S = Math.max(1, ...sources.map((s) => s.length));
  const T = Math.max(1, ...targets.map((t) => t.length));
  const ids = new Int32Array(B * S).fill(pad);
  const attentionMask = new Int32Array(B * S);
  const labels = new Int32Array(B * T).fill(IGNORE_INDEX);
  sources.forEach((s, b) => { ids.set(s, b * S); attentionMask.fill(1, b * S, b * S + s.length); });
  targets.forEach((t, b) => labels.set(t, b * T));
  return { ids, attentionMask, shape: [B, S], labels, labelShape: [B, T] };
}

export function seq2seqTensors(b: Seq2seqBatch, backend: Backend, dtype: 'f32' | 'f64'): { ids: Tensor; attentionMask: Tensor; labels: Tensor } {
  return {
    ids: tensor(b.ids, b.shape, { backend, dtype: 'i32' }),
    attentionMask: tensor(b.attentionMask, b.shape, { backend, dtype }),
    labels: tensor(b.labels, b.labelShape, { backend, dtype: 'i32' }),
  };
}

export interface Seq2seqTaskOptions {
  batchSize: number;
  /** Encoder tokens per example, bos and eos included (virtual tokens come on top). */
  maxLength: number;
  seed: number;
  /** Evaluate on at most this many examples per split (default all; generation on at most GENERATE_LIMIT). */
  evalLimit?: number;
}

/**
 * A split's scores: ROUGE-L (the metric), ROUGE-1/2 and the teacher-forced target loss; `tieBreak` = −target loss, so
 * early stopping counts a check that ties the best ROUGE-L as a gain when its loss is lower (as the GPT-2 subject task
 * does: at a tiny model's scale ROUGE-L often sits at the floor, and without it the first check would be kept).
 */
export interface Seq2seqEvaluation { metric: number; extra: Record<string, number>; predictions: string[]; tieBreak: number }

export interface Seq2seqTask {
  trainSize: number;
  evalSizes: { validation: number; test: number };
  batch(step: number): Seq2seqBatch;
  loss(peft: BartPeftModel, batch: Seq2seqBatch, step: number): Tensor;
  evaluate(peft: BartPeftModel, split: 'validation' | 'test'): Promise<Seq2seqEvaluation>;
}

/** The token ids BART's config names, checked once (a folder whose config lacks them cannot run the task). */
function specialIds(c: BartConfig): { bos: number; eos: number; pad: number } {
  const need = (v: number | null, key: string) => {
    if (v === null) throw new Error(`subject-seq2seq: the model's config.json has no ${key}`);
    return v;
  };
  return { bos: need(c.bosTokenId, 'bos_token_id'), eos: need(c.eosTokenId, 'eos_token_id'), pad: need(c.padTokenId, 'pad_token_id') };
}

export function buildSeq2seqTask(tok: TextTokenizer, config: BartConfig, o: Seq2seqTaskOptions, subject: (split: Split) => SubjectExample[]): Seq2seqTask {
  if (o.maxLength < 3) throw new Error(`subject-seq2seq: maxLength ${o.maxLength} leaves no room for a body (bos + body + eos)`);
  const { bos, eos, pad } = specialIds(config);
  const encoded = new Map<string, number[]>();
  const encode = (text: string) => {
    let ids = encoded.get(text);
    if (!ids) { ids = tok.encode(text, { addSpecialTokens: false }); encoded.set(text, ids); }
    return ids;
  };
  const source = (e: SubjectExample) => [bos, ...encode(e.body).slice(0, o.maxLength - 2), eos];
  const target = (e: SubjectExample) => [...encode(e.subject).slice(0, MAX_TARGET - 1), eos];
  const collate = (rows: readonly SubjectExample[]) => seq2seqBatch(rows.map(source), rows.map(target), pad);
  const limit = (xs: SubjectExample[]) => (o.evalLimit ? xs.slice(0, o.evalLimit) : xs);
  const train = subject('train');
  const perEpoch = Math.max(1, Math.floor(train.length / o.batchSize));
  let epoch = -1;
  let order: SubjectExample[] = [];
  const rowsOf = (step: number) => {
    const e = Math.floor(step / perEpoch);
    if (e !== epoch) { epoch = e; order = shuffled(train, o.seed + 7919 * e); }
    const k = step % perEpoch;
    return order.slice(k * o.batchSize, (k + 1) * o.batchSize);
  };
  return {
    trainSize: train.length,
    evalSizes: { validation: limit(subject('validation')).length, test: limit(subject('test')).length },
    batch: (step) => collate(rowsOf(step)),
    loss(peft, b, step) {
      const t = seq2seqTensors(b, peft.model.backend, peft.model.dtype as 'f32' | 'f64');
      return peft.forward({ ...t, train: true, seed: step }).loss!;
    },
    async evaluate(peft, split) {
      const rows = limit(subject(split));
      let total = 0;
      let count = 0;
      for (const group of chunks(rows, 32)) {
        const b = collate(group);
        const loss = noGrad(() => tidy(() => peft.forward(seq2seqTensors(b, peft.model.backend, peft.model.dtype as 'f32' | 'f64')).loss!));
        const n = b.labels.reduce((s, l) => s + (l === IGNORE_INDEX ? 0 : 1), 0);
        total += (await loss.item()) * n;
        count += n;
        loss.dispose();
      }
      const scored = rows.slice(0, GENERATE_LIMIT);
      const predictions: string[] = [];
      for (const group of chunks(scored, 25)) {
        const out = await generateWithBart(peft, group.map(source), { maxNewTokens: MAX_TARGET, stopTokens: [eos] });
        predictions.push(...out.tokens.map((t) => tok.decode(t.filter((id) => id !== eos && id !== pad && id !== bos)).trim()));
      }
      const r = meanRouge(predictions, scored.map((e) => e.subject));
      const targetLoss = total / Math.max(1, count);
      return { metric: r.rougeL, extra: { rouge1: r.rouge1, rouge2: r.rouge2, targetLoss }, predictions, tieBreak: -targetLoss };
    },
  };
}
