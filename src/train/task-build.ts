/**
 * The three tasks of `webpeft compare`, each on real data shipped in assets/data (browser-safe: the examples come
 * in as a `TaskData`; ./tasks.ts reads them from the package's files for Node, the web page fetches them):
 *   spam    — SpamAssassin spam vs ham, sequence classification on BERT ([CLS] head); metric: accuracy;
 *   tokens  — capitalisation/punctuation restoration, token classification on BERT; metric: token micro-F1;
 *   subject — mail subject from body, generation with GPT-2; metrics: ROUGE-L of greedy subjects, target loss.
 */
import { noGrad } from '../autograd/op.js';
import { keep, tidy, type Tensor } from '../autograd/tensor.js';
import { chunks, collateCausalLm, collateClassification, collateTokenClassification, spamLabelId, spamText, subjectParts,
  shuffled, type Batch, IGNORE_INDEX, TOKEN_LABELS, SUBJECT_SEPARATOR, type SpamExample, type SubjectExample,
  type TokensExample } from '../data/datasets.js';
import type { Split } from '../data/text.js';
import { accuracy, macroF1, tokenF1 } from '../data/metrics.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Gpt2 } from '../models/gpt2.js';
import { Bert } from '../models/bert.js';
import { generateWith, type PeftModel } from '../peft/peft-model.js';
import { defaultLr } from '../peft/registry.js';
import type { VirtualLayout } from '../peft/hooks.js';
import { parseTemplate, renderTemplate, templateLength } from '../peft/template.js';
import { readPositions, verbalizerIds, verbalizerScores } from '../peft/verbalizer.js';
import { infixPrompts, infixSlots } from '../peft/infix-tuning.js';
import { crossEntropy } from '../autograd/functions.js';
import { isTaskHead } from '../peft/baselines.js';

/** A batch and, with a template, where its virtual tokens go; with a verbalizer, where each row's class is read. */
type LaidOut = Batch & { layout?: VirtualLayout; readAt?: Int32Array };
import { batchTensors } from './trainer.js';
import { meanRouge } from './rouge.js';

export type TaskName = 'spam' | 'tokens' | 'subject';
export const TASK_NAMES: TaskName[] = ['spam', 'tokens', 'subject'];

export interface TaskOptions {
  batchSize: number;
  /** Real tokens per sequence (virtual tokens come on top). */
  maxLength: number;
  seed: number;
  /** Evaluate on at most this many examples per split (default all). */
  evalLimit?: number;
  /**
   * Train on the first N training examples only (default all): a small fixed set the method must fit — with N equal
   * to the batch size every step sees the same examples (reshuffled), so the loss falls when gradients flow.
   */
  trainLimit?: number;
  /**
   * Train on a subset of N examples (default all): the first N of the training split in the seed's shuffled order
   * (`trainingSubset`), so for one seed the subsets of growing N are nested. The data-size ablation's sizes.
   */
  trainSize?: number;
  /** P-tuning template for the input prompt's virtual tokens (spam task), e.g. "[P3] x [P3] [MASK]". */
  template?: string;
  /** Infix tuning's P slots (subject task): body; INFIX; separator; subject. */
  infix?: number;
  /**
   * Spam through the LM head instead of a classifier (../peft/verbalizer.ts): each mail put in `template` (its one
   * [MASK] is the slot the class word fills; {p:N} virtual slots for an input prompt), class c scored by the logit of
   * `words[c]` (one token each) at the slot (masked LM) or at the position before it (`causal`: a causal LM's
   * next-token prediction), the loss the cross-entropy over those C scores. The mail keeps maxLength − 2 tokens
   * whatever the model — what it keeps between [CLS] and [SEP] in the classifier rows — so two models with one
   * vocabulary read the same tokens.
   */
  verbalizer?: { template: string; words: string[]; causal: boolean };
}

export interface Evaluation {
  metric: number;
  extra: Record<string, number>;
  /**
   * Early stopping's second key (higher is better), for checks whose metric ties the best so far: the subject task's
   * −(target loss), so that while greedy ROUGE-L sits at 0 the checkpoint kept is the one that fits the references best.
   */
  tieBreak?: number;
}

