/**
 * PEFT on an encoder-decoder (BART). The model has three attention stacks — encoder self-attention, decoder
 * self-attention, decoder cross-attention — and an adapter is a list of methods per stack: the Prefix-Tuning paper's
 * `z = [PREFIX; x; PREFIX'; y]` is a prefix in each of the three (its code keeps three prefix sets), prompt tuning is
 * an input method on the encoder, P-tuning v2 a plain prefix per stack. Each stack is a `BaseModel` of its own (its
 * layer count), so the existing methods build unchanged; the hooks are built once per pass by `buildHooks`, the one
 * place where masks, positions and labels meet virtual tokens.
 *
 * HF PEFT's PeftModelForSeq2SeqLM passes past_key_values to the decoder only (and its prefix stands for both decoder
 * stacks); `bartPrefixPlacement(model, c, 'decoder')` is that setting, and the three-stack form ('all') is the paper's.
 *
 * Infix tuning ([x; INFIX; y], ./infix-tuning.ts) is a decoder method: its P slots are decoder positions 1 … P, between
 * decoder_start and the target y, and `BartPeftModel` inserts them into each pass itself (`withDecoderSlots`), so the
 * callers' inputs and labels are the same as without it; generation feeds decoder_start and the P slots first.
 */
import { noGradAsync } from '../autograd/op.js';
import { type Tensor, tidyAsync } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { concat, narrow } from '../autograd/functions.js';
import { noGrad, wrap } from '../autograd/op.js';
import { tidy } from '../autograd/tensor.js';
import { Rng } from '../kernels/rng.js';
import { type Bart, BartCache, type BartHooks, type BartInput, type BartOutput } from '../models/bart.js';
import { ModelInputError, castTo, filled } from '../models/common.js';
import { type GenerateOptions, argmax, sample } from '../models/generate.js';
import type { LayerKV, ModelHooks } from '../models/hooks.js';
import { buildHooks, type VirtualLayout } from './hooks.js';
import { infixSlots } from './infix-tuning.js';
import { applyMasks, type BaseModel, type PassContext, type PeftMethod } from './method.js';
import { type PrefixMethod, type PrefixTuningConfig, prefixTuning } from './prefix-tuning.js';

export type BartStack = 'encoder' | 'decoder' | 'cross';
export const BART_STACKS: readonly BartStack[] = ['encoder', 'decoder', 'cross'];

/** Methods per attention stack. */
export type BartAdapter = Partial<Record<BartStack, PeftMethod[]>>;

/** What a method sees of one stack: its layer count and heads, the shared embedding table. */
export function bartBase(model: Bart, stack: BartStack): BaseModel {
  const c = model.config;
  const encoder = stack === 'encoder';
  return {
    family: 'bart', layers: encoder ? c.encoderLayers : c.decoderLayers,
    heads: encoder ? c.encoderAttentionHeads : c.decoderAttentionHeads, hidden: c.dModel, vocabSize: c.vocabSize,
    params: model.params, wordEmbeddings: model.params.tensor('model.shared.weight'),
  };
}

/** Prefix tuning in the given stacks (default all three), each through its own reparameterisation. */
export function bartPrefixTuning(model: Bart, c: PrefixTuningConfig, stacks: readonly BartStack[] = BART_STACKS): Record<BartStack, PrefixMethod[]> {
  const out: Record<BartStack, PrefixMethod[]> = { encoder: [], decoder: [], cross: [] };
  stacks.forEach((stack, k) => out[stack].push(prefixTuning(bartBase(model, stack), { ...c, seed: (c.seed ?? 0) * 3 + k })));
  return out;
}

/**
 * Where BART's prefixes go: 'all' — the Prefix-Tuning paper's three prefix sets (encoder self-attention, decoder
 * self-attention, decoder cross-attention), each through its own reparameterisation; 'decoder' — HF PEFT's
 * PeftModelForSeq2SeqLM form: one prefix, passed to the decoder only, whose K/V serve both its self-attention and its
 * cross-attention (PEFT concatenates the same past_key_values for the two), the encoder untouched.
 */
export type BartPrefixPlacement = 'all' | 'decoder';

