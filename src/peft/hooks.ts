/**
 * Turns methods into the model hooks for one forward pass. This is the one place where virtual tokens
 * meet attention masks, position ids and labels, for every method:
 *   - input prompts: P virtual embeddings go in front of the tokens (or into template slots); the mask gets
 *     1s, positions shift by P (virtual tokens take 0…P−1, as HF does with inputs_embeds), labels get −100;
 *   - KV prefixes: each layer's keys/values get P positions in front, the key mask 1s; GPT-2 positions start
 *     at P (kvPrefixLength), as HF does with past_key_values.
 *   - infix activations: at template slots among the real tokens, the input embedding and the residual stream
 *     entering every later layer are replaced (the slots keep their real positions), labels whose target is a slot
 *     get −100 (GPT-2: the labels at the slots; BART, whose labels are the next tokens: the labels one before them).
 * Mixed-adapter batches: row b uses adapter adapterIds[b]; the adapters' tables are stacked and each row
 * gathers its own (an embedding lookup, so gradients scatter back to the right adapter).
 */
import { tensor } from '../autograd/create.js';
import { add, concat, embedding, expand, matmul, mul, narrow, permute, reshape } from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import { wrap } from '../autograd/op.js';
import { castTo } from '../models/attention.js';
import type { LayerKV, ModelHooks, ModelInput } from '../models/hooks.js';
import type { BaseModel, PassContext, PeftMethod } from './method.js';

/** Where virtual tokens go: in front of the sequence, or into slots a template left (see template.ts). */
export type VirtualLayout =
  | { kind: 'prepend' }
  /** slots (B·T, row-major): −1 for a real token, k for virtual token k of the row's prompt. */
  | { kind: 'slots'; slots: Int32Array };

export interface HookOptions {
  ctx: PassContext;
  /** Row b uses adapters[adapterIds[b]] (default: every row uses adapters[0]). */
  adapterIds?: Int32Array;
  layout?: VirtualLayout;
}

/** Rows (B, P, W) from per-adapter tables (P, W): shared when one adapter, gathered per row when several. */
function perRow(tables: Tensor[], o: HookOptions): Tensor {
  const [P, W] = tables[0].shape;
  const B = o.ctx.batch;
  if (tables.length === 1) return expand(reshape(tables[0], [1, P, W]), [B, P, W]);
  for (const t of tables) {
    if (t.shape[0] !== P || t.shape[1] !== W) {
      throw new Error(`mixed-adapter batch: adapters must have the same shape, got [${P}, ${W}] and [${t.shape.join(', ')}]`);
    }
  }
  const ids = o.adapterIds!;
  if (ids.length !== B) throw new Error(`mixed-adapter batch: ${ids.length} adapter ids for ${B} rows`);
  for (const a of ids) if (a < 0 || a >= tables.length) throw new Error(`adapter id ${a} outside [0, ${tables.length})`);
  const stacked = concat(tables.map((t) => reshape(t, [1, P * W])), 0);
  const rowIds = tensor(ids, [B], { backend: tables[0].backend, dtype: 'i32' });
  return reshape(embedding(stacked, rowIds), [B, P, W]);
}

/** The tables of one kind from each adapter, each adapter's methods concatenated along P. */
function tablesOf(adapters: PeftMethod[][], pick: (m: PeftMethod) => Tensor | null): Tensor[] | null {
  const tables = adapters.map((methods) => {
    const parts = methods.map(pick).filter((t): t is Tensor => t !== null);
    return parts.length === 0 ? null : parts.length === 1 ? parts[0] : concat(parts, 0);
  });
  if (tables.every((t) => t === null)) return null;
  if (tables.some((t) => t === null)) throw new Error('mixed-adapter batch: every adapter must rewrite the same places');
  return tables as Tensor[];
}

function i32Like(like: Tensor, B: number, T: number, value: (b: number, t: number) => number): Tensor {
  const v = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) v[b * T + t] = value(b, t);
  return tensor(v, [B, T], { backend: like.backend, dtype: 'i32' });
}