/**
 * A classification task scored from class probabilities, so several models' predictions can be averaged before the
 * metric (prompt ensembling): `of` collects `predict`'s (B, C) probabilities over a split's evaluation batches into
 * (N, C), in the split's order; `score` is the split's metric of any such (N, C) probabilities.
 */
export interface ProbabilityScoring {
  classes: number;
  of(predict: (batch: Batch) => Promise<Float64Array>, split: 'validation' | 'test'): Promise<Float64Array>;
  score(probs: Float64Array, split: 'validation' | 'test'): Evaluation;
}

export interface TaskInfo {
  name: TaskName;
  description: string;
  metric: string;
  family: 'bert' | 'gpt2';
  head: 'sequence-classification' | 'token-classification' | 'lm';
  numLabels?: number;
}

export const TASK_INFO: Record<TaskName, TaskInfo> = {
  spam: { name: 'spam', description: 'SpamAssassin: spam vs ham mail (sequence classification)', metric: 'accuracy', family: 'bert',
    head: 'sequence-classification', numLabels: 2 },
  tokens: { name: 'tokens', description: 'Capitalisation and punctuation restoration on held-out prose (token classification)',
    metric: 'token F1', family: 'bert', head: 'token-classification', numLabels: TOKEN_LABELS.length },
  subject: { name: 'subject', description: 'Mail subject from body (generation, GPT-2)', metric: 'ROUGE-L', family: 'gpt2', head: 'lm' },
};

export interface Task extends TaskInfo {
  trainSize: number;
  /** Examples scored per split (mails, sentences, bodies). */
  evalSizes: { validation: number; test: number };
  batch(step: number): Batch;
  loss(peft: PeftModel, batch: Batch, step: number): Tensor;
  /**
   * `cache`: for repeated evaluations of one run in which only the task head changes (frozenBodyCache says when):
   * sequence classification keeps each batch's pooled vectors and later evaluations run only the head — the same
   * scores, bit for bit. Tasks without a pooled head ignore it.
   */
  evaluate(peft: PeftModel, split: 'validation' | 'test', cache?: PooledCache): Promise<Evaluation>;
  /** Sequence classification (spam) only. */
  probabilities?: ProbabilityScoring;
  /** With a verbalizer: a batch's (B, C) class scores, the LM head's logits of the class words where the class is read. */
  classScores?(peft: PeftModel, batch: Batch, pass?: { train: boolean; seed: number }): Tensor;
}

/**
 * The data-size ablation's training subset: the first `n` examples of `items` shuffled with `seed` (data/datasets.ts's
 * seeded Fisher–Yates — the order a full run's first epoch visits them in), all of them when n ≥ their count. For one
 * seed the subsets of growing n are nested prefixes of that one order, the whole split included.
 */
export function trainingSubset<T>(items: readonly T[], n: number, seed: number): T[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`training subset: expected a size ≥ 1, got ${n}`);
  return shuffled(items, seed).slice(0, n);
}

/** Batches of shuffled training examples, reshuffled each epoch. */
function epochs<T>(items: T[], size: number, seed: number): (step: number) => T[] {
  const perEpoch = Math.floor(items.length / size);
  let epoch = -1;
  let order: T[] = [];
  return (step) => {
    const e = Math.floor(step / perEpoch);
    if (e !== epoch) { epoch = e; order = shuffled(items, seed + 7919 * e); }
    const k = step % perEpoch;
    return order.slice(k * size, (k + 1) * size);
  };
}

/**
 * BERT's sequence classification reads the last layer at position 0 only (the pooler's row), so its training and
 * evaluation passes skip the rest of that layer (BertInput.poolerOnly: the same logits in evaluation).
 */
export const pooled = (peft: PeftModel): { poolerOnly?: true } => (peft.model instanceof Bert && peft.model.head === 'sequence-classification' ? { poolerOnly: true } : {});

/** Evaluation batches' pooled vectors (BertOutput.pooled), by batch, for one run whose body does not change. */
export class PooledCache {
  private readonly kept = new Map<Batch, Tensor>();
  /** The batch's pooled vectors, computed by `make` the first time. */
  pooled(batch: Batch, make: () => Tensor): Tensor {
    let t = this.kept.get(batch);
    if (!t) { t = keep(make()); this.kept.set(batch, t); }
    return t;
  }
  dispose(): void {
    for (const t of this.kept.values()) t.dispose();
    this.kept.clear();
  }
}

