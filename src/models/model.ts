/**
 * What every model offers (GPT-2 and BERT alike), so PEFT code needs no switch on the family: its parameters by HF
 * key, its shape, its word-embedding table, and a forward pass that takes the three hooks.
 */
import type { Backend } from '../autograd/backend.js';
import type { FloatDType } from '../autograd/dtype.js';
import type { Tensor } from '../autograd/tensor.js';
import type { SavedCheckpoint } from './checkpoint.js';
import type { ModelHooks } from './hooks.js';
import type { Params } from './params.js';

export interface ModelDims {
  /** The architecture (adapters record it, and refuse another). */
  family: 'gpt2' | 'bert' | 'bart';
  layers: number;
  heads: number;
  /** Model width D (= heads · head size). */
  hidden: number;
  vocabSize: number;
}

/** The part of a forward call every model takes. */
export interface ModelCall {
  /** (B, T) i32 token ids. */
  ids: Tensor;
  attentionMask?: Tensor;
  labels?: Tensor;
  hooks?: ModelHooks;
  /** Dropout on, with masks drawn from `seed`. */
  train?: boolean;
  seed?: number;
}

export interface ModelResult {
  logits?: Tensor;
  /** Mean loss, when labels were given. */
  loss?: Tensor;
}

export interface Model<I extends ModelCall = ModelCall, O extends ModelResult = ModelResult> {
  readonly params: Params;
  readonly dims: ModelDims;
  /** The (V, D) word-embedding table (prompt initialisation, device and dtype of method tensors). */
  readonly wordEmbeddings: Tensor;
  readonly backend: Backend;
  readonly dtype: FloatDType;
  forward(input: I): O;
  /** The parameters in HF's checkpoint layout. */
  save(): Promise<SavedCheckpoint>;
  dispose(): void;
}

/** Any model, whatever its call and result types (what PeftModel wraps). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModel = Model<any, any>;
export type InputOf<M extends AnyModel> = Parameters<M['forward']>[0];
export type OutputOf<M extends AnyModel> = ReturnType<M['forward']>;
