/**
 * P-Tuning v2 (Liu et al., "P-Tuning v2: Prompt Tuning Can Be Comparable to Fine-tuning Universally Across
 * Scales and Tasks"): deep prompts — a prefix at every layer as in prefix tuning — trained directly (no
 * reparameterisation by default), with a randomly initialised classification head on [CLS] (no verbalizer)
 * or a token-level head for sequence labelling (virtual positions carry no labels: they live in the keys,
 * never in the sequence). Prompt length per task: ≈20 for simple classification, ≈100 for hard tasks.
 */
import type { BaseModel } from './method.js';
import { type PrefixMethod, prefixTuning } from './prefix-tuning.js';
import { defineMethod, definedOnly } from './spec.js';

export interface PTuningV2Config {
  numVirtualTokens: number;
  /** Optional reparameterisation (the paper finds it rarely helps); default none. */
  projection?: { hidden?: number } | null;
  dropout?: number;
  seed?: number;
  /** A prefix to start from (multi-task prompt pretraining, then transfer). */
  initial?: Float64Array | Float32Array;
}

export function pTuningV2(base: BaseModel, c: PTuningV2Config): PrefixMethod {
  const m = prefixTuning(base, { ...c, projection: c.projection ?? null, trainHead: true });
  return { ...m, kind: 'ptuning-v2' };
}

/** Suggested prompt length for a task (the paper's ablation): short for simple classification, long for hard tasks. */
export function suggestedPromptLength(task: 'classification' | 'sequence-labelling' | 'reading-comprehension'): number {
  return task === 'classification' ? 20 : 100;
}

export const pTuningV2Spec = defineMethod<'ptuning-v2', PTuningV2Config>({
  name: 'ptuning-v2', title: 'P-Tuning v2', peftType: 'PREFIX_TUNING', color: '#D55E00',
  // its paper uses 5e-3 … 2e-2 on BERT-large-sized models; on the D = 64 bert-tiny, spam validation after 100–400
  // steps rose from 1e-3 to a peak at 1e-1 (0.833; 3e-1: 0.825) — bench/results/compare-spam-ptuningv2-lr-*.json
  lr: 1e-1,
  // 20 virtual tokens, the paper's length for simple classification (suggestedPromptLength): on spam validation,
  // seeds 42-44, 0.896 ± 0.005 against 0.869 ± 0.008 at 10 (bench/results/compare-spam-ptuningv2-p20-seeds42-44-2026-12-04.json;
  // seeds 45-47 with compare's --min-steps: 0.885 ± 0.006)
  defaults: { numVirtualTokens: suggestedPromptLength('classification'), projection: null, dropout: 0, seed: 0 },
  build: (base, c) => pTuningV2(base, c),
  fromSettings: (s) => definedOnly({ numVirtualTokens: s.virtualTokens, seed: s.seed }),
});