export function bartPrefixPlacement(model: Bart, c: PrefixTuningConfig, placement: BartPrefixPlacement): BartAdapter {
  if (placement === 'all') return bartPrefixTuning(model, c);
  if (placement === 'decoder') {
    const shared = prefixTuning(bartBase(model, 'decoder'), c);
    return { decoder: [shared], cross: [shared] };
  }
  const _: never = placement;
  throw new Error(`bart prefix placement: unknown ${String(_)}`);
}

/** Where a decoder infix's slots sit: decoder positions INFIX_START … INFIX_START + P − 1 (after decoder_start). */
export const INFIX_START = 1;

/** A BART model under an adapter: masks applied once, hooks per stack built for each pass. */
export class BartPeftModel {
  /** Infix slots in the decoder (0 without an infix): P decoder positions after decoder_start in every pass. */
  readonly decoderSlots: number;

  constructor(readonly model: Bart, readonly adapter: BartAdapter) {
    if (adapter.cross?.some((m) => m.input)) throw new Error('bart: cross-attention takes K/V methods only (an input method belongs to the encoder or decoder)');
    for (const stack of ['encoder', 'cross'] as const) {
      const infix = adapter[stack]?.find((m) => m.hidden);
      if (infix) throw new Error(`bart: ${infix.kind} rewrites decoder layers (its slots are decoder positions); it cannot sit in the ${stack} stack`);
    }
    this.decoderSlots = (adapter.decoder ?? []).reduce((n, m) => n + (m.hidden?.numVirtualTokens ?? 0), 0);
    applyMasks(bartBase(model, 'encoder'), this.methods());
  }

  /** Each method once (a method may serve two stacks: HF PEFT's decoder prefix in self- and cross-attention). */
  methods(): PeftMethod[] { return [...new Set(BART_STACKS.flatMap((s) => this.adapter[s] ?? []))]; }

  /** Every tensor that trains: unmasked base parameters and every method's own. */
  trainable(): Tensor[] {
    return [...this.model.params.trainable(), ...this.methods().flatMap((m) => m.params.trainable())];
  }

  /**
   * The hooks of one pass (batch B) whose decoder input has `decoderLength` positions with the infix slots in them
   * (needed only under a decoder infix: the slots' layout).
   */
  hooks(ctx: PassContext, decoderLength = INFIX_START + this.decoderSlots): BartHooks {
    const hooks: BartHooks = {};
    const P = this.decoderSlots;
    const layout: VirtualLayout | undefined = P > 0 ? infixSlots(new Array<number>(ctx.batch).fill(INFIX_START), decoderLength, P) : undefined;
    for (const stack of BART_STACKS) {
      const methods = this.adapter[stack];
      if (methods && methods.length > 0) hooks[stack] = buildHooks(bartBase(this.model, stack), [methods], { ctx, layout: stack === 'decoder' ? layout : undefined });
    }
    return hooks;
  }

  /** The model's forward under the adapter; under a decoder infix its P slots are inserted first (`withDecoderSlots`). */
  forward(input: Omit<BartInput, 'hooks'>): BartOutput {
    const ctx = { batch: input.ids.shape[0], train: input.train ?? false, seed: input.seed ?? 0 };
    if (this.decoderSlots === 0) return this.model.forward({ ...input, hooks: this.hooks(ctx) });
    if (input.cache && input.cache.length > 0) throw new ModelInputError('bart: a cached pass under an infix goes through generateWithBart (the slots belong to the first pass)');
    const slotted = withDecoderSlots(input, this.decoderSlots, this.model.config.padTokenId ?? 1);
    const T = (slotted.decoderIds ?? slotted.labels)!.shape[1];
    return this.model.forward({ ...slotted, hooks: this.hooks(ctx, T) });
  }
}

/**
 * A pass's decoder inputs with P infix slots after decoder_start (positions 1 … P; what follows shifts by P):
 * decoderIds [d₀, d₁, …] → [d₀, placeholder × P, d₁, …]; labels [l₀, l₁, …] → [−100 × P, l₀, l₁, …] (l₀, the target
 * read at d₀, is now read at the last slot; nothing is read at d₀ and the earlier slots); a decoder mask gets 1s at
 * the slots. Without decoderIds the model takes them from the new labels by its shift, which puts pad at the slots.
 */
