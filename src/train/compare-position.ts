/**
 * `webpeft compare --ablation position`: where the virtual tokens sit, Li & Liang's Prefix-Tuning §7.2 ("Prefixing
 * vs Infixing", and its embedding-only ablation), on GPT-2 generation (--task subject: mail body x → subject y):
 *
 *   prefix          [PREFIX; x; y]  a key and a value at every layer in front of x (prefix tuning)
 *   infix           [x; INFIX; y]   the activations at P slots between x and y at every layer (../peft/infix-tuning.ts)
 *   embedding only  [P; x; y]       P free input embeddings in front of x, the upper layers computed by the model
 *                                   (prompt tuning: the paper's "embedding-only", whose word embeddings are free parameters)
 *   frozen          x; y            nothing trains: the floor the others are read against
 *
 * Prefix and infix train the same number of virtual tokens through the same reparameterisation (Embedding(P, D) →
 * Linear(D, h) → tanh → Linear(h, ·), h the --hidden setting, by default the model width; --hidden 0 trains both
 * directly); they differ only in the last layer's width — 2·L·D for a prefix's key and value, L·D for an infix's one
 * activation per layer — so the infix trains fewer parameters, which the trainable column shows. Every variant is
 * run under the compare protocol (its own learning rate, early stopping on validation ROUGE-L, seeds as --seeds, test
 * scored once; on this task a check that ties the best ROUGE-L counts as a gain when its validation target loss is
 * lower, ../train/task-build.ts) and a main row of the same method is the same run, so it is reused. The paper reports prefix ≥ infix
 * (and both well above embedding-only); at a tiny model's scale ROUGE-L can sit at the floor, so the rows carry the
 * teacher-forced loss of the reference subjects (and ROUGE-1/2) with their standard errors too.
 */
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { buildMethod } from '../peft/registry.js';
import type { MethodSettings } from '../peft/spec.js';
import type { AblationResult, MethodResult } from '../report/results.js';

/** The ablation's rows, in order: method and label. */
export const POSITION_VARIANTS: readonly { method: string; label: string }[] = [
  { method: 'prefix', label: 'prefix [PREFIX; x; y]' },
  { method: 'infix', label: 'infix [x; INFIX; y]' },
  { method: 'prompt', label: 'embedding only [P; x; y] (prompt tuning)' },
  { method: 'frozen', label: 'frozen (no virtual tokens)' },
];

/** The task the ablation runs on (the only one whose inputs take infix slots). */
export const POSITION_TASK = 'subject';

/** What a method trains: its number of virtual tokens (0 for none) and its reparameterisation MLP's hidden size (null: none). */
export interface VirtualShape { method: string; virtualTokens: number; mlpHidden: number | null; trainable: number }

export function virtualShape(method: string, m: PeftMethod): VirtualShape {
  const virtualTokens = m.kv?.numVirtualTokens ?? m.hidden?.numVirtualTokens ?? m.input?.numVirtualTokens ?? 0;
  const mlp = m.params.get('transform.0.weight');
  return { method, virtualTokens, mlpHidden: mlp ? mlp.shape[0]! : null, trainable: m.params.count() };
}

/**
 * Builds every variant on `base` with the compare's shared settings and checks what makes the comparison one of
 * position only: prefix, infix and embedding-only train the same number of virtual tokens, and prefix and infix the
 * same MLP (or both none). One line naming the difference otherwise.
 */
export async function positionShapes(base: BaseModel, settings: MethodSettings): Promise<VirtualShape[]> {
  const shapes: VirtualShape[] = [];
  for (const { method } of POSITION_VARIANTS) {
    const m = await buildMethod(method, base, { ...settings, seed: 0 });
    shapes.push(virtualShape(method, m));
    m.params.dispose();
  }
  const [prefix, infix, prompt] = shapes as [VirtualShape, VirtualShape, VirtualShape];
  if (prefix.virtualTokens < 1) throw new Error(`--ablation position: --virtual-tokens must be at least 1 (got ${prefix.virtualTokens}: nothing to place)`);
  if (prefix.virtualTokens !== infix.virtualTokens || prompt.virtualTokens !== prefix.virtualTokens) {
    throw new Error(`--ablation position: prefix, infix and embedding-only would train ${prefix.virtualTokens}, ${infix.virtualTokens} and ${prompt.virtualTokens} virtual tokens; expected one number`);
  }
  if (prefix.mlpHidden !== infix.mlpHidden) {
    throw new Error(`--ablation position: prefix and infix would train through MLPs of hidden size ${prefix.mlpHidden ?? 'none'} and ${infix.mlpHidden ?? 'none'}; expected the same`);
  }
  return shapes;
}

/**
 * The rows: each variant's result (a main row of the same method when there is one: the same run), mean ± standard
 * error over the seeds, with its further metrics.
 */
export async function positionAblation(main: readonly MethodResult[], shapes: readonly VirtualShape[],
  runVariant: (label: string, method: string) => Promise<MethodResult>): Promise<AblationResult> {
  const rows = await Promise.all(POSITION_VARIANTS.map(async ({ method, label }, x) => {
    const r = main.find((m) => m.method === method) ?? await runVariant(label, method);
    return { label, method, x, validation: r.validation, validationSe: r.validationSe, test: r.test, testSe: r.testSe, trainable: r.trainable,
      extra: r.extra, extraSe: r.extraSe };
  }));
  const prefix = shapes.find((s) => s.method === 'prefix')!;
  return {
    kind: 'position', title: 'Position of the virtual tokens on GPT-2: prefix vs infix vs embedding only', rows,
    virtualTokens: prefix.virtualTokens, mlpHidden: prefix.mlpHidden ?? 0,
  };
}
