/**
 * Infix Tuning: the position ablation of Li & Liang's Prefix-Tuning (§7.2, "[x; INFIX; y]"): the same trainable
 * activations at every layer, placed between the input x and the output y instead of in front of x.
 *
 * What is trained, precisely (GPT-2, L blocks, width D, P infix tokens; BART below). The sequence is x, then P infix slots,
 * then y; the slots take real positions between x and y (slot k of a row whose x has n tokens sits at position
 * n + k, and y follows at n + P …), so position embeddings, the causal mask and the attention mask treat them as
 * ordinary tokens. The method owns a table A of shape (P, L·D); block l of row k, A[k, l·D : (l + 1)·D], is
 *   - l = 0:      the token embedding of slot k (it replaces wte[id]; wpe[position] is added as for any token,
 *                 exactly as a prompt-tuning token is placed);
 *   - 1 ≤ l < L:  the residual stream entering block l at slot k (the model's own value there is discarded).
 * The output of the last block at the slots is the model's own (attention over x and the earlier slots), so the
 * last slot predicts y's first token from x. So x never sees the infix (causal), every token of y sees x and the
 * infix at every layer, and the infix's keys/values at layer l are LN₁(A_l)·W_k, LN₁(A_l)·W_v: one activation per
 * layer where a prefix trains a key and a value. Not overriding the last block's output is deliberate: it would make
 * the first prediction of y a constant, whatever x is.
 *
 * A is trained directly, or (default, as Li & Liang train prefixes) through Embedding(P, D) → Linear(D, h) → tanh →
 * Linear(h, L·D); `collapse()` keeps only the table it produces, so it trains P·L·D values directly, or
 * P·D + (D·h + h) + (h·L·D + L·D) through the MLP. Labels whose target is a slot are −100 (src/peft/hooks.ts).
 * Where the slots are is a `VirtualLayout` of kind 'slots' given with each pass (`infixSlots`, `infixPrompts` build it).
 *
 * BART (an encoder-decoder: x is the source the encoder reads, y the target the decoder writes). The infix is a
 * decoder method, built on the decoder's base (`bartBase(model, 'decoder')`: L = decoder layers): its slots are P
 * decoder positions right after decoder_start, so the decoder input is [start; INFIX; y] — slot k at position 1 + k,
 * y's tokens following at 1 + P … (real decoder positions: the learned position embeddings, the causal mask and the
 * decoder mask treat the slots as tokens, and y shifts by P). Block l of row k of A is
 *   - l = 0:      the token embedding of slot k as BART's decoder forms it (shared[id]·s, s = √D with scale_embedding;
 *                 the position embedding is added and layernorm_embedding applied after, as for any token);
 *   - 1 ≤ l < L:  the hidden state entering decoder layer l at slot k (the output of layer l − 1, after its final
 *                 layer norm; the model's own value is discarded).
 * As on GPT-2 the last layer's output at the slots is the model's own, and it is where y's first token is read: the
 * last slot predicts y₁ (the labels are [−100 × P; y], nothing is read at decoder_start or the earlier slots). The
 * slots' self-attention keys and values at layer l come from A's block l alone, so what y reads of the infix does not
 * depend on x; the last slot's output reads x through cross-attention, as GPT-2's last slot reads x. The encoder is
 * untouched (x's encoding never sees the infix), so the infix sits exactly between x and y. Generation feeds
 * [start; slots] in its first step and reads the first generated token at the last slot; later steps go one token
 * at a time through the cache, which holds the slots' keys and values. `BartPeftModel` (./seq2seq.ts) inserts the
 * slots into every pass itself, so a caller's decoder inputs and labels are the same as without an infix. Slots
 * before decoder_start ([INFIX; start; y]) would move decoder_start off position 0, where BART was pretrained to see
 * it; after it, decoder_start stays as pretrained and the slots see it. BERT has no per-layer hidden hook, and BART's
 * encoder and cross stacks take no infix.
 */
import { noGrad } from '../autograd/op.js';
import { keep, tidy, type Tensor } from '../autograd/tensor.js';
import { Rng } from '../kernels/rng.js';
import type { ModelHooks, ModelInput } from '../models/hooks.js';
import { leftPad } from '../models/generate.js';
import type { BaseModel, PassContext, PeftMethod } from './method.js';
import { isTaskHead } from './baselines.js';
import type { VirtualLayout } from './hooks.js';
import { mlpTable, param, paramsOf } from './tables.js';
import { defineMethod, definedOnly } from './spec.js';

export const INFIX_KEY = 'infix_activations';

export interface InfixTuningConfig {
  numVirtualTokens: number;
  /** The reparameterisation MLP (hidden size default the model width); null trains the (P, L·D) table directly. */
  projection?: { hidden?: number } | null;
  /** Initial (P, L·D) table, e.g. from `activationsOfRun` (only without projection). */
  initial?: Float64Array | Float32Array;
  seed?: number;
  trainHead?: boolean;
}

/** Infix-tuning method; `collapse()` (when reparameterised) returns the equivalent plain-table method. */
export interface InfixMethod extends PeftMethod {
  collapse(): InfixMethod;
}