export function withDecoderSlots<I extends Pick<BartInput, 'decoderIds' | 'labels' | 'decoderAttentionMask'>>(input: I, P: number, placeholder: number): I {
  const out = { ...input };
  const labels = input.labels;
  if (!input.decoderIds && !labels) throw new ModelInputError('bart: give decoderIds or labels (decoder inputs are labels shifted right)');
  if (labels) out.labels = concat([filled(labels, [labels.shape[0], P], -100, 'i32'), labels], 1);
  if (input.decoderIds) out.decoderIds = insertAfterFirst(input.decoderIds, P, placeholder, 'i32');
  if (input.decoderAttentionMask) out.decoderAttentionMask = insertAfterFirst(input.decoderAttentionMask, P, 1, input.decoderAttentionMask.dtype === 'f64' ? 'f64' : 'f32');
  return out;
}

/** (B, T) → (B, T + P): column 0, then P columns of `value`, then columns 1 …; ids through the f32 kernels (exact below 2^24). */
function insertAfterFirst(x: Tensor, P: number, value: number, dtype: 'i32' | 'f32' | 'f64'): Tensor {
  const [B, T] = x.shape as [number, number];
  if (T === 0) throw new ModelInputError('bart: an empty decoder input has no decoder_start to put the infix after');
  const f = castTo(x, dtype === 'f64' ? 'f64' : 'f32');
  const parts = [narrow(f, 1, 0, 1), filled(f, [B, P], value, f.dtype as 'f32' | 'f64')];
  if (T > 1) parts.push(narrow(f, 1, 1, T - 1));
  const joined = concat(parts, 1);
  return dtype === 'i32' ? wrap(joined.backend, joined.backend.cast(joined.storage, joined.size, 'f32', 'i32'), joined.shape, 'i32') : joined;
}

export interface Seq2seqGenerateOptions extends Pick<GenerateOptions, 'maxNewTokens' | 'greedy' | 'temperature' | 'topK' | 'topP' | 'seed' | 'returnLogits'> {
  /** Stop tokens (default eos_token_id). */
  stopTokens?: number[];
  hooks?: BartHooks;
  /** Tokens the first step feeds after decoder_start (HF's decoder_input_ids prompt; not returned): an infix's slots. */
  decoderPrefix?: number[];
}

export interface Seq2seqResult {
  /** Per row: generated tokens after decoder_start, up to and including a stop token. */
  tokens: number[][];
  stepLogits?: Float64Array[][];
}

/**
 * Encoder once, then the decoder one token at a time through a BartCache (self-attention K/V grow, cross K/V are
 * computed on the first step and kept). Sources are right-padded with pad_token_id and masked, as HF batches them.
 */
export async function generateSeq2seq(model: Bart, sources: number[][], o: Seq2seqGenerateOptions): Promise<Seq2seqResult> {
  const c = model.config;
  if (sources.length === 0) throw new ModelInputError('generate: no sources');
  sources.forEach((s, b) => {
    if (s.length === 0) throw new ModelInputError(`generate: source ${b} is empty`);
    const bad = s.find((id) => !(Number.isInteger(id) && id >= 0 && id < c.vocabSize));
    if (bad !== undefined) throw new ModelInputError(`generate: source ${b} has token ${bad} outside the vocabulary [0, ${c.vocabSize})`);
  });
  const pad = c.padTokenId ?? 1;
  const S = Math.max(...sources.map((s) => s.length));
  const B = sources.length;
  const ids = sources.flatMap((s) => [...s, ...new Array<number>(S - s.length).fill(pad)]);
  const mask = sources.flatMap((s) => [...new Array<number>(s.length).fill(1), ...new Array<number>(S - s.length).fill(0)]);
  const stops = new Set(o.stopTokens ?? (c.eosTokenId === null ? [] : [c.eosTokenId]));
  const greedy = o.greedy ?? (o.temperature === undefined && o.topK === undefined && o.topP === undefined);
  const rng = new Rng(o.seed ?? 0);
  const where = { backend: model.backend };
  const tokens: number[][] = sources.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const stepLogits: Float64Array[][] = [];
  const cache = new BartCache(c.decoderLayers);
  const V = c.vocabSize;
  try {
    const first = [c.decoderStartTokenId, ...(o.decoderPrefix ?? [])];
    let next = sources.flatMap(() => first);
    for (let step = 0; step < o.maxNewTokens; step++) {
      const last = noGrad(() => tidy(() => {
        const out = model.forward({
          ids: tensor(ids, [B, S], { ...where, dtype: 'i32' }),
          attentionMask: tensor(mask, [B, S], { ...where, dtype: model.dtype }),
          decoderIds: tensor(next, [B, next.length / B], { ...where, dtype: 'i32' }),
          hooks: o.hooks, cache,
        });
        const T = out.logits.shape[1];
        return narrow(out.logits, 1, T - 1, 1);
      }));
      const data = await last.data();
      last.dispose();
      const rows = sources.map((_, b) => Float64Array.from(data.subarray(b * V, (b + 1) * V)));
      if (o.returnLogits) stepLogits.push(rows);
      next = rows.map((logits, b) => {
        if (done[b]) return pad;
        const token = greedy ? argmax(logits) : sample(logits, o, rng);
        tokens[b].push(token);
        if (stops.has(token)) done[b] = true;
        return token;
      });
      if (done.every(Boolean)) break;
    }
  } finally {
    cache.dispose();
  }
  return { tokens, ...(o.returnLogits ? { stepLogits } : {}) };
}

