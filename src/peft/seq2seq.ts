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
 */
import { noGradAsync } from '../autograd/op.js';
import { type Tensor, tidyAsync } from '../autograd/tensor.js';
import { tensor } from '../autograd/create.js';
import { narrow } from '../autograd/functions.js';
import { noGrad } from '../autograd/op.js';
import { tidy } from '../autograd/tensor.js';
import { Rng } from '../kernels/rng.js';
import { type Bart, BartCache, type BartHooks, type BartInput, type BartOutput } from '../models/bart.js';
import { ModelInputError } from '../models/common.js';
import { type GenerateOptions, argmax, sample } from '../models/generate.js';
import type { LayerKV, ModelHooks } from '../models/hooks.js';
import { buildHooks } from './hooks.js';
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

/** A BART model under an adapter: masks applied once, hooks per stack built for each pass. */
export class BartPeftModel {
  constructor(readonly model: Bart, readonly adapter: BartAdapter) {
    if (adapter.cross?.some((m) => m.input)) throw new Error('bart: cross-attention takes K/V methods only (an input method belongs to the encoder or decoder)');
    applyMasks(bartBase(model, 'encoder'), this.methods());
  }

  /** Each method once (a method may serve two stacks: HF PEFT's decoder prefix in self- and cross-attention). */
  methods(): PeftMethod[] { return [...new Set(BART_STACKS.flatMap((s) => this.adapter[s] ?? []))]; }

  /** Every tensor that trains: unmasked base parameters and every method's own. */
  trainable(): Tensor[] {
    return [...this.model.params.trainable(), ...this.methods().flatMap((m) => m.params.trainable())];
  }

  /** The hooks of one pass (batch B). */
  hooks(ctx: PassContext): BartHooks {
    const hooks: BartHooks = {};
    for (const stack of BART_STACKS) {
      const methods = this.adapter[stack];
      if (methods && methods.length > 0) hooks[stack] = buildHooks(bartBase(this.model, stack), [methods], { ctx });
    }
    return hooks;
  }

  forward(input: Omit<BartInput, 'hooks'>): BartOutput {
    const ctx = { batch: input.ids.shape[0], train: input.train ?? false, seed: input.seed ?? 0 };
    return this.model.forward({ ...input, hooks: this.hooks(ctx) });
  }
}

export interface Seq2seqGenerateOptions extends Pick<GenerateOptions, 'maxNewTokens' | 'greedy' | 'temperature' | 'topK' | 'topP' | 'seed' | 'returnLogits'> {
  /** Stop tokens (default eos_token_id). */
  stopTokens?: number[];
  hooks?: BartHooks;
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
    let next = new Array<number>(B).fill(c.decoderStartTokenId);
    for (let step = 0; step < o.maxNewTokens; step++) {
      const last = noGrad(() => tidy(() => {
        const out = model.forward({
          ids: tensor(ids, [B, S], { ...where, dtype: 'i32' }),
          attentionMask: tensor(mask, [B, S], { ...where, dtype: model.dtype }),
          decoderIds: tensor(next, [B, 1], { ...where, dtype: 'i32' }),
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

/** Generation under a BartPeftModel: the per-stack prefixes are computed once and live for the whole generation. */
export function generateWithBart(peft: BartPeftModel, sources: number[][], o: Omit<Seq2seqGenerateOptions, 'hooks'>): Promise<Seq2seqResult> {
  return noGradAsync(() => tidyAsync(() => generateSeq2seq(peft.model, sources, { ...o, hooks: peft.hooks({ batch: sources.length, train: false, seed: 0 }) })));
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
