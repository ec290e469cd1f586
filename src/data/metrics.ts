// Evaluation metrics: accuracy, macro-F1, token-level micro-F1 over non-O labels, ROUGE-L (as Google's rouge-score
// package), perplexity. Plain numbers in, plain numbers out.

import { IGNORE_INDEX } from './datasets.js';

type Ints = ArrayLike<number>;

function checkLengths(pred: Ints, gold: Ints): void {
  if (pred.length !== gold.length) throw new Error(`length mismatch: ${pred.length} predictions, ${gold.length} labels`);
}

/** Share of positions where pred == gold, skipping gold == IGNORE_INDEX. */
export function accuracy(pred: Ints, gold: Ints): number {
  checkLengths(pred, gold);
  let n = 0;
  let ok = 0;
  for (let i = 0; i < gold.length; i++) {
    if (gold[i] === IGNORE_INDEX) continue;
    n++;
    if (pred[i] === gold[i]) ok++;
  }
  return n ? ok / n : 0;
}

export interface PrF {
  precision: number;
  recall: number;
  f1: number;
}

function prf(tp: number, fp: number, fn: number): PrF {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/** Per-class precision/recall/F1 (zero when undefined, as sklearn's zero_division=0). */
export function perClassF1(pred: Ints, gold: Ints, classes: readonly number[]): Map<number, PrF> {
  checkLengths(pred, gold);
  const out = new Map<number, PrF>();
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < gold.length; i++) {
      if (gold[i] === IGNORE_INDEX) continue;
      const p = pred[i] === c;
      const g = gold[i] === c;
      if (p && g) tp++;
      else if (p) fp++;
      else if (g) fn++;
    }
    out.set(c, prf(tp, fp, fn));
  }
  return out;
}

/**
 * Unweighted mean of per-class F1. Classes: `numClasses` ids 0..n-1 if given, else the labels present in gold or
 * predictions (sklearn's `f1_score(average='macro')`).
 */
export function macroF1(pred: Ints, gold: Ints, numClasses?: number): number {
  checkLengths(pred, gold);
  let classes: number[];
  if (numClasses !== undefined) classes = Array.from({ length: numClasses }, (_, i) => i);
  else {
    const s = new Set<number>();
    for (let i = 0; i < gold.length; i++) if (gold[i] !== IGNORE_INDEX) s.add(gold[i]!), s.add(pred[i]!);
    classes = [...s].sort((a, b) => a - b);
  }
  if (!classes.length) return 0;
  let sum = 0;
  for (const v of perClassF1(pred, gold, classes).values()) sum += v.f1;
  return sum / classes.length;
}

/**
 * Token-level micro precision/recall/F1 over the non-O labels: a true positive is a position whose gold label is not
 * `outside` and is predicted exactly; a predicted non-O label that differs from gold is a false positive; a gold
 * non-O label not predicted exactly is a false negative. Positions with gold IGNORE_INDEX are skipped.
 */
export function tokenF1(pred: Ints, gold: Ints, outside = 0): PrF {
  checkLengths(pred, gold);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i]!;
    if (g === IGNORE_INDEX) continue;
    const p = pred[i]!;
    if (g !== outside && p === g) tp++;
    else {
      if (p !== outside) fp++;
      if (g !== outside) fn++;
    }
  }
  return prf(tp, fp, fn);
}

/** rouge-score's tokenizer: lower-case, every run of non-[a-z0-9] becomes a space, split, drop empties (no stemming). */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

/** Length of the longest common subsequence of two token lists. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (!a.length || !b.length) return 0;
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
    cur.fill(0);
  }
  return prev[b.length]!;
}

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/**
 * ROUGE-L of a prediction against a reference, as `rouge_scorer.RougeScorer(['rougeL']).score(reference, prediction)`:
 * P = LCS/|pred|, R = LCS/|ref|, F = 2PR/(P+R); all zero when either side has no tokens.
 * `tokenize: 'whitespace'` splits on whitespace only (no lower-casing or punctuation removal).
 */
export function rougeL(prediction: string, reference: string, opts: { tokenize?: 'rouge' | 'whitespace' } = {}): RougeScore {
  const tok = opts.tokenize === 'whitespace' ? (s: string) => s.split(/\s+/).filter(Boolean) : rougeTokenize;
  const p = tok(prediction);
  const r = tok(reference);
  if (!p.length || !r.length) return { precision: 0, recall: 0, fmeasure: 0 };
  const l = lcsLength(p, r);
  const precision = l / p.length;
  const recall = l / r.length;
  const fmeasure = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, fmeasure };
}

/** Mean ROUGE-L F-measure over pairs (what papers report as ROUGE-L, ×100). */
export function meanRougeL(predictions: readonly string[], references: readonly string[], opts: { tokenize?: 'rouge' | 'whitespace' } = {}): number {
  if (predictions.length !== references.length) throw new Error('length mismatch');
  if (!predictions.length) return 0;
  let s = 0;
  for (let i = 0; i < predictions.length; i++) s += rougeL(predictions[i]!, references[i]!, opts).fmeasure;
  return s / predictions.length;
}

/** Perplexity from a mean per-token negative log-likelihood (natural log). */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}

/** Perplexity from a summed NLL over `tokens` tokens (token-weighted, unlike a mean of batch means). */
export function perplexityFromSum(totalNll: number, tokens: number): number {
  if (tokens <= 0) throw new Error('no tokens');
  return Math.exp(totalNll / tokens);
}
