/**
 * ROUGE-1, ROUGE-2 and ROUGE-L F-measures of generations against references, as Google's rouge-score computes them
 * (`RougeScorer(['rouge1', 'rouge2', 'rougeL'])`, no stemming): its tokenizer (lower-case, runs of non-[a-z0-9] are
 * separators), ROUGE-N from clipped n-gram overlap, ROUGE-L from the longest common subsequence (../data/metrics.ts).
 * Each F is 0 when either side has no n-grams. Browser-safe.
 */
import { type RougeScore, rougeL, rougeTokenize } from '../data/metrics.js';

export interface RougeScores { rouge1: number; rouge2: number; rougeL: number }

const ngramCounts = (tokens: readonly string[], n: number): Map<string, number> => {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
};

/** ROUGE-N: overlap = Σ min(count_pred(g), count_ref(g)); P = overlap / #pred n-grams, R = overlap / #ref n-grams. */
export function rougeN(prediction: string, reference: string, n: number): RougeScore {
  const p = ngramCounts(rougeTokenize(prediction), n);
  const r = ngramCounts(rougeTokenize(reference), n);
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const np = total(p);
  const nr = total(r);
  if (np === 0 || nr === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  let overlap = 0;
  for (const [g, c] of p) overlap += Math.min(c, r.get(g) ?? 0);
  const precision = overlap / np;
  const recall = overlap / nr;
  return { precision, recall, fmeasure: overlap === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** The three F-measures of one pair. */
export function rougeScores(prediction: string, reference: string): RougeScores {
  return { rouge1: rougeN(prediction, reference, 1).fmeasure, rouge2: rougeN(prediction, reference, 2).fmeasure, rougeL: rougeL(prediction, reference).fmeasure };
}

/** Mean F-measures over pairs (0 for none). */
export function meanRouge(predictions: readonly string[], references: readonly string[]): RougeScores {
  if (predictions.length !== references.length) throw new Error(`rouge: ${predictions.length} predictions for ${references.length} references`);
  const sum = { rouge1: 0, rouge2: 0, rougeL: 0 };
  predictions.forEach((p, i) => {
    const s = rougeScores(p, references[i]!);
    sum.rouge1 += s.rouge1; sum.rouge2 += s.rouge2; sum.rougeL += s.rougeL;
  });
  const n = Math.max(1, predictions.length);
  return { rouge1: sum.rouge1 / n, rouge2: sum.rouge2 / n, rougeL: sum.rougeL / n };
}