/** (B, T) i32 + k, through the float kernels (position ids are far below 2^24, exact in f32). */
function shiftIds(ids: Tensor, k: number): Tensor {
  const shifted = add(castTo(ids, 'f32'), k);
  return wrap(ids.backend, ids.backend.cast(shifted.storage, shifted.size, 'f32', 'i32'), ids.shape, 'i32');
}

/**
 * [virtual; x]: embeddings, mask, positions, labels and segment ids all get P leading positions. Virtual tokens
 * take positions firstPosition… (after a KV prefix, as HF numbers inputs_embeds after past_key_values).
 */
export function prependVirtual(x: ModelInput, virtual: Tensor, firstPosition = 0): ModelInput {
  const [B, P] = virtual.shape;
  const ones = tensor(new Float64Array(B * P).fill(1), [B, P], { backend: virtual.backend, dtype: x.attentionMask.dtype });
  return {
    embeds: concat([virtual, x.embeds], 1),
    ids: null,
    attentionMask: concat([ones, x.attentionMask], 1),
    positionIds: concat([i32Like(virtual, B, P, (_b, t) => firstPosition + t), shiftIds(x.positionIds, P)], 1),
    tokenTypeIds: x.tokenTypeIds ? concat([i32Like(virtual, B, P, () => 0), x.tokenTypeIds], 1) : undefined,
    labels: x.labels ? concat([i32Like(virtual, B, P, () => -100), x.labels], 1) : undefined,
  };
}

/** Virtual embeddings into template slots: embeds ⊙ (1 − isVirtual) + onehot(slots) @ virtual. */
export function placeVirtual(x: ModelInput, virtual: Tensor, slots: Int32Array): ModelInput {
  return { ...x, ids: null, embeds: atSlots(x.embeds, virtual, slots) };
}

/** h ⊙ (1 − isVirtual) + onehot(slots) @ virtual: h (B, T, D) with its rows at the slots replaced by virtual (B, P, D). */
function atSlots(h: Tensor, virtual: Tensor, slots: Int32Array): Tensor {
  const [B, P] = virtual.shape;
  const T = h.shape[1];
  if (slots.length !== B * T) throw new Error(`template slots cover ${slots.length} positions, the batch has ${B}×${T}`);
  const onehot = new Float64Array(B * T * P);
  const real = new Float64Array(B * T).fill(1);
  slots.forEach((k, i) => {
    if (k < 0) return;
    if (k >= P) throw new Error(`template slot ${k} but the prompt has ${P} virtual tokens`);
    onehot[i * P + k] = 1;
    real[i] = 0;
  });
  const opts = { backend: virtual.backend, dtype: virtual.dtype };
  const placed = matmul(tensor(onehot, [B, T, P], opts), virtual); // (B, T, D)
  return add(mul(h, tensor(real, [B, T, 1], opts)), placed);
}

