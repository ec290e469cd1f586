/**
 * The three tasks of `webpeft compare`, each on real data shipped in assets/data (browser-safe: the examples come
 * in as a `TaskData`; ./tasks.ts reads them from the package's files for Node, the web page fetches them):
 *   spam    — SpamAssassin spam vs ham, sequence classification on BERT ([CLS] head); metric: accuracy;
 *   tokens  — capitalisation/punctuation restoration, token classification on BERT; metric: token micro-F1;
 *   subject — mail subject from body, generation with GPT-2; metrics: ROUGE-L of greedy subjects, target loss.
 */
import { noGrad } from '../autograd/op.js';
import { tidy, type Tensor } from '../autograd/tensor.js';
import { chunks, collateCausalLm, collateClassification, collateTokenClassification, spamLabelId, spamText, subjectParts,
  shuffled, type Batch, IGNORE_INDEX, TOKEN_LABELS, SUBJECT_SEPARATOR, type SpamExample, type SubjectExample,
  type TokensExample } from '../data/datasets.js';
import type { Split } from '../data/text.js';
import { accuracy, macroF1, meanRougeL, tokenF1 } from '../data/metrics.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Gpt2 } from '../models/gpt2.js';
import { generateWith, type PeftModel } from '../peft/peft-model.js';
import type { VirtualLayout } from '../peft/hooks.js';
import { parseTemplate, renderTemplate } from '../peft/template.js';

/** A batch and, with a template, where its virtual tokens go. */
type LaidOut = Batch & { layout?: VirtualLayout };
import { batchTensors } from './trainer.js';

export type TaskName = 'spam' | 'tokens' | 'subject';
export const TASK_NAMES: TaskName[] = ['spam', 'tokens', 'subject'];

export interface TaskOptions {
  batchSize: number;
  /** Real tokens per sequence (virtual tokens come on top). */
  maxLength: number;
  seed: number;
  /** Evaluate on at most this many examples per split (default all). */
  evalLimit?: number;
  /** P-tuning template for the input prompt's virtual tokens (spam task), e.g. "[P3] x [P3] [MASK]". */
  template?: string;
}

export interface Evaluation { metric: number; extra: Record<string, number> }

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
  batch(step: number): Batch;
  loss(peft: PeftModel, batch: Batch, step: number): Tensor;
  evaluate(peft: PeftModel, split: 'validation' | 'test'): Promise<Evaluation>;
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

function lossOf(peft: PeftModel, batch: Batch, step: number): Tensor {
  const { backend, dtype } = peft.base.wordEmbeddings as Tensor & { dtype: 'f32' | 'f64' };
  const t = batchTensors(batch, backend, dtype as 'f32' | 'f64');
  return peft.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels, train: true, seed: step, layout: (batch as LaidOut).layout }).loss!;
}

/** Logits of a batch in evaluation mode, read back. */
async function logitsOf(peft: PeftModel, batch: Batch): Promise<{ values: Float32Array | Float64Array; shape: readonly number[] }> {
  const logits = noGrad(() => tidy(() => {
    const { backend, dtype } = peft.base.wordEmbeddings;
    const t = batchTensors(batch, backend, dtype as 'f32' | 'f64');
    return (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: (batch as LaidOut).layout }) as { logits: Tensor }).logits;
  }));
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

