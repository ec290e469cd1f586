/**
 * P-Tuning (Liu et al., "GPT Understands, Too"): continuous virtual tokens produced by a prompt encoder
 * (bi-LSTM + MLP, or MLP only) at the input layer only. The virtual tokens may sit anywhere in a template,
 * e.g. "{p:3} {x} {p:3} [MASK]" with real anchor tokens kept (see template.ts); without a template they go in
 * front. After training, `collapse()` keeps only the encoder's output — the table HF PEFT exports.
 */
import { noGrad } from '../autograd/op.js';
import { keep, tidy } from '../autograd/tensor.js';
import { isTaskHead } from './baselines.js';
import type { BaseModel, PeftMethod } from './method.js';
import { type EncoderKind, encodePrompt, promptEncoderParams } from './prompt-encoder.js';
import { PROMPT_KEY, promptMethod } from './prompt-tuning.js';
import { defineMethod, definedOnly } from './spec.js';

export interface PTuningConfig {
  numVirtualTokens: number;
  encoder?: EncoderKind;
  /** Encoder hidden size (HF's encoder_hidden_size); default the model width. */
  encoderHidden?: number;
  seed?: number;
  trainHead?: boolean;
}

export interface PTuningMethod extends PeftMethod {
  readonly encoder: EncoderKind;
  readonly encoderHidden: number;
  /** The plain (P, D) prompt the encoder produces now: a prompt-table method. */
  collapse(): PeftMethod;
}

export function pTuning(base: BaseModel, c: PTuningConfig): PTuningMethod {
  const encoder = c.encoder ?? 'lstm';
  const hidden = c.encoderHidden ?? base.hidden;
  const params = promptEncoderParams(base, { numVirtualTokens: c.numVirtualTokens, kind: encoder, hidden, seed: c.seed });
  const trainHead = c.trainHead ?? true;
  return {
    kind: 'ptuning',
    params,
    encoder,
    encoderHidden: hidden,
    trainsBase: trainHead ? isTaskHead : undefined,
    input: { numVirtualTokens: c.numVirtualTokens, embeddings: () => encodePrompt(params, encoder, hidden) },
    collapse() {
      const table = keep(tidy(() => noGrad(() => encodePrompt(params, encoder, hidden))));
      table.name = PROMPT_KEY;
      table.requireGrad(true);
      return promptMethod('ptuning', table, trainHead);
    },
  };
}

export const pTuningSpec = defineMethod<'ptuning', PTuningConfig>({
  name: 'ptuning', title: 'P-Tuning', peftType: 'P_TUNING', color: '#CC79A7', lr: 1e-2,
  defaults: { numVirtualTokens: 10, encoder: 'lstm', seed: 0, trainHead: true },
  build: (base, c) => pTuning(base, c),
  fromSettings: (s) => definedOnly({
    numVirtualTokens: s.virtualTokens, encoder: s.encoder, seed: s.seed,
    encoderHidden: s.hidden === undefined || s.hidden === 0 ? undefined : s.hidden,
  }),
  label: (c) => `ptuning (${(c.encoder ?? 'lstm').toUpperCase()})`,
});