/**
 * Generation under a BartPeftModel: the per-stack prefixes are computed once and live for the whole generation. Under
 * a decoder infix the first step feeds decoder_start and the P slots (placeholders the infix replaces at every layer),
 * so the first generated token is read at the last slot; later steps feed one token each, after the slots.
 */
export function generateWithBart(peft: BartPeftModel, sources: number[][], o: Omit<Seq2seqGenerateOptions, 'hooks' | 'decoderPrefix'>): Promise<Seq2seqResult> {
  const slots = new Array<number>(peft.decoderSlots).fill(peft.model.config.padTokenId ?? 1);
  return noGradAsync(() => tidyAsync(() => generateSeq2seq(peft.model, sources, {
    ...o, hooks: peft.hooks({ batch: sources.length, train: false, seed: 0 }), decoderPrefix: slots.length ? slots : undefined,
  })));
}

/**
 * The K/V a BART forward computes in each stack, as (P, 2·L·D) prefix tables over the key positions `[from, from + P)`
 * (HF PEFT's layout: layer l's keys are block 2l, values block 2l + 1). Run with `forward(hooks)` (B = 1).
 */
export async function bartKvOfRun(model: Bart, forward: (hooks: BartHooks) => void, span: Partial<Record<BartStack, { from: number; length: number }>>):
  Promise<Partial<Record<BartStack, Float64Array>>> {
  const captured: Record<BartStack, { keys: Tensor; values: Tensor }[]> = { encoder: [], decoder: [], cross: [] };
  const recorder = (stack: BartStack): ModelHooks => ({
    kv: (layer: number, kv: LayerKV) => { captured[stack][layer] = { keys: kv.keys.detach(), values: kv.values.detach() }; return kv; },
  });
  noGrad(() => forward({ encoder: recorder('encoder'), decoder: recorder('decoder'), cross: recorder('cross') }));
  const out: Partial<Record<BartStack, Float64Array>> = {};
  for (const stack of BART_STACKS) {
    const s = span[stack];
    const layers = captured[stack];
    if (s) {
      const { layers: L, hidden: D, heads: H } = bartBase(model, stack);
      const Dh = D / H;
      const P = s.length;
      const table = new Float64Array(P * 2 * L * D);
      for (let l = 0; l < L; l++) {
        const S = layers[l].keys.shape[2];
        const [k, v] = [await layers[l].keys.data(), await layers[l].values.data()];
        for (let h = 0; h < H; h++) {
          for (let p = 0; p < P; p++) {
            for (let d = 0; d < Dh; d++) {
              table[p * 2 * L * D + 2 * l * D + h * Dh + d] = k[(h * S + s.from + p) * Dh + d];
              table[p * 2 * L * D + (2 * l + 1) * D + h * Dh + d] = v[(h * S + s.from + p) * Dh + d];
            }
          }
        }
      }
      out[stack] = table;
    }
    for (const c of layers) { c.keys.dispose(); c.values.dispose(); }
  }
  return out;
}
