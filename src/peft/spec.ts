/**
 * What a method file exports besides its transforms: its spec, one value the registry (registry.ts) lists. A spec
 * names the method, gives its typed config with defaults (one config type per method, as HF PEFT's
 * PromptTuningConfig), builds it, says which HF PEFT `peft_type` it exports as, its report colour, its default
 * learning rate on the embedded tiny models, and an analysis hook where the method has one (BitFit's ‖Δb‖).
 * The CLI's shared flags (MethodSettings) reach a method only through its `fromSettings`.
 */
import type { BiasType } from './bitfit.js';
import type { BaseModel, PeftMethod } from './method.js';
import type { Params } from '../models/params.js';

/** HF PEFT's prompt-learning adapter types webpeft reads and writes. */
export type PeftType = 'PROMPT_TUNING' | 'P_TUNING' | 'PREFIX_TUNING';

/** The flags the CLI shares between methods (`--virtual-tokens`, `--hidden`, …); saved in a training state. */
export interface MethodSettings {
  virtualTokens?: number;
  /** Prefix MLP hidden size (0 = train the prefix directly); P-tuning encoder hidden size; default the model width. */
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
  promptInit?: 'vocab' | 'random';
  seed?: number;
  /** P-tuning template ("[P3] x [P3] [MASK]"): where the input prompt's virtual tokens go (see template.ts). */
  template?: string;
}

/** A (group, count) row of `webpeft params`. */
export interface GroupCount { group: string; params: number }

/** A before/after analysis of the base parameters a method trains (BitFit: mean |Δb| per element, per layer × bias type). */
export interface MethodAnalysis {
  capture(params: Params): Promise<Map<string, Float64Array>>;
  compare(before: ReadonlyMap<string, ArrayLike<number>>, after: ReadonlyMap<string, ArrayLike<number>>): { layer: string; type: string; meanAbs: number; norm: number; size: number }[];
}

export interface MethodSpec<N extends string = string, C extends object = object> {
  readonly name: N;
  /** The paper's name, for tables and help. */
  readonly title: string;
  /** Every default of the config, in one place. */
  readonly defaults: Readonly<C>;
  build(base: BaseModel, config: C): PeftMethod | Promise<PeftMethod>;
  /** HF PEFT's adapter type, or null where HF PEFT has no file format for the method. */
  readonly peftType: PeftType | null;
  /** Colour in reports (Okabe–Ito palette), stable across runs. */
  readonly color: string;
  /** Learning rate `compare` and `train` use unless told (tuned on the embedded D = 64 models). */
  readonly lr: number;
  /** The CLI's shared flags as this method's config (only the fields it uses). */
  fromSettings(s: MethodSettings): Partial<C>;
  /** Row label in tables ("prefix (MLP)"); default the name. */
  label?(c: C): string;
  /** Trainable base-parameter rows from parameter specs alone (methods whose mask needs no built method). */
  countBase?(params: readonly { name: string; size: number }[], c: C): GroupCount[];
  analysis?: MethodAnalysis;
}

/** Identity with inference: the name stays a literal type, the config type is checked against the defaults. */
export function defineMethod<N extends string, C extends object>(spec: MethodSpec<N, C>): MethodSpec<N, C> {
  return spec;
}

/** `{ a: undefined }` → `{}`: so a setting the user did not give leaves the method's default alone. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
