/**
 * A base model under PEFT methods: the masks applied once, the hooks built for each pass. One adapter is a
 * list of methods (they compose); several adapters make a mixed batch (row b uses adapters[adapterIds[b]]).
 */
import { tensor } from '../autograd/create.js';
import { mul } from '../autograd/functions.js';
import { keep, type Tensor } from '../autograd/tensor.js';
import { Bert, type BertInput, type BertOutput } from '../models/bert.js';
import { Gpt2, type Gpt2Input, type Gpt2Output } from '../models/gpt2.js';
import { generate, type GenerateOptions, type GenerateResult } from '../models/generate.js';
import { noGradAsync } from '../autograd/op.js';
import { tidyAsync } from '../autograd/tensor.js';
import { baseOf } from './base.js';
import { buildHooks, type VirtualLayout } from './hooks.js';
import { applyMasks, type BaseModel, type PeftMethod, trainableCount } from './method.js';

export interface PeftPass {
  /** Row b uses adapter adapterIds[b] (several adapters). */
  adapterIds?: Int32Array;
  /** Template slots for virtual tokens (P-tuning templates); default: in front. */
  layout?: VirtualLayout;
}

export class PeftModel<M extends Gpt2 | Bert = Gpt2 | Bert> {
  readonly base: BaseModel;
  readonly adapters: PeftMethod[][];

  constructor(readonly model: M, adapters: PeftMethod[] | PeftMethod[][]) {
    this.base = baseOf(model);
    this.adapters = adapters.length > 0 && Array.isArray(adapters[0]) ? (adapters as PeftMethod[][]) : [adapters as PeftMethod[]];
    applyMasks(this.base, this.adapters.flat());
  }

  /** Every tensor that trains (unmasked base parameters and the methods' own). */
  trainable(): Tensor[] {
    return [...this.base.params.trainable(), ...this.adapters.flat().flatMap((m) => m.params.trainable())];
  }

  counts() { return trainableCount(this.base, this.adapters.flat()); }

  /** Multiplies gradients by the methods' element masks (BitFit's query slice of GPT-2's fused bias). */
  maskGradients(): void {
    for (const m of this.adapters.flat()) {
      if (!m.gradMask) continue;
      for (const [name, t] of this.base.params) {
        const mask = t.grad ? m.gradMask(name) : null;
        if (!mask || !t.grad) continue;
        const g = t.grad;
        t.grad = maskTensor(g, mask);
        g.dispose();
      }
    }
  }

  forward(input: (M extends Gpt2 ? Gpt2Input : BertInput) & PeftPass): M extends Gpt2 ? Gpt2Output : BertOutput {
    const B = input.ids.shape[0];
    const hooks = buildHooks(this.base, this.adapters, {
      ctx: { batch: B, train: input.train ?? false, seed: input.seed ?? 0 },
      adapterIds: input.adapterIds,
      layout: input.layout,
    });
    const merged = { ...input, hooks };
    return (this.model as Gpt2 | Bert).forward(merged as Gpt2Input & BertInput) as M extends Gpt2 ? Gpt2Output : BertOutput;
  }
}

/**
 * GPT-2 generation under the adapters, through the KV cache: the prompt/prefix tensors are computed once and
 * live for the whole generation; `adapterIds` picks each row's adapter in a mixed batch.
 */
export async function generateWith(peft: PeftModel<Gpt2>, prompts: number[][], o: Omit<GenerateOptions, 'hooks'> & { adapterIds?: Int32Array }):
  Promise<GenerateResult> {
  return noGradAsync(() => tidyAsync(async () => {
    const hooks = buildHooks(peft.base, peft.adapters, {
      ctx: { batch: prompts.length, train: false, seed: 0 }, adapterIds: o.adapterIds,
    });
    return generate(peft.model, prompts, { ...o, hooks });
  }));
}

function maskTensor(g: Tensor, mask: Float32Array): Tensor {
  const m = tensor(mask, g.shape, { backend: g.backend, dtype: g.dtype });
  const out = keep(mul(g, m));
  m.dispose();
  return out;
}
