/**
 * HF PEFT's get_peft_model in TypeScript: a model and a typed config (or a list of them, a composition) → a
 * PeftModel. The config is a union discriminated by `method`, so `{ method: 'prompt', numVirtualTokens: 20 }`
 * type-checks against PromptTuningConfig and anything not given takes the method's defaults (registry.ts).
 */
import type { AnyModel } from '../models/model.js';
import { baseOf } from './base.js';
import { composeMethods } from './compose.js';
import type { PeftMethod } from './method.js';
import { PeftModel } from './peft-model.js';
import { createMethod, type MethodConfig, type MethodName } from './registry.js';

export type PeftConfig = { [N in MethodName]: { method: N } & Partial<MethodConfig<N>> }[MethodName];

/** The method a config describes, on `model`'s shapes. */
export async function methodFromConfig(model: AnyModel, config: PeftConfig): Promise<PeftMethod> {
  const { method, ...rest } = config;
  return createMethod(method, baseOf(model), rest as Partial<MethodConfig<typeof method>>);
}

/** `model` under one method, or under the composition of several (e.g. BitFit + prompt tuning). */
export async function getPeftModel<M extends AnyModel>(model: M, config: PeftConfig | PeftConfig[]): Promise<PeftModel<M>> {
  const configs = Array.isArray(config) ? config : [config];
  const methods: PeftMethod[] = [];
  for (const c of configs) methods.push(await methodFromConfig(model, c));
  return new PeftModel(model, [composeMethods(methods)]);
}
