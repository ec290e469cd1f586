// Typed examples for the shipped tasks, and batchers that turn them into padded [B, T] plain arrays.
// Independent of the tensor engine and of Node (file loading is in ./load.ts).

import { TOKEN_LABELS, type Split, type TokenLabel } from './text.js';

export { TOKEN_LABELS, SPLITS, type Split, type TokenLabel } from './text.js';

/** Label id that losses ignore (PyTorch / HF convention). */
export const IGNORE_INDEX = -100;

// ---------------------------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------------------------

export interface SpamExample {
  split: Split;
  label: 'spam' | 'ham';
  id: string;
  subject: string;
  body: string;
}

export interface SubjectExample {
  split: Split;
  id: string;
  body: string;
  subject: string;
}

export interface TokensExample {
  split: Split;
  source: string;
  words: string[];
  labels: TokenLabel[];
}

/** Class ids for spam.jsonl: ham = 0, spam = 1. */
export const SPAM_LABELS = ['ham', 'spam'] as const;
export const spamLabelId = (e: SpamExample): number => (e.label === 'spam' ? 1 : 0);
/** The classifier's input text. */
export const spamText = (e: SpamExample): string => `${e.subject}\n${e.body}`;

export const tokenLabelId = (l: TokenLabel): number => TOKEN_LABELS.indexOf(l);

/** Prompt/target format for subject generation (GPT-2): "<body>\nSubject:" → " <subject>" + EOS. */
export const SUBJECT_SEPARATOR = '\nSubject:';
export const subjectTarget = (subject: string): string => ` ${subject}`;

export function parseJsonl<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line) as T);
  return out;
}