/**
 * A PooledCache where one is sound for `peft`'s evaluations: BERT sequence classification with nothing trainable but
 * the task head (`classifier.*`, Frozen's) and no method rewriting the pass (no virtual tokens, no K/V or hidden
 * rewrite), so the pooled vectors of an evaluation batch cannot change between evaluations; else undefined.
 */
export function frozenBodyCache(peft: PeftModel): PooledCache | undefined {
  if (!(peft.model instanceof Bert) || peft.model.head !== 'sequence-classification') return undefined;
  const methods = peft.adapters.flat();
  if (methods.some((m) => m.input || m.kv || m.hidden || m.params.trainable().length > 0)) return undefined;
  for (const [name, t] of peft.base.params) if (t.requiresGrad && !isTaskHead(name)) return undefined;
  return new PooledCache();
}

function lossOf(peft: PeftModel, batch: Batch, step: number): Tensor {
  const { backend, dtype } = peft.base.wordEmbeddings as Tensor & { dtype: 'f32' | 'f64' };
  const t = batchTensors(batch, backend, dtype as 'f32' | 'f64');
  return peft.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels, train: true, seed: step, layout: (batch as LaidOut).layout, ...pooled(peft) }).loss!;
}

/** Logits of a batch in evaluation mode, read back; with a cache (frozenBodyCache), the head on the kept pooled vectors. */
async function logitsOf(peft: PeftModel, batch: Batch, cache?: PooledCache): Promise<{ values: Float32Array | Float64Array; shape: readonly number[] }> {
  const pass = (): { logits?: Tensor; pooled?: Tensor } => {
    const { backend, dtype } = peft.base.wordEmbeddings;
    const t = batchTensors(batch, backend, dtype as 'f32' | 'f64');
    return peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: (batch as LaidOut).layout, ...pooled(peft) }) as { logits?: Tensor; pooled?: Tensor };
  };
  const logits = noGrad(() => tidy(() => (cache
    ? (peft.model as Bert).classify(cache.pooled(batch, () => noGrad(() => tidy(() => pass().pooled!))))
    : pass().logits!)));
  const values = (await logits.data()) as Float32Array | Float64Array;
  const shape = logits.shape;
  logits.dispose();
  return { values, shape };
}

function argmaxRows(values: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * classes < values.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c] > values[r * classes + best]) best = c;
    out.push(best);
  }
  return out;
}

/** A task's examples by split (Node: ../data/load.ts's loaders; a page: the same .jsonl files, fetched and parsed). */
export interface TaskData {
  spam(split: Split): SpamExample[];
  tokens(split: Split): TokensExample[];
  subject(split: Split): SubjectExample[];
}

/**
 * Where a task's validation runs chose another rate than the method's default (which other tasks keep). spam, prefix
 * tuning: 1e-2 collapsed to the majority class or stalled early in 2 of 6 seeds (0.864 ± 0.012 and 0.737 ± 0.048 in
 * two 3-seed runs), 5e-3 gave 0.786 ± 0.050, 3e-3 gave 0.837 ± 0.013 with no seed stalled (900 steps, patience 3;
 * README.md, bench/results/compare-spam-prefix-lr-*.json). compare, train and the web page use it.
 */
export const TASK_LR: Partial<Record<string, Partial<Record<string, number>>>> = { spam: { prefix: 3e-3 } };

/** A method's learning rate on a task when none is given: the task's choice (TASK_LR), else the method's default. */
export const taskDefaultLr = (task: string, method: string): number => TASK_LR[task]?.[method] ?? defaultLr(method);

/** Token ids of every text a task has encoded, per tokenizer (without special tokens; a pure function of the text). */
const ENCODED = new WeakMap<TextTokenizer, Map<string, number[]>>();

