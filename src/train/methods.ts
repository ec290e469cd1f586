/** Builds a method by name with the options the CLI exposes, and the learning rates `compare` uses for each. */
import { frozen, fullFineTuning } from '../peft/baselines.js';
import { bitFit, type BiasType } from '../peft/bitfit.js';
import type { MethodName } from '../peft/counts.js';
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { pTuning } from '../peft/p-tuning.js';
import { pTuningV2 } from '../peft/p-tuning-v2.js';
import { prefixTuning } from '../peft/prefix-tuning.js';
import { promptTuning, type PromptInit } from '../peft/prompt-tuning.js';

export interface MethodSettings {
  virtualTokens: number;
  /** Prefix MLP hidden size (0 = train the prefix directly); P-tuning encoder hidden size. */
  hidden: number;
  encoder: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
  promptInit?: PromptInit['kind'];
  seed: number;
}

/**
 * Learning rates for the tiny embedded models (D = 64): full fine-tuning moves every weight and wants a small
 * step; methods that train few parameters from scratch want larger ones (the papers use 1e-2 … 3e-1 for prompts).
 */
export const DEFAULT_LR: Record<MethodName, number> = {
  full: 1e-3, frozen: 1e-2, bitfit: 1e-2, prefix: 1e-2, prompt: 3e-2, ptuning: 1e-2, 'ptuning-v2': 1e-2,
};

export async function buildMethod(name: MethodName, base: BaseModel, s: MethodSettings): Promise<PeftMethod> {
  const P = s.virtualTokens;
  switch (name) {
    case 'full': return fullFineTuning();
    case 'frozen': return frozen();
    case 'bitfit': return bitFit(base, { types: s.biasTypes });
    case 'prefix': return prefixTuning(base, { numVirtualTokens: P, projection: s.hidden > 0 ? { hidden: s.hidden } : null, seed: s.seed });
    case 'prompt': return promptTuning(base, { numVirtualTokens: P, init: { kind: (s.promptInit ?? 'vocab') as 'vocab' | 'random' }, seed: s.seed });
    case 'ptuning': return pTuning(base, { numVirtualTokens: P, encoder: s.encoder, encoderHidden: s.hidden > 0 ? s.hidden : undefined, seed: s.seed });
    case 'ptuning-v2': return pTuningV2(base, { numVirtualTokens: P, seed: s.seed });
  }
}
