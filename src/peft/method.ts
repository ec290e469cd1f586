/**
 * A PEFT method is three transforms plus the parameters it owns (MISSION.md, "Transforms"):
 *   - a parameter mask: which base-model parameters train (BitFit's biases, a task head, all of them);
 *   - an input rewrite: virtual token embeddings placed in the input sequence (prompt tuning, P-tuning);
 *   - a KV rewrite: key/value prefixes at every layer (prefix tuning, P-tuning v2);
 *   - a hidden rewrite: the activations at virtual positions among the real ones, at every layer (infix tuning).
 * Methods compose: a list of methods is one method (BitFit + prompt tuning). The models see only hooks.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { Params } from '../models/params.js';

/** What a method needs to know of the base model. */
export interface BaseModel {
  family: 'gpt2' | 'bert' | 'bart';
  layers: number;
  heads: number;
  /** Model width D (= heads · head size). */
  hidden: number;
  vocabSize: number;
  /** The base model's parameters by HF key (word embeddings for prompt init, biases for BitFit). */
  params: Params;
  /** The (V, D) word-embedding table. */
  wordEmbeddings: Tensor;
}

/** Per forward pass. */
export interface PassContext {
  /** Rows in the batch. */
  batch: number;
  train: boolean;
  /** Seed for this pass's dropout masks. */
  seed: number;
}

/** A source of P virtual-token embeddings for the input layer. */
export interface InputPrompt {
  readonly numVirtualTokens: number;
  /** (P, D) — computed from the method's parameters (through its encoder, if any). */
  embeddings(ctx: PassContext): Tensor;
}

/** A source of per-layer key/value prefixes. */
export interface KvPrefix {
  readonly numVirtualTokens: number;
  /** (P, 2·L·D) in HF PEFT's layout: for layer l, keys are block 2l and values block 2l + 1 of width D. */
  prefix(ctx: PassContext): Tensor;
}

/** Per-layer activations at virtual positions placed among the real tokens (infix tuning). */
export interface LayerActivations {
  readonly numVirtualTokens: number;
  /**
   * (P, L·D): block l of row k is what enters layer l at virtual token k — the token embedding for l = 0 (position
   * embeddings are added after), the residual stream for 1 ≤ l < L.
   */
  activations(ctx: PassContext): Tensor;
}

export interface PeftMethod {
  /** Short name as the CLI and reports use it ('bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2', 'full', 'frozen'). */
  readonly kind: string;
  /** Parameters the method owns, by adapter key (prompt tables, encoders). */
  readonly params: Params;
  /** Base-model parameters (HF keys) this method trains; absent = none. */
  trainsBase?(name: string): boolean;
  input?: InputPrompt;
  kv?: KvPrefix;
  /** Activations at every layer at template slots (needs a 'slots' layout). */
  hidden?: LayerActivations;
  /**
   * Element mask (1 train, 0 keep) for a base parameter that trains only in part — BitFit's query bias inside
   * GPT-2's fused q/k/v bias. Applied to the gradient; with no weight decay on biases the rest stays bit-identical.
   */
  gradMask?(name: string): Float32Array | null;
}

/** The trainable tensors of a base model under a list of methods, with the mask applied (others frozen). */
export function applyMasks(base: BaseModel, methods: PeftMethod[]): void {
  for (const [name, t] of base.params) t.requireGrad(methods.some((m) => m.trainsBase?.(name) ?? false));
}

/** Every tensor that trains: the base model's unmasked ones and every method's own. */
export function trainableTensors(base: BaseModel, methods: PeftMethod[]): Tensor[] {
  return [...base.params.trainable(), ...methods.flatMap((m) => m.params.trainable())];
}

/** Counts for reports: trainable elements and their share of the base model. */
export function trainableCount(base: BaseModel, methods: PeftMethod[]): { trainable: number; base: number; percent: number } {
  const trainable = trainableTensors(base, methods).reduce((n, t) => n + t.size, 0);
  const total = base.params.count();
  return { trainable, base: total, percent: (100 * trainable) / total };
}