/** A task on the examples `data` gives (the same batches and metrics wherever the examples come from). */
export function buildTask(name: TaskName, tok: TextTokenizer, o: TaskOptions, data: TaskData): Task {
  const loadSpam = (split: Split) => data.spam(split);
  const loadTokens = (split: Split) => data.tokens(split);
  const loadSubject = (split: Split) => data.subject(split);
  if (o.infix && name !== 'subject') throw new Error(`infix tuning: the ${name} task has no infix slots (only subject: body; INFIX; separator; subject)`);
  // each text is tokenized once per tokenizer (training revisits examples every epoch, early stopping re-scores
  // validation, and compare's worker builds the task again for every run); the id arrays are shared, never written
  let encoded = ENCODED.get(tok);
  if (!encoded) { encoded = new Map<string, number[]>(); ENCODED.set(tok, encoded); }
  const encode = (text: string): number[] => {
    let ids = encoded!.get(text);
    if (!ids) { ids = tok.encode(text, { addSpecialTokens: false }); encoded!.set(text, ids); }
    return ids;
  };
  const limit = <T>(xs: T[]) => (o.evalLimit ? xs.slice(0, o.evalLimit) : xs);
  if (o.trainLimit !== undefined && o.trainLimit < o.batchSize) throw new Error(`train limit ${o.trainLimit} is below the batch size ${o.batchSize} (a batch needs that many examples)`);
  if (o.trainSize !== undefined && o.trainSize < o.batchSize) throw new Error(`training subset of ${o.trainSize} is below the batch size ${o.batchSize} (a batch needs that many examples)`);
  if (o.trainSize !== undefined && o.trainLimit !== undefined) throw new Error('train limit and training subset: give one (the first N of the file, or of the seed\'s order)');
  const trainSet = <T>(xs: T[]) => (o.trainLimit ? xs.slice(0, o.trainLimit) : o.trainSize !== undefined ? trainingSubset(xs, o.trainSize, o.seed) : xs);
  // evaluation batches are built once per split (early stopping scores validation many times)
  const built = new Map<string, LaidOut[]>();
  const evalBatches = (split: string, make: () => LaidOut[]): LaidOut[] => {
    let b = built.get(split);
    if (!b) { b = make(); built.set(split, b); }
    return b;
  };
  switch (name) {
    case 'spam': {
      const cls = tok.specialTokenId('cls');
      const sep = tok.specialTokenId('sep');
      const pad = tok.specialTokenId('pad') ?? 0;
      const around = { prefix: cls === null ? [] : [cls], suffix: sep === null ? [] : [sep] };
      const parts = o.template ? parseTemplate(o.template) : null;
      const mask = tok.specialTokenId('mask');
      function spamVerbalizerTask(v: NonNullable<TaskOptions['verbalizer']>): Task {
        if (o.template) throw new Error('spam task: a template and a verbalizer template; give one');
        const vParts = parseTemplate(v.template);
        if (vParts.filter((p) => p.kind === 'mask').length !== 1) throw new Error(`verbalizer template "${v.template}": needs exactly one [MASK] (the slot the class word fills)`);
        const words = verbalizerIds(tok, v.words);
        if (words.length !== 2) throw new Error(`verbalizer: the spam task has 2 classes (ham, spam), got ${words.length} words`);
        // a causal LM never sees the slot's own token from the position that predicts it: any id will do there
        const slotId = mask ?? (v.causal ? tok.specialTokenId('eos') ?? pad : null);
        if (slotId === null) throw new Error('verbalizer: the tokenizer has no [MASK] token (a masked LM reads the class there)');
        const room = o.maxLength - 2;
        if (room < 1) throw new Error(`verbalizer: max length ${o.maxLength} leaves no room for the mail`);
        const maxLength = room + templateLength(vParts, encode) + around.prefix.length + around.suffix.length;
        const collate = (rows: SpamExample[]): LaidOut => {
          const r = renderTemplate(vParts, rows.map(spamText), { encode, placeholderId: pad, maskId: slotId, maxLength, padId: pad, ...around });
          return { ids: r.ids, attentionMask: r.attentionMask, labels: Int32Array.from(rows.map(spamLabelId)), shape: r.shape, labelShape: [rows.length],
            layout: r.layout, readAt: readPositions(r.maskPositions, v.causal) };
        };
        const scores = (peft: PeftModel, b: Batch, pass = { train: false, seed: 0 }): Tensor => {
          const { backend, dtype } = peft.base.wordEmbeddings;
          const t = batchTensors(b, backend, dtype as 'f32' | 'f64');
          // the LM head only at each row's read position (logits (B, 1, V)), not at all T
          const readAt = (b as LaidOut).readAt!;
          const out = peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: (b as LaidOut).layout, logitsAt: readAt, ...pass }) as { logits: Tensor };
          return verbalizerScores(out.logits, new Int32Array(readAt.length), words);
        };
        const train = trainSet(loadSpam('train'));
        const next = epochs(train, o.batchSize, o.seed);
        const batches = (split: 'validation' | 'test') => evalBatches(split, () => [...chunks(limit(loadSpam(split)), 64)].map(collate));
        return {
          ...TASK_INFO.spam, trainSize: train.length,
          evalSizes: { validation: limit(loadSpam('validation')).length, test: limit(loadSpam('test')).length },
          batch: (step) => collate(next(step)),
          loss: (peft, b, step) => {
            const t = batchTensors(b, peft.base.wordEmbeddings.backend, peft.base.wordEmbeddings.dtype as 'f32');
            return crossEntropy(scores(peft, b, { train: true, seed: step }), t.labels);
          },
          classScores: scores,
          async evaluate(peft, split) {
            const pred: number[] = [];
            const gold: number[] = [];
            for (const b of batches(split)) {
              const s = noGrad(() => tidy(() => scores(peft, b)));
              pred.push(...argmaxRows((await s.data()) as Float32Array, 2));
              s.dispose();
              gold.push(...b.labels);
            }
            return { metric: accuracy(pred, gold), extra: { macroF1: macroF1(pred, gold, 2) } };
          },
        };
      }
      const collate = (rows: ReturnType<typeof loadSpam>): LaidOut => {
        if (!parts) return collateClassification(rows.map(spamText), rows.map(spamLabelId), { encode, maxLength: o.maxLength, padId: pad, ...around });
        // the template's virtual slots, anchors and [MASK] around each mail; the head still reads [CLS]
        const r = renderTemplate(parts, rows.map(spamText), { encode, placeholderId: pad, maskId: mask ?? undefined, maxLength: o.maxLength, padId: pad, ...around });
        return { ids: r.ids, attentionMask: r.attentionMask, labels: Int32Array.from(rows.map(spamLabelId)), shape: r.shape, labelShape: [rows.length], layout: r.layout };
      };
      if (o.verbalizer) return spamVerbalizerTask(o.verbalizer);
      const train = trainSet(loadSpam('train'));
      const next = epochs(train, o.batchSize, o.seed);
      const spamBatches = (split: string) => evalBatches(split, () => [...chunks(limit(loadSpam(split as Split)), 64)].map(collate));
      return {
        ...TASK_INFO.spam, trainSize: train.length,
        evalSizes: { validation: limit(loadSpam('validation')).length, test: limit(loadSpam('test')).length },
        batch: (step) => collate(next(step)),
        loss: lossOf,
        async evaluate(peft, split, cache) {
          const pred: number[] = [];
          const gold: number[] = [];
          for (const b of spamBatches(split)) {
            pred.push(...argmaxRows((await logitsOf(peft, b, cache)).values, 2));
            gold.push(...b.labels);
          }
          return { metric: accuracy(pred, gold), extra: { macroF1: macroF1(pred, gold, 2) } };
        },
        probabilities: {
          classes: 2,
          async of(predict, split) {
            const parts = [];
            for (const b of spamBatches(split)) parts.push(await predict(b));
            const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
            let at = 0;
            for (const p of parts) { out.set(p, at); at += p.length; }
            return out;
          },
          score(probs, split) {
            const gold = spamBatches(split).flatMap((b) => Array.from(b.labels));
            if (probs.length !== 2 * gold.length) throw new Error(`spam ${split}: expected ${gold.length} × 2 probabilities, got ${probs.length}`);
            const pred = argmaxRows(probs, 2);
            return { metric: accuracy(pred, gold), extra: { macroF1: macroF1(pred, gold, 2) } };
          },
        },
      };
    }
    case 'tokens': {
      const cls = tok.specialTokenId('cls');
      const sep = tok.specialTokenId('sep');
      const pad = tok.specialTokenId('pad') ?? 0;
      const collate = (rows: ReturnType<typeof loadTokens>) => collateTokenClassification(rows,
        { encode, maxLength: o.maxLength, padId: pad, prefix: cls === null ? [] : [cls], suffix: sep === null ? [] : [sep] });
      const train = trainSet(loadTokens('train'));
      const next = epochs(train, o.batchSize, o.seed);
      const C = TOKEN_LABELS.length;
      return {
        ...TASK_INFO.tokens, trainSize: train.length,
        evalSizes: { validation: limit(loadTokens('validation')).length, test: limit(loadTokens('test')).length },
        batch: (step) => collate(next(step)),
        loss: lossOf,
        async evaluate(peft, split) {
          const pred: number[] = [];
          const gold: number[] = [];
          for (const b of evalBatches(split, () => [...chunks(limit(loadTokens(split)), 64)].map(collate))) {
            const p = argmaxRows((await logitsOf(peft, b)).values, C);
            b.labels.forEach((g, i) => { if (g !== IGNORE_INDEX) { pred.push(p[i]); gold.push(g); } });
          }
          return { metric: tokenF1(pred, gold, 0).f1, extra: { accuracy: accuracy(pred, gold) } };
        },
      };
    }
    case 'subject': {
      const eos = tok.specialTokenId('eos') ?? tok.specialTokenId('bos') ?? 0;
      const P = o.infix ?? 0;
      // infix slots (placeholder ids, replaced at every layer) between the body and the separator; on top of maxLength
      const opts = { maxLength: o.maxLength + P, padId: eos, eosId: eos, maxTargetLength: 16 };
      const train = trainSet(loadSubject('train'));
      const next = epochs(train, o.batchSize, o.seed);
      const sepIds = encode(SUBJECT_SEPARATOR);
      const collate = (rows: ReturnType<typeof loadSubject>): LaidOut => {
        const parts = rows.map((e) => subjectParts(e, encode)).map((p) => ({ ...p, separator: [...new Array<number>(P).fill(eos), ...p.separator!] }));
        const b = collateCausalLm(parts, opts);
        return P ? { ...b, layout: infixSlots(Array.from(b.targetStart, (start) => start - sepIds.length - P), b.shape[1], P) } : b;
      };
      return {
        ...TASK_INFO.subject, trainSize: train.length,
        evalSizes: { validation: limit(loadSubject('validation')).length, test: limit(loadSubject('test')).length },
        batch: (step) => collate(next(step)),
        loss: lossOf,
        async evaluate(peft, split) {
          const rows = limit(loadSubject(split));
          // target loss (teacher forcing)
          let total = 0;
          let count = 0;
          for (const group of chunks(rows, 32)) {
            const b = collate(group);
            const loss = noGrad(() => tidy(() => {
              const t = batchTensors(b, peft.base.wordEmbeddings.backend, peft.base.wordEmbeddings.dtype as 'f32');
              return (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels, layout: b.layout }) as { loss: Tensor }).loss;
            }));
            const n = b.labels.filter((l, i) => l !== IGNORE_INDEX && i % b.shape[1] !== 0).length;
            total += (await loss.item()) * n;
            count += n;
            loss.dispose();
          }
          // greedy subjects
          const predictions: string[] = [];
          // greedy decoding is the slow part: ROUGE-L on the first 100 examples of the split
          for (const group of chunks(rows.slice(0, 100), 16)) {
            const bodies = group.map((e) => encode(e.body).slice(0, o.maxLength - sepIds.length - 16));
            const { prompts, layout } = P ? infixPrompts(bodies.map((x) => ({ x, after: sepIds })), P, eos, eos)
              : { prompts: bodies.map((x) => [...x, ...sepIds]), layout: undefined };
            const out = await generateWith(peft as PeftModel<Gpt2>, prompts, { maxNewTokens: 12, stopTokens: [eos], layout });
            predictions.push(...out.tokens.map((t) => tok.decode(t.filter((id) => id !== eos)).split('\n')[0].trim()));
          }
          // ROUGE-1/2 beside ROUGE-L (the metric) for the same predictions: rouge-score's F-measures (./rouge.ts)
          const r = meanRouge(predictions, rows.slice(0, 100).map((e) => e.subject));
          const targetLoss = total / Math.max(1, count);
          return { metric: r.rougeL, extra: { targetLoss, rouge1: r.rouge1, rouge2: r.rouge2 }, tieBreak: -targetLoss };
        },
      };
    }
  }
}

