/**
 * A base model under PEFT methods (HF PEFT's PeftModel): the parameter masks applied once, the hooks built for each
 * pass. One adapter is a list of methods (they compose); several adapters make a mixed batch (row b uses
 * adapters[adapterIds[b]]). The element masks (BitFit's query third of GPT-2's fused q/k/v bias) are gradient hooks on
 * the base tensors, set here: every backward through any loss applies them, so no training loop can forget them.
 */
import { tensor } from '../autograd/create.js';
import { mul } from '../autograd/functions.js';
import { noGradAsync } from '../autograd/op.js';
import { keep, tidyAsync, type Tensor } from '../autograd/tensor.js';
import { generate, type GenerateOptions, type GenerateResult } from '../models/generate.js';
import type { Gpt2 } from '../models/gpt2.js';
import type { AnyModel, InputOf, OutputOf } from '../models/model.js';
import { baseOf } from './base.js';
import { buildHooks, type VirtualLayout } from './hooks.js';
import { applyMasks, type BaseModel, type PeftMethod, trainableCount } from './method.js';

export interface PeftPass {
  /** Row b uses adapter adapterIds[b] (several adapters). */
  adapterIds?: Int32Array;
  /** Template slots for virtual tokens (P-tuning templates); default: in front. */
  layout?: VirtualLayout;
  /** Observes each layer's attention probabilities (B, H, T, S) in this pass (ModelHooks.attentionProbs). */
  onAttention?: (layer: number, probs: Tensor) => void;
}

export interface TrainableCounts { trainable: number; base: number; percent: number }

export class PeftModel<M extends AnyModel = AnyModel> {
  readonly base: BaseModel;
  readonly adapters: PeftMethod[][];
  private enabled = true;
  /** Element masks kept on the device while set as gradient hooks. */
  private readonly masks: Tensor[] = [];

  constructor(readonly model: M, adapters: PeftMethod[] | PeftMethod[][]) {
    this.base = baseOf(model);
    this.adapters = adapters.length > 0 && Array.isArray(adapters[0]) ? (adapters as PeftMethod[][]) : [adapters as PeftMethod[]];
    applyMasks(this.base, this.adapters.flat());
    this.setGradientMasks();
  }

  /** Every tensor that trains (unmasked base parameters and the methods' own). */
  trainable(): Tensor[] {
    return [...this.base.params.trainable(), ...this.adapters.flat().flatMap((m) => m.params.trainable())];
  }

  counts(): TrainableCounts { return trainableCount(this.base, this.adapters.flat()); }

  /** HF PEFT's print_trainable_parameters line: "trainable params: … || all params: … || trainable%: …". */
  trainableParametersLine(): string {
    const c = this.counts();
    return `trainable params: ${c.trainable.toLocaleString('en-US')} || all params: ${c.base.toLocaleString('en-US')} || trainable%: ${c.percent.toFixed(4)}`;
  }

  printTrainableParameters(): void { console.log(this.trainableParametersLine()); }

  /** Runs `fn` with the adapters switched off (the base model as it is), as HF's `with disable_adapter():`. */
  withAdaptersDisabled<T>(fn: () => T): T {
    const was = this.enabled;
    this.enabled = false;
    try {
      const out = fn();
      if (out instanceof Promise) return out.finally(() => { this.enabled = was; }) as T;
      this.enabled = was;
      return out;
    } catch (e) {
      this.enabled = was;
      throw e;
    }
  }

  forward(input: InputOf<M> & PeftPass): OutputOf<M> {
    if (!this.enabled) return this.model.forward(input);
    const hooks = buildHooks(this.base, this.adapters, {
      ctx: { batch: input.ids.shape[0], train: input.train ?? false, seed: input.seed ?? 0 },
      adapterIds: input.adapterIds,
      layout: input.layout,
    });
    if (input.onAttention) hooks.attentionProbs = input.onAttention;
    return this.model.forward({ ...input, hooks });
  }

  /** GPT-2 generation under the adapters, through the KV cache (see generateWith). */
  generate(this: PeftModel<Gpt2>, prompts: number[][], o: GenerateWithOptions): Promise<GenerateResult> {
    return this.enabled ? generateWith(this, prompts, o) : generate(this.model, prompts, o);
  }

  /**
   * The base model back, as it was before PEFT apart from what trained in place (BitFit's biases, a head): every
   * parameter trainable again, the gradient masks removed, the methods' own tensors freed. HF's `unload()`; for
   * BitFit, full fine-tuning and frozen it is also `merge_and_unload()` (their change is in the weights already).
   */
  unload(): M {
    this.clearGradientMasks();
    for (const t of this.base.params.values()) t.requireGrad(true);
    for (const m of this.adapters.flat()) m.params.dispose();
    return this.model;
  }

  /**
   * HF's merge_and_unload where a merge exists: BitFit, full fine-tuning and frozen changed the weights in place, so
   * the base model is the merged model. Prompt-family methods have no merge (their virtual tokens are inputs, not a
   * weight change): `collapse()` keeps only the table they produce.
   */
  mergeAndUnload(): M {
    const virtual = this.adapters.flat().find((m) => m.input || m.kv);
    if (virtual) throw new Error(`${virtual.kind}: no merge into the weights (its virtual tokens are an input); use collapse() instead`);
    return this.unload();
  }

  /** The same adapters with every encoder collapsed (prefix MLP, P-tuning's LSTM → their output tables). */
  collapse(): PeftModel<M> {
    const collapsed = this.adapters.map((methods) => methods.map((m) => (m as { collapse?: () => PeftMethod }).collapse?.() ?? m));
    return new PeftModel(this.model, collapsed);
  }

  private setGradientMasks(): void {
    const methods = this.adapters.flat();
    for (const [name, t] of this.base.params) {
      if (!t.requiresGrad) continue;
      // an element trains when any method trains it; a method that trains the whole tensor (no mask) wins
      const masks = methods.filter((m) => m.trainsBase?.(name)).map((m) => m.gradMask?.(name) ?? null);
      if (masks.length === 0 || masks.some((x) => x === null)) continue;
      const union = new Float32Array(t.size);
      for (const mask of masks) mask!.forEach((x, i) => { if (x) union[i] = 1; });
      const mask = keep(tensor(union, t.shape, { backend: t.backend, dtype: t.dtype }));
      this.masks.push(mask);
      t.gradHook = (g) => mul(g, mask);
    }
  }

  private clearGradientMasks(): void {
    for (const t of this.base.params.values()) t.gradHook = null;
    for (const m of this.masks) m.dispose();
    this.masks.length = 0;
  }
}

export type GenerateWithOptions = Omit<GenerateOptions, 'hooks'> & {
  adapterIds?: Int32Array;
  /** Virtual-token slots of the first pass over the left-padded prompts (infix tuning: see infixPrompts). */
  layout?: VirtualLayout;
};

/**
 * GPT-2 generation under the adapters, through the KV cache: the prompt/prefix tensors are computed once and
 * live for the whole generation; `adapterIds` picks each row's adapter in a mixed batch.
 */
export async function generateWith(peft: PeftModel<Gpt2>, prompts: number[][], o: GenerateWithOptions): Promise<GenerateResult> {
  return noGradAsync(() => tidyAsync(async () => {
    const hooks = buildHooks(peft.base, peft.adapters, {
      ctx: { batch: prompts.length, train: false, seed: 0 }, adapterIds: o.adapterIds, layout: o.layout,
    });
    return generate(peft.model, prompts, { ...o, hooks });
  }));
}