export function bySplit<T extends { split: Split }>(rows: readonly T[], split: Split): T[] {
  return rows.filter((r) => r.split === split);
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic order
// ---------------------------------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with a seeded PRNG (returns a new array). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  const rnd = mulberry32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Consecutive chunks of `batchSize` (the last may be short unless dropLast); shuffled per epoch when `seed` is given. */
export function* chunks<T>(items: readonly T[], batchSize: number, opts: { seed?: number; dropLast?: boolean } = {}): Generator<T[]> {
  const order = opts.seed === undefined ? items : shuffled(items, opts.seed);
  for (let i = 0; i < order.length; i += batchSize) {
    const c = order.slice(i, i + batchSize);
    if (opts.dropLast && c.length < batchSize) break;
    yield c;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------------------------------

export type EncodeFn = (text: string) => number[];

export interface Batch {
  /** [B, T] row-major token ids. */
  ids: Int32Array;
  /** [B, T]: 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /**
   * Sequence classification: [B] class ids. Token tasks / causal LM: [B, T] aligned with `ids`, IGNORE_INDEX (-100)
   * where no loss is taken. For causal LM the labels are NOT shifted (HF convention: the model predicts labels[t+1]
   * from position t).
   */
  labels: Int32Array;
  shape: [number, number];
  labelShape: [number] | [number, number];
}

export interface PadOptions {
  padId: number;
  /** default 'right' */
  side?: 'left' | 'right';
  /** pad T up to a multiple of this (e.g. 8) */
  multipleOf?: number;
  /** fixed T (sequences must fit) */
  length?: number;
}

/** Pad token sequences (and optional per-token labels) to one [B, T] batch. */
export function padSequences(
  seqs: readonly (readonly number[])[],
  opts: PadOptions,
  tokenLabels?: readonly (readonly number[])[],
): { ids: Int32Array; attentionMask: Int32Array; labels: Int32Array | null; shape: [number, number] } {
  const B = seqs.length;
  let T = opts.length ?? Math.max(1, ...seqs.map((s) => s.length));
  if (opts.multipleOf && opts.multipleOf > 1) T = Math.ceil(T / opts.multipleOf) * opts.multipleOf;
  const ids = new Int32Array(B * T).fill(opts.padId);
  const mask = new Int32Array(B * T);
  const labels = tokenLabels ? new Int32Array(B * T).fill(IGNORE_INDEX) : null;
  for (let b = 0; b < B; b++) {
    const s = seqs[b]!;
    if (s.length > T) throw new Error(`sequence ${b} has ${s.length} tokens > T=${T}`);
    const off = b * T + (opts.side === 'left' ? T - s.length : 0);
    for (let t = 0; t < s.length; t++) {
      ids[off + t] = s[t]!;
      mask[off + t] = 1;
      if (labels) labels[off + t] = tokenLabels![b]![t]!;
    }
  }
  return { ids, attentionMask: mask, labels, shape: [B, T] };
}

export interface ClassificationOptions {
  encode: EncodeFn;
  maxLength: number;
  padId: number;
  /** tokens before the text, e.g. [CLS] for BERT */
  prefix?: readonly number[];
  /** tokens after the text, e.g. [SEP] for BERT */
  suffix?: readonly number[];
  side?: 'left' | 'right';
}

/** Encode texts, truncate so prefix + text + suffix ≤ maxLength, pad right (BERT) → labels [B]. */
export function collateClassification(texts: readonly string[], labels: readonly number[], opts: ClassificationOptions): Batch {
  const pre = opts.prefix ?? [];
  const suf = opts.suffix ?? [];
  const room = opts.maxLength - pre.length - suf.length;
  if (room < 1) throw new Error('maxLength too small for the special tokens');
  const seqs = texts.map((t) => [...pre, ...opts.encode(t).slice(0, room), ...suf]);
  const p = padSequences(seqs, { padId: opts.padId, side: opts.side ?? 'right' });
  return { ids: p.ids, attentionMask: p.attentionMask, labels: Int32Array.from(labels), shape: p.shape, labelShape: [labels.length] };
}

export interface TokenClassificationOptions {
  encode: EncodeFn;
  maxLength: number;
  padId: number;
  prefix?: readonly number[];
  suffix?: readonly number[];
}

/**
 * Tokenise words one by one — the first without, the others with a leading space, which for byte-level BPE gives
 * exactly the ids of the joined sentence — and align word labels to sub-word tokens: the first sub-word of a word
 * carries its label, the others and the special tokens get IGNORE_INDEX (as HF's token-classification examples).
 * Words that do not fit in maxLength are dropped (with their labels).
 */
export function alignWordLabels(
  words: readonly string[],
  wordLabels: readonly number[],
  opts: Omit<TokenClassificationOptions, 'padId'>,
): { ids: number[]; labels: number[]; wordIndex: number[] } {
  const pre = opts.prefix ?? [];
  const suf = opts.suffix ?? [];
  const ids: number[] = [...pre];
  const labels: number[] = pre.map(() => IGNORE_INDEX);
  const wordIndex: number[] = pre.map(() => -1);
  const limit = opts.maxLength - suf.length;
  for (let w = 0; w < words.length; w++) {
    const piece = opts.encode(w === 0 ? words[w]! : ` ${words[w]}`);
    if (ids.length + piece.length > limit) break;
    piece.forEach((id, k) => {
      ids.push(id);
      labels.push(k === 0 ? wordLabels[w]! : IGNORE_INDEX);
      wordIndex.push(w);
    });
  }
  for (const id of suf) ids.push(id), labels.push(IGNORE_INDEX), wordIndex.push(-1);
  return { ids, labels, wordIndex };
}

export function collateTokenClassification(examples: readonly TokensExample[], opts: TokenClassificationOptions): Batch & { wordIndex: Int32Array } {
  const aligned = examples.map((e) => alignWordLabels(e.words, e.labels.map(tokenLabelId), opts));
  const p = padSequences(
    aligned.map((a) => a.ids),
    { padId: opts.padId, side: 'right' },
    aligned.map((a) => a.labels),
  );
  const [B, T] = p.shape;
  const wordIndex = new Int32Array(B * T).fill(-1);
  aligned.forEach((a, b) => a.wordIndex.forEach((w, t) => (wordIndex[b * T + t] = w)));
  return { ids: p.ids, attentionMask: p.attentionMask, labels: p.labels!, shape: p.shape, labelShape: p.shape, wordIndex };
}

export interface CausalLmOptions {
  maxLength: number;
  /** GPT-2 has no pad token: pad with EOS (masked out, labels -100). */
  padId: number;
  /** appended after the target (and trained on), e.g. <|endoftext|> */
  eosId?: number;
  /** the target is cut to this many tokens (EOS included) before the context is truncated; default maxLength / 4 */
  maxTargetLength?: number;
}

export interface PromptTarget {
  /** context tokens, truncated from the end when too long */
  context: number[];
  /** fixed tokens between context and target (kept whole) */
  separator?: number[];
  /** tokens the loss is taken on */
  target: number[];
}

/**
 * Causal LM batch: ids = context + separator + target (+ EOS), right-padded. Labels copy the ids on target positions
 * (EOS included) and are -100 on the context, separator and padding, so the loss is over the target only.
 */
export function collateCausalLm(items: readonly PromptTarget[], opts: CausalLmOptions): Batch & { targetStart: Int32Array } {
  const maxTarget = opts.maxTargetLength ?? Math.max(1, Math.floor(opts.maxLength / 4));
  const seqs: number[][] = [];
  const labs: number[][] = [];
  const starts = new Int32Array(items.length);
  items.forEach((it, b) => {
    const target = [...it.target, ...(opts.eosId === undefined ? [] : [opts.eosId])].slice(0, maxTarget);
    const sep = it.separator ?? [];
    const room = opts.maxLength - target.length - sep.length;
    if (room < 0) throw new Error('maxLength too small for separator + target');
    const prompt = [...it.context.slice(0, room), ...sep];
    starts[b] = prompt.length;
    seqs.push([...prompt, ...target]);
    labs.push([...prompt.map(() => IGNORE_INDEX), ...target]);
  });
  const p = padSequences(seqs, { padId: opts.padId, side: 'right' }, labs);
  return { ids: p.ids, attentionMask: p.attentionMask, labels: p.labels!, shape: p.shape, labelShape: p.shape, targetStart: starts };
}

/** Subject generation example → prompt/target token parts. */
export function subjectParts(e: SubjectExample, encode: EncodeFn): PromptTarget {
  return { context: encode(e.body), separator: encode(SUBJECT_SEPARATOR), target: encode(subjectTarget(e.subject)) };
}

/** Concatenate documents (EOS between them) and cut into blocks of `blockSize` tokens (the tail is dropped). */
export function packBlocks(docs: readonly (readonly number[])[], blockSize: number, eosId?: number): number[][] {
  const stream: number[] = [];
  docs.forEach((d, i) => {
    if (i > 0 && eosId !== undefined) stream.push(eosId);
    for (const t of d) stream.push(t);
  });
  const out: number[][] = [];
  for (let i = 0; i + blockSize <= stream.length; i += blockSize) out.push(stream.slice(i, i + blockSize));
  return out;
}

/** Language-modelling batch from equal-length blocks: labels = ids (unshifted, HF convention), mask all ones. */
export function collateLm(blocks: readonly (readonly number[])[]): Batch {
  const p = padSequences(blocks, { padId: 0 }, blocks);
  return { ids: p.ids, attentionMask: p.attentionMask, labels: p.labels!, shape: p.shape, labelShape: p.shape };
}

export interface MlmOptions {
  maskId: number;
  vocabSize: number;
  /** ids never masked (CLS, SEP, PAD) */
  specialIds: readonly number[];
  /** default 0.15 */
  probability?: number;
  seed: number;
}

/**
 * BERT masking on a batch (in place on a copy): choose 15 % of real non-special tokens; of those 80 % → [MASK],
 * 10 % → random id, 10 % unchanged. Labels: the original id at chosen positions, -100 elsewhere.
 */
export function maskForMlm(batch: Pick<Batch, 'ids' | 'attentionMask' | 'shape'>, opts: MlmOptions): Batch {
  const rnd = mulberry32(opts.seed);
  const prob = opts.probability ?? 0.15;
  const special = new Set(opts.specialIds);
  const ids = Int32Array.from(batch.ids);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (let i = 0; i < ids.length; i++) {
    if (!batch.attentionMask[i] || special.has(ids[i]!)) continue;
    if (rnd() >= prob) continue;
    labels[i] = ids[i]!;
    const r = rnd();
    if (r < 0.8) ids[i] = opts.maskId;
    else if (r < 0.9) {
      let id = Math.floor(rnd() * opts.vocabSize);
      while (special.has(id)) id = Math.floor(rnd() * opts.vocabSize);
      ids[i] = id;
    }
  }
  return { ids, attentionMask: Int32Array.from(batch.attentionMask), labels, shape: batch.shape, labelShape: batch.shape };
}
