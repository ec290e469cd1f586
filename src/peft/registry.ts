/**
 * Every method, one line each: `MethodName`, the CLI's choices, `params`, `compare`, the HF PEFT format and the
 * report's colours all read this list. Adding a method is its file (transforms + a `MethodSpec`) plus one line here.
 */
import { frozenSpec, fullSpec } from './baselines.js';
import { bitFitSpec } from './bitfit.js';
import { infixTuningSpec } from './infix-tuning.js';
import { prefixTuningSpec } from './prefix-tuning.js';
import { promptTuningSpec } from './prompt-tuning.js';
import { pTuningSpec } from './p-tuning.js';
import { pTuningV2Spec } from './p-tuning-v2.js';
import { composeMethods } from './compose.js';
import type { BaseModel, PeftMethod } from './method.js';
import type { MethodSettings, MethodSpec, PeftType } from './spec.js';

export const METHOD_SPECS = [
  fullSpec,
  frozenSpec,
  bitFitSpec,
  prefixTuningSpec,
  promptTuningSpec,
  pTuningSpec,
  pTuningV2Spec,
  infixTuningSpec,
] as const;

type AnySpec = (typeof METHOD_SPECS)[number];
export type MethodName = AnySpec['name'];
/** Every method's name. */
export const ALL_METHOD_NAMES: MethodName[] = METHOD_SPECS.map((s) => s.name);
/**
 * The seed's methods and the two baselines — what `compare` runs by default on any task. Infix tuning, the
 * Prefix-Tuning paper's position ablation, runs on GPT-2 and BART's decoder only and needs its slots laid out (by the
 * task on GPT-2, by BartPeftModel on BART): asked for by name.
 */
export const METHOD_NAMES: MethodName[] = ALL_METHOD_NAMES.filter((n) => n !== 'infix');
/** The typed config of a method by name: MethodConfig<'prompt'> is PromptTuningConfig. */
export type MethodConfig<N extends MethodName> = Extract<AnySpec, { name: N }> extends MethodSpec<N, infer C> ? C : never;

export function isMethodName(name: string): name is MethodName {
  return (ALL_METHOD_NAMES as string[]).includes(name);
}

/** The spec of a method by name, or an error listing the known ones. */
export function methodSpec<N extends MethodName>(name: N): Extract<AnySpec, { name: N }>;
export function methodSpec(name: string): AnySpec;
export function methodSpec(name: string): AnySpec {
  const spec = METHOD_SPECS.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown method '${name}' (known: ${ALL_METHOD_NAMES.join(', ')}; compose with '+', e.g. bitfit+prompt)`);
  return spec;
}

/** A method from its typed config; fields left out take the spec's defaults. */
export async function createMethod<N extends MethodName>(name: N, base: BaseModel, config: Partial<MethodConfig<N>> = {}): Promise<PeftMethod> {
  const spec = methodSpec(name) as unknown as MethodSpec<N, MethodConfig<N>>;
  return spec.build(base, { ...spec.defaults, ...config } as MethodConfig<N>);
}

/** The full config a spec builds from the CLI's shared settings (defaults filled in). */
export function configFromSettings(name: MethodName, s: MethodSettings): object {
  const spec = methodSpec(name) as MethodSpec;
  return { ...spec.defaults, ...spec.fromSettings(s) };
}

/** 'bitfit+prompt' → ['bitfit', 'prompt'], each checked. */
export function parseMethodList(text: string): MethodName[] {
  const parts = text.split('+').map((p) => p.trim());
  for (const p of parts) methodSpec(p);
  if (new Set(parts).size !== parts.length) throw new Error(`method '${text}' names a method twice`);
  return parts as MethodName[];
}

/** A method (or a composition such as 'bitfit+prompt') from the CLI's shared settings. */
export async function buildMethod(name: string, base: BaseModel, s: MethodSettings): Promise<PeftMethod> {
  const parts = parseMethodList(name);
  const built: PeftMethod[] = [];
  for (const p of parts) {
    const spec = methodSpec(p) as MethodSpec;
    built.push(await spec.build(base, configFromSettings(p, s)));
  }
  return built.length === 1 ? built[0] : composeMethods(built);
}

/** Learning rate for a method or composition (the smallest of its parts': the most fragile part sets the step). */
export function defaultLr(name: string): number {
  return Math.min(...parseMethodList(name).map((p) => methodSpec(p).lr));
}

/** Table label for a method under the CLI's settings ('prefix (MLP)', 'ptuning (LSTM)', 'bitfit+prompt'). */
export function methodLabel(name: string, s: MethodSettings): string {
  return parseMethodList(name).map((p) => {
    const spec = methodSpec(p) as MethodSpec;
    return spec.label?.(configFromSettings(p, s)) ?? p;
  }).join('+');
}

/** HF PEFT's peft_type of a method kind, or null (full, frozen, BitFit, compositions have no HF PEFT format). */
export function peftTypeOf(kind: string): PeftType | null {
  return METHOD_SPECS.find((s) => s.name === kind)?.peftType ?? null;
}

/** The report colour of a method (by name), if it has one. */
export function methodColor(name: string): string | undefined {
  return METHOD_SPECS.find((s) => s.name === name)?.color;
}