export function infixTuning(base: BaseModel, c: InfixTuningConfig): InfixMethod {
  if (base.family === 'bert') throw new Error('infix tuning: GPT-2 and BART only (a bert model has no per-layer hidden hook)');
  const P = c.numVirtualTokens;
  const { hidden: D, layers: L } = base;
  const width = L * D;
  const rng = new Rng(c.seed ?? 0);
  const trainHead = c.trainHead ?? true;
  if (!c.projection) {
    const values = c.initial ?? Float64Array.from({ length: P * width }, () => rng.normal());
    if (values.length !== P * width) throw new Error(`infix tuning: initial table has ${values.length} values, expected ${P}×${width} (P × layers·width)`);
    return plainInfix(param(base, INFIX_KEY, [P, width], values), trainHead);
  }
  if (c.initial) throw new Error('infix tuning: `initial` sets a plain table; use projection: null');
  const h = c.projection.hidden ?? D;
  // Embedding → Linear → tanh → Linear, over the P rows: (P, width)
  const { params, produce } = mlpTable(base, P, D, h, width, rng);
  return {
    kind: 'infix', params, trainsBase: trainHead ? isTaskHead : undefined,
    hidden: { numVirtualTokens: P, activations: (_ctx: PassContext) => produce() },
    collapse() {
      const table = keep(tidy(() => noGrad(() => produce())));
      table.name = INFIX_KEY;
      table.requireGrad(true);
      return plainInfix(table, trainHead);
    },
  };
}

/** A (P, L·D) infix table trained directly (or a collapsed one). */
export function plainInfix(table: Tensor, trainHead: boolean): InfixMethod {
  const method: InfixMethod = {
    kind: 'infix', params: paramsOf([table]), trainsBase: trainHead ? isTaskHead : undefined,
    hidden: { numVirtualTokens: table.shape[0], activations: () => table },
    collapse: () => method,
  };
  return method;
}

/**
 * The base model's own activations at positions [from, from + P) of one run (B = 1), as a (P, L·D) infix table:
 * the token embeddings entering the model (block 0) and the residual stream entering blocks 1 … L − 1. An infix
 * made this way, placed at those positions, gives the run back exactly (override by the own value is the identity).
 */
export async function activationsOfRun(base: BaseModel, forward: (hooks: ModelHooks) => void, from: number, P: number): Promise<Float64Array> {
  const { layers: L, hidden: D } = base;
  const captured: Tensor[] = [];
  noGrad(() => forward({
    input: (x: ModelInput) => { captured[0] = x.embeds.detach(); return x; },
    hidden: (layer: number, h: Tensor) => { captured[layer] = h.detach(); return h; },
  }));
  if (captured.length !== L) throw new Error(`activationsOfRun: captured ${captured.length} layers, the model has ${L}`);
  const out = new Float64Array(P * L * D);
  for (let l = 0; l < L; l++) {
    const h = await captured[l].data(); // (1, T, D)
    for (let k = 0; k < P; k++) for (let d = 0; d < D; d++) out[k * L * D + l * D + d] = h[(from + k) * D + d];
    captured[l].dispose();
  }
  return out;
}

/** Slots (B·T, row-major) with virtual token k at `starts[b] + k` of row b, −1 elsewhere. */
export function infixSlots(starts: ArrayLike<number>, T: number, P: number): VirtualLayout & { kind: 'slots' } {
  const slots = new Int32Array(starts.length * T).fill(-1);
  for (let b = 0; b < starts.length; b++) {
    if (starts[b] < 0 || starts[b] + P > T) throw new Error(`infix: row ${b} has its ${P} slots at ${starts[b]}, outside its ${T} positions`);
    for (let k = 0; k < P; k++) slots[b * T + starts[b] + k] = k;
  }
  return { kind: 'slots', slots };
}

/**
 * Generation prompts x; INFIX; after (e.g. a separator), left-padded as `generate` pads them, with the layout of the
 * first pass: each row's slots are the P positions before its `after` tokens.
 */
export function infixPrompts(rows: { x: number[]; after?: number[] }[], P: number, placeholderId: number, padId: number):
  { prompts: number[][]; layout: VirtualLayout & { kind: 'slots' } } {
  const prompts = rows.map((r) => [...r.x, ...new Array<number>(P).fill(placeholderId), ...(r.after ?? [])]);
  const T = leftPad(prompts, padId).ids[0].length;
  return { prompts, layout: infixSlots(rows.map((r) => T - (r.after?.length ?? 0) - P), T, P) };
}

export const infixTuningSpec = defineMethod<'infix', InfixTuningConfig>({
  name: 'infix', title: 'Infix Tuning (Prefix-Tuning §7.2)', peftType: null, color: '#F0E442', lr: 1e-2,
  defaults: { numVirtualTokens: 10, projection: {}, seed: 0, trainHead: true },
  build: (base, c) => infixTuning(base, c),
  fromSettings: (s) => definedOnly({
    numVirtualTokens: s.virtualTokens, seed: s.seed,
    projection: s.hidden === undefined ? undefined : s.hidden === 0 ? null : { hidden: s.hidden },
  }),
  label: (c) => (c.projection ? 'infix (MLP)' : 'infix'),
});