/** The hooks of a list of adapters (each a list of methods) for one pass. */
export function buildHooks(base: BaseModel, adapters: PeftMethod[][], o: HookOptions): ModelHooks {
  if (adapters.length > 1 && !o.adapterIds) throw new Error('several adapters need adapterIds (one per row)');
  const hooks: ModelHooks = {};
  const kvTables = tablesOf(adapters, (m) => m.kv?.prefix(o.ctx) ?? null);
  if (kvTables) {
    const { layers: L, heads: H, hidden: D } = base;
    const P = kvTables[0].shape[0];
    if (kvTables[0].shape[1] !== 2 * L * D) throw new Error(`prefix width ${kvTables[0].shape[1]} != 2·layers·hidden = ${2 * L * D}`);
    // (2L, B, H, P, Dh), computed once per pass (and kept across the steps of a generation)
    const B = o.ctx.batch;
    const byLayer = permute(reshape(perRow(kvTables, o), [B, P, 2 * L, H, D / H]), [2, 0, 3, 1, 4]);
    hooks.kvPrefixLength = () => P;
    hooks.kv = (layer: number, kv: LayerKV): LayerKV => {
      const keys = reshape(narrow(byLayer, 0, 2 * layer, 1), [B, H, P, D / H]);
      const values = reshape(narrow(byLayer, 0, 2 * layer + 1, 1), [B, H, P, D / H]);
      const ones = tensor(new Float64Array(B * P).fill(1), [B, P], { backend: kv.keys.backend, dtype: kv.attentionMask.dtype });
      return {
        keys: concat([keys, kv.keys], 2),
        values: concat([values, kv.values], 2),
        attentionMask: concat([ones, kv.attentionMask], 1),
      };
    };
  }
  const inputTables = tablesOf(adapters, (m) => m.input?.embeddings(o.ctx) ?? null);
  if (inputTables) {
    const virtual = perRow(inputTables, o);
    const layout = o.layout ?? { kind: 'prepend' };
    if (layout.kind === 'prepend') hooks.inputPrefixLength = () => virtual.shape[1];
    hooks.input = (x) => (layout.kind === 'prepend' ? prependVirtual(x, virtual, hooks.kvPrefixLength?.() ?? 0) : placeVirtual(x, virtual, layout.slots));
  }
  const hiddenTables = tablesOf(adapters, (m) => m.hidden?.activations(o.ctx) ?? null);
  if (hiddenTables) {
    if (inputTables) throw new Error('infix tuning does not compose with an input prompt in one adapter (both write the input layer)');
    if (o.layout?.kind !== 'slots') throw new Error('infix tuning needs the positions of its slots: give a layout { kind: \'slots\', slots } (see infixSlots, infixPrompts)');
    const { layers: L, hidden: D } = base;
    const all = perRow(hiddenTables, o); // (B, P, L·D)
    if (all.shape[2] !== L * D) throw new Error(`infix width ${all.shape[2]} != layers·hidden = ${L * D}`);
    const slots = o.layout.slots;
    const atLayer = (l: number) => narrow(all, 2, l * D, D); // (B, P, D)
    // GPT-2's labels[t] is the token at t (its loss shifts), BART's the token after t (its decoder inputs are the labels
    // shifted right): either way, what is ignored is every label whose target is a slot
    const shift = base.family === 'bart' ? 1 : 0;
    hooks.input = (x) => ({ ...placeVirtual(x, atLayer(0), slots), labels: x.labels ? ignoreAtSlots(x.labels, slots, shift) : undefined });
    // a KV cache holds the slots after the first pass; later passes feed only new (real) tokens
    hooks.hidden = (layer, h, past) => (past > 0 ? h : atSlots(h, atLayer(layer), slots));
  }
  return hooks;
}

/**
 * Labels −100 wherever their target is a virtual slot (it has no target), through the float kernels (ids < 2^24 are
 * exact): label (b, t) is ignored when position t + shift of row b is a slot (shift 0: GPT-2's labels, 1: BART's).
 */
function ignoreAtSlots(labels: Tensor, slots: Int32Array, shift: 0 | 1): Tensor {
  if (slots.length !== labels.size) throw new Error(`template slots cover ${slots.length} positions, the labels ${labels.size}`);
  const T = labels.shape[labels.rank - 1]!;
  const isSlot = (i: number) => (i % T) + shift < T && slots[i + shift]! >= 0;
  const opts = { backend: labels.backend, dtype: 'f32' as const };
  const real = tensor(Float32Array.from(slots, (_k, i) => (isSlot(i) ? 0 : 1)), labels.shape, opts);
  const ignored = tensor(Float32Array.from(slots, (_k, i) => (isSlot(i) ? -100 : 0)), labels.shape, opts);
  const mixed = add(mul(castTo(labels, 'f32'), real), ignored);
  return wrap(labels.backend, labels.backend.cast(mixed.storage, mixed.size, 'f32', 'i32'), labels.shape, 'i32');
}