/** A task on the examples `data` gives (the same batches and metrics wherever the examples come from). */
export function buildTask(name: TaskName, tok: TextTokenizer, o: TaskOptions, data: TaskData): Task {
  const loadSpam = (split: Split) => data.spam(split);
  const loadTokens = (split: Split) => data.tokens(split);
  const loadSubject = (split: Split) => data.subject(split);
  const encode = (text: string) => tok.encode(text, { addSpecialTokens: false });
  const limit = <T>(xs: T[]) => (o.evalLimit ? xs.slice(0, o.evalLimit) : xs);
  switch (name) {
    case 'spam': {
      const cls = tok.specialTokenId('cls');
      const sep = tok.specialTokenId('sep');
      const pad = tok.specialTokenId('pad') ?? 0;
      const around = { prefix: cls === null ? [] : [cls], suffix: sep === null ? [] : [sep] };
      const parts = o.template ? parseTemplate(o.template) : null;
      const mask = tok.specialTokenId('mask');
      const collate = (rows: ReturnType<typeof loadSpam>): LaidOut => {
        if (!parts) return collateClassification(rows.map(spamText), rows.map(spamLabelId), { encode, maxLength: o.maxLength, padId: pad, ...around });
        // the template's virtual slots, anchors and [MASK] around each mail; the head still reads [CLS]
        const r = renderTemplate(parts, rows.map(spamText), { encode, placeholderId: pad, maskId: mask ?? undefined, maxLength: o.maxLength, padId: pad, ...around });
        return { ids: r.ids, attentionMask: r.attentionMask, labels: Int32Array.from(rows.map(spamLabelId)), shape: r.shape, labelShape: [rows.length], layout: r.layout };
      };
      const train = loadSpam('train');
      const next = epochs(train, o.batchSize, o.seed);
      return {
        ...TASK_INFO.spam, trainSize: train.length,
        batch: (step) => collate(next(step)),
        loss: lossOf,
        async evaluate(peft, split) {
          const pred: number[] = [];
          const gold: number[] = [];
          for (const rows of chunks(limit(loadSpam(split)), 32)) {
            const b = collate(rows);
            pred.push(...argmaxRows((await logitsOf(peft, b)).values, 2));
            gold.push(...b.labels);
          }
          return { metric: accuracy(pred, gold), extra: { macroF1: macroF1(pred, gold, 2) } };
        },
      };
    }
    case 'tokens': {
      const cls = tok.specialTokenId('cls');
      const sep = tok.specialTokenId('sep');
      const pad = tok.specialTokenId('pad') ?? 0;
      const collate = (rows: ReturnType<typeof loadTokens>) => collateTokenClassification(rows,
        { encode, maxLength: o.maxLength, padId: pad, prefix: cls === null ? [] : [cls], suffix: sep === null ? [] : [sep] });
      const train = loadTokens('train');
      const next = epochs(train, o.batchSize, o.seed);
      const C = TOKEN_LABELS.length;
      return {
        ...TASK_INFO.tokens, trainSize: train.length,
        batch: (step) => collate(next(step)),
        loss: lossOf,
        async evaluate(peft, split) {
          const pred: number[] = [];
          const gold: number[] = [];
          for (const rows of chunks(limit(loadTokens(split)), 32)) {
            const b = collate(rows);
            const p = argmaxRows((await logitsOf(peft, b)).values, C);
            b.labels.forEach((g, i) => { if (g !== IGNORE_INDEX) { pred.push(p[i]); gold.push(g); } });
          }
          return { metric: tokenF1(pred, gold, 0).f1, extra: { accuracy: accuracy(pred, gold) } };
        },
      };
    }
    case 'subject': {
      const eos = tok.specialTokenId('eos') ?? tok.specialTokenId('bos') ?? 0;
      const opts = { maxLength: o.maxLength, padId: eos, eosId: eos, maxTargetLength: 16 };
      const train = loadSubject('train');
      const next = epochs(train, o.batchSize, o.seed);
      const sepIds = encode(SUBJECT_SEPARATOR);
      return {
        ...TASK_INFO.subject, trainSize: train.length,
        batch: (step) => collateCausalLm(next(step).map((e) => subjectParts(e, encode)), opts),
        loss: lossOf,
        async evaluate(peft, split) {
          const rows = limit(loadSubject(split));
          // target loss (teacher forcing)
          let total = 0;
          let count = 0;
          for (const group of chunks(rows, 32)) {
            const b = collateCausalLm(group.map((e) => subjectParts(e, encode)), opts);
            const loss = noGrad(() => tidy(() => {
              const t = batchTensors(b, peft.base.wordEmbeddings.backend, peft.base.wordEmbeddings.dtype as 'f32');
              return (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels }) as { loss: Tensor }).loss;
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
            const prompts = group.map((e) => [...encode(e.body).slice(0, o.maxLength - sepIds.length - 16), ...sepIds]);
            const out = await generateWith(peft as PeftModel<Gpt2>, prompts, { maxNewTokens: 12, stopTokens: [eos] });
            predictions.push(...out.tokens.map((t) => tok.decode(t.filter((id) => id !== eos)).split('\n')[0].trim()));
          }
          return { metric: meanRougeL(predictions, rows.slice(0, 100).map((e) => e.subject)), extra: { targetLoss: total / Math.max(1, count) } };
        },
      };
    }
  }
}

