import { Bert } from '../models/bert.js';
import { Gpt2 } from '../models/gpt2.js';
import type { BaseModel } from './method.js';

/** What PEFT methods see of a GPT-2 or BERT model. */
export function baseOf(model: Gpt2 | Bert): BaseModel {
  if (model instanceof Gpt2) {
    const c = model.config;
    return { family: 'gpt2', layers: c.nLayer, heads: c.nHead, hidden: c.nEmbd, vocabSize: c.vocabSize, params: model.params,
      wordEmbeddings: model.params.tensor('wte.weight') };
  }
  const c = model.config;
  return { family: 'bert', layers: c.numHiddenLayers, heads: c.numAttentionHeads, hidden: c.hiddenSize, vocabSize: c.vocabSize,
    params: model.params, wordEmbeddings: model.params.tensor('bert.embeddings.word_embeddings.weight') };
}
