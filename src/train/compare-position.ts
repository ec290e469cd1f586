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
 *
 * On BART (--task subject-seq2seq, ./seq2seq-compare.ts: x the body the encoder reads, y the subject the decoder writes):
 *
 *   prefix          [PREFIX; x; PREFIX'; y]  the paper's three prefix sets (encoder self-attention, decoder
 *                                            self-attention, cross-attention), each through its own MLP, as
 *                                            --ablation prefix-placement's "encoder + decoder" row
 *   infix           [x; INFIX; y]            the activations at P decoder slots between decoder_start and y at every
 *                                            decoder layer, one MLP (../peft/infix-tuning.ts)
 *   embedding only  [P; x; y]                P free input embeddings in front of the encoder's x (prompt tuning)
 *   frozen          x; y                     nothing trains
 *
 * Every prefix set and the infix have the same P and the same MLP hidden size; the prefix trains three MLPs whose
 * last layers are 2·L·D wide (L each stack's depth), the infix one of width L·D (the decoder's), so on BART the prefix
 * has several times the infix's parameters: the trainable column shows them.
 */
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { buildMethod } from '../peft/registry.js';
import type { MethodSettings } from '../peft/spec.js';
import type { AblationResult, MethodResult } from '../report/results.js';

/** A variant of the ablation: method and row label. */
export interface PositionVariant { method: string; label: string }

/** The ablation's rows on GPT-2, in order. */
export const POSITION_VARIANTS: readonly PositionVariant[] = [
  { method: 'prefix', label: 'prefix [PREFIX; x; y]' },
  { method: 'infix', label: 'infix [x; INFIX; y]' },
  { method: 'prompt', label: 'embedding only [P; x; y] (prompt tuning)' },
  { method: 'frozen', label: 'frozen (no virtual tokens)' },
];

/** The ablation's rows on BART, in the same order (the methods of POSITION_VARIANTS). */
export const BART_POSITION_VARIANTS: readonly PositionVariant[] = [
  { method: 'prefix', label: "prefix [PREFIX; x; PREFIX'; y] (3 prefix sets)" },
  { method: 'infix', label: 'infix [x; INFIX; y] (decoder slots)' },
  { method: 'prompt', label: 'embedding only [P; x; y] (prompt tuning)' },
  { method: 'frozen', label: 'frozen (no virtual tokens)' },
];

/** The GPT-2 task the ablation runs on (the only one whose inputs take infix slots); on BART it is subject-seq2seq. */
export const POSITION_TASK = 'subject';

/** The one-line error for --ablation position on another task. */
export const POSITION_TASK_ERROR = (task: string) =>
  `--ablation position is an ablation of --task ${POSITION_TASK} (GPT-2 generation) or subject-seq2seq (BART), not of --task ${task}`;

/** What a variant trains: its number of virtual tokens (0 for none), its reparameterisation MLP's hidden size (null: none), its parameters. */
export interface VirtualShape { method: string; virtualTokens: number; mlpHidden: number | null; trainable: number }

/**
 * The shape of a variant made of one method or several (BART's prefix: one per attention stack); several must agree on
 * the virtual tokens and the MLP, and the trainable count is their sum.
 */
export function virtualShape(method: string, m: PeftMethod | readonly PeftMethod[]): VirtualShape {
  const parts = (Array.isArray(m) ? m : [m]) as readonly PeftMethod[];
  const shapes = parts.map((p) => {
    const mlp = p.params.get('transform.0.weight');
    return { virtualTokens: p.kv?.numVirtualTokens ?? p.hidden?.numVirtualTokens ?? p.input?.numVirtualTokens ?? 0, mlpHidden: mlp ? mlp.shape[0]! : null };
  });
  const first = shapes[0] ?? { virtualTokens: 0, mlpHidden: null };
  if (shapes.some((x) => x.virtualTokens !== first.virtualTokens || x.mlpHidden !== first.mlpHidden)) {
    throw new Error(`--ablation position: the ${method} variant's methods differ in virtual tokens or MLP (${shapes.map((x) => `${x.virtualTokens}/${x.mlpHidden ?? 'none'}`).join(', ')})`);
  }
  return { method, ...first, trainable: parts.reduce((n, p) => n + p.params.count(), 0) };
}

/** Builds every GPT-2 variant on `base` with the compare's shared settings and checks them (`checkPositionShapes`). */
export async function positionShapes(base: BaseModel, settings: MethodSettings): Promise<VirtualShape[]> {
  const shapes: VirtualShape[] = [];
  for (const { method } of POSITION_VARIANTS) {
    const m = await buildMethod(method, base, { ...settings, seed: 0 });
    shapes.push(virtualShape(method, m));
    m.params.dispose();
  }
  return checkPositionShapes(shapes);
}

/**
 * What makes the comparison one of position only: prefix, infix and embedding-only train the same number of virtual
 * tokens, and prefix and infix the same MLP (or both none). One line naming the difference otherwise.
 */
export function checkPositionShapes(shapes: VirtualShape[]): VirtualShape[] {
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
  runVariant: (label: string, method: string) => Promise<MethodResult>, model: 'GPT-2' | 'BART' = 'GPT-2'): Promise<AblationResult> {
  const variants = model === 'BART' ? BART_POSITION_VARIANTS : POSITION_VARIANTS;
  const rows = await Promise.all(variants.map(async ({ method, label }, x) => {
    const r = main.find((m) => m.method === method) ?? await runVariant(label, method);
    return { label, method, x, validation: r.validation, validationSe: r.validationSe, test: r.test, testSe: r.testSe, trainable: r.trainable,
      extra: r.extra, extraSe: r.extraSe };
  }));
  const prefix = shapes.find((s) => s.method === 'prefix')!;
  return {
    kind: 'position', title: `Position of the virtual tokens on ${model}: prefix vs infix vs embedding only`, rows,
    virtualTokens: prefix.virtualTokens, mlpHidden: prefix.mlpHidden ?? 0, family: model === 'BART' ? 'bart' : 'gpt2',
  };
}
