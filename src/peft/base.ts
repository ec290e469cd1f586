import type { Model } from '../models/model.js';
import type { BaseModel } from './method.js';

/** What PEFT methods see of a model (GPT-2, BERT, any `Model`). */
export function baseOf(model: Model): BaseModel {
  return { ...model.dims, params: model.params, wordEmbeddings: model.wordEmbeddings };
}
