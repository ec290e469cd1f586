/**
 * The two reference points every table compares against: full fine-tuning (everything trains) and frozen
 * (only the randomly initialised task head trains — the seed's "Frozen").
 */
import { Params } from '../models/params.js';
import type { PeftMethod } from './method.js';
import { defineMethod } from './spec.js';

/** A task head added on top of the pretrained body (HF's modules_to_save): BERT's `classifier`, a GPT-2 `score`. */
export function isTaskHead(name: string): boolean {
  return /^(classifier|score|qa_outputs)\./.test(name);
}

/** Full fine-tuning has no options. */
export type FullFineTuningConfig = Record<string, never>;
/** Frozen has no options: the body is frozen, the head trains. */
export type FrozenConfig = Record<string, never>;

export function fullFineTuning(): PeftMethod {
  return { kind: 'full', params: new Params(), trainsBase: () => true };
}

export function frozen(): PeftMethod {
  return { kind: 'frozen', params: new Params(), trainsBase: isTaskHead };
}

export const fullSpec = defineMethod<'full', FullFineTuningConfig>({
  name: 'full', title: 'Full fine-tuning', defaults: {}, peftType: null, color: '#E69F00',
  // full fine-tuning moves every weight and wants a small step
  lr: 1e-3,
  build: () => fullFineTuning(), fromSettings: () => ({}),
});

export const frozenSpec = defineMethod<'frozen', FrozenConfig>({
  name: 'frozen', title: 'Frozen (head only)', defaults: {}, peftType: null, color: '#000000', lr: 1e-2,
  build: () => frozen(), fromSettings: () => ({}),
});
