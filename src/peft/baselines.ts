/**
 * The two reference points every table compares against: full fine-tuning (everything trains) and frozen
 * (only the randomly initialised task head trains — the seed's "Frozen").
 */
import { Params } from '../models/params.js';
import type { PeftMethod } from './method.js';

/** A task head added on top of the pretrained body (HF's modules_to_save): BERT's `classifier`, a GPT-2 `score`. */
export function isTaskHead(name: string): boolean {
  return /^(classifier|score|qa_outputs)\./.test(name);
}

export function fullFineTuning(): PeftMethod {
  return { kind: 'full', params: new Params(), trainsBase: () => true };
}

export function frozen(): PeftMethod {
  return { kind: 'frozen', params: new Params(), trainsBase: isTaskHead };
}
