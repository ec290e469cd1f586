/**
 * BART as Hugging Face's BartForConditionalGeneration computes it (transformers/models/bart/modeling_bart.py):
 *
 *   embed(ids, positions) = LayerNorm_emb(shared[ids]·s + pos[positions + 2]),  s = √D if scale_embedding else 1
 *   encoder layer:  h = LN(h + drop(attn(h, h)));  h = LN(h + drop(fc2(drop_act(act(fc1(h))))))
 *   decoder layer:  h = LN(h + drop(causal_attn(h, h)));  h = LN(h + drop(attn(h, enc)));  then the FFN as above
 *   logits = dec @ sharedᵀ + final_logits_bias;  loss = CE(logits, labels), −100 ignored
 *   decoder_input_ids default: labels shifted right, decoder_start_token_id in front, −100 → pad
 *
 * Post-LN (no final layer norm), learned positions stored with an offset of 2, one embedding table shared by the
 * encoder, the decoder and the LM head. Parameters carry BartForConditionalGeneration's keys (`model.shared.weight`,
 * `model.encoder.layers.0.self_attn.q_proj.weight`, …); `final_logits_bias` is a buffer (not a parameter, as in HF,
 * so `params` counts bart-base at HF's 139,420,416). PEFT methods enter through one set of hooks per attention
 * stack — encoder self-attention, decoder self-attention, decoder cross-attention — so a prefix can sit in each
 * (the Prefix-Tuning paper's [PREFIX; x; PREFIX'; y]). The decoder's hooks may also rewrite the decoder's hidden state
 * entering each layer after the first (ModelHooks.hidden, as GPT-2 calls it); the encoder calls no hidden hook.
 */
import type { Backend } from '../autograd/backend.js';
import { tensor } from '../autograd/create.js';
import type { FloatDType } from '../autograd/dtype.js';
import { add, binary, concat, crossEntropy, embedding, layernorm, matmul, mul, narrow, scalarLike, where } from '../autograd/functions.js';
import { wrap } from '../autograd/op.js';
import { keep, type Tensor } from '../autograd/tensor.js';
import { BART_POSITION_OFFSET, type BartConfig } from '../io/bart-config.js';
import { DropoutSeeds, attention, mergeHeads, splitHeads } from './attention.js';
import { KvCache } from './cache.js';
import {
  type Checkpoint, CheckpointError, type KeyRules, type LoadOptions, type LoadReport, type SavedCheckpoint,
  checkpointFromSafetensors, matchCheckpoint, saveParams,
} from './checkpoint.js';
import { ModelInputError, activate, arangeIds, castTo, expectShape, filled, linear } from './common.js';
import type { ModelHooks, ModelInput } from './hooks.js';
import { type ParamSpec, type Params, type Placement, buildParams, spec } from './params.js';

/** One set of hooks per attention stack; the encoder's and decoder's input hooks rewrite their input sequences. */
export interface BartHooks {
  /** Input rewrite of the encoder sequence, K/V rewrite of encoder self-attention. */
  encoder?: ModelHooks;
  /**
   * Input rewrite of the decoder sequence, K/V rewrite of decoder self-attention (positions start after its prefix),
   * rewrite of the hidden state entering decoder layers 1 … L − 1 (`hidden`).
   */
  decoder?: ModelHooks;
  /** K/V rewrite of the decoder's cross-attention over the encoder output (only `kv` is used). */
  cross?: ModelHooks;
}

export interface BartInput {
  /** (B, S) i32 encoder token ids. */
  ids: Tensor;
  /** (B, S) 1 = attend, 0 = padding; default all ones. */
  attentionMask?: Tensor;
  /** (B, T) i32; default `labels` shifted right (HF's shift_tokens_right). */
  decoderIds?: Tensor;
  /** (B, T) — or (B, past + T) with a cache — 1 = attend; default all ones. */
  decoderAttentionMask?: Tensor;
  /** (B, T) i32 targets, −100 ignored. */
  labels?: Tensor;
  hooks?: BartHooks;
  /** Incremental decoding: the encoder output and cross K/V are computed on the first call and kept. */
  cache?: BartCache;
  train?: boolean;
  seed?: number;
}

export interface BartOutput {
  /** (B, T, V) */
  logits: Tensor;
  /** (B, T, D) the decoder's last layer. */
  hidden: Tensor;
  /** (B, S', D) the encoder's last layer (S' includes virtual tokens an encoder input hook added). */
  encoderHidden: Tensor;
  /** (B, S') the key mask over encoderHidden. */
  encoderMask: Tensor;
  loss?: Tensor;
}

/** The decoder's self-attention cache plus what the encoder gave on the first call. */
export class BartCache {
  readonly self: KvCache;
  encoderHidden: Tensor | null = null;
  encoderMask: Tensor | null = null;
  /** Per decoder layer: the encoder output projected to keys and values (B, H, S', Dh). */
  cross: ({ keys: Tensor; values: Tensor } | null)[];

  constructor(decoderLayers: number) {
    this.self = new KvCache(decoderLayers);
    this.cross = new Array(decoderLayers).fill(null);
  }

  get length(): number { return this.self.length; }

  dispose(): void {
    this.self.dispose();
    for (const c of this.cross) { c?.keys.dispose(); c?.values.dispose(); }
    this.cross.fill(null);
    this.encoderHidden?.dispose();
    this.encoderMask?.dispose();
    this.encoderHidden = this.encoderMask = null;
  }
}

const attentionSpecs = (prefix: string, D: number, std: number): ParamSpec[] => [
  ...spec.linear(`${prefix}.k_proj`, [D, D], D, std), ...spec.linear(`${prefix}.v_proj`, [D, D], D, std),
  ...spec.linear(`${prefix}.q_proj`, [D, D], D, std), ...spec.linear(`${prefix}.out_proj`, [D, D], D, std),
];

/** BartForConditionalGeneration's parameters in HF's registration order, with HF's initialization. */
export function bartParamSpecs(c: BartConfig): ParamSpec[] {
  const { dModel: D, initializerRange: std } = c;
  const positions = c.maxPositionEmbeddings + BART_POSITION_OFFSET;
  const specs: ParamSpec[] = [spec.normal('model.shared.weight', [c.vocabSize, D], std, c.padTokenId ?? undefined)];
  for (const side of ['encoder', 'decoder'] as const) {
    const layers = side === 'encoder' ? c.encoderLayers : c.decoderLayers;
    const ffn = side === 'encoder' ? c.encoderFfnDim : c.decoderFfnDim;
    specs.push(spec.normal(`model.${side}.embed_positions.weight`, [positions, D], std));
    for (let l = 0; l < layers; l++) {
      const L = `model.${side}.layers.${l}`;
      specs.push(...attentionSpecs(`${L}.self_attn`, D, std), ...spec.layerNorm(`${L}.self_attn_layer_norm`, D));
      if (side === 'decoder') specs.push(...attentionSpecs(`${L}.encoder_attn`, D, std), ...spec.layerNorm(`${L}.encoder_attn_layer_norm`, D));
      specs.push(
        ...spec.linear(`${L}.fc1`, [ffn, D], ffn, std), ...spec.linear(`${L}.fc2`, [D, ffn], D, std),
        ...spec.layerNorm(`${L}.final_layer_norm`, D),
      );
    }
    specs.push(...spec.layerNorm(`model.${side}.layernorm_embedding`, D));
  }
  if (!c.tieWordEmbeddings) specs.push(spec.normal('lm_head.weight', [c.vocabSize, D], std));
  return specs;
}

const TIED_COPIES = ['model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight', 'lm_head.weight'];

/**
 * Checkpoint keys of BartForConditionalGeneration or BartModel (no `model.` prefix). The shared table may be stored
 * under any of its tied names (safetensors keeps one); the others are skipped. `final_logits_bias` is read as a buffer.
 */
export function bartKeyRules(c: BartConfig): KeyRules {
  const table = [c.vocabSize, c.dModel];
  const withPrefix = (key: string) => (key === 'lm_head.weight' || key === 'final_logits_bias' || key.startsWith('model.') ? key : `model.${key}`);
  return {
    model: 'bart',
    target(key, keys) {
      const name = withPrefix(key);
      if (name === 'final_logits_bias') return { skip: 'buffer (read separately)', shape: [1, c.vocabSize] };
      const tiedHere = name === 'model.shared.weight' || (c.tieWordEmbeddings && TIED_COPIES.includes(name));
      if (!tiedHere) return { param: name };
      // the first stored of shared, encoder/decoder embed_tokens, lm_head gives the table; the rest are tied copies
      const stored = ['model.shared.weight', ...TIED_COPIES].filter((n) => [...keys].some((k) => withPrefix(k) === n));
      return stored[0] === name ? { param: 'model.shared.weight' } : { skip: 'tied to model.shared.weight', shape: table };
    },
    optional: () => false,
  };
}

export interface BartOptions extends Placement { seed?: number }

export class Bart {
  loadReport?: LoadReport;

  /** `finalLogitsBias`: (1, V) buffer added to the logits (zeros for a fresh model, as HF registers it). */
  constructor(readonly config: BartConfig, readonly params: Params, readonly finalLogitsBias: Tensor) {}

  static init(config: BartConfig, o: BartOptions = {}): Bart {
    const params = buildParams(bartParamSpecs(config), o.seed ?? 0, o);
    return new Bart(config, params, Bart.bias(config, params, new Float64Array(config.vocabSize)));
  }

  static load(config: BartConfig, source: Checkpoint | Uint8Array, o: BartOptions & LoadOptions = {}): Bart {
    const checkpoint = source instanceof Uint8Array ? checkpointFromSafetensors(source) : source;
    const specs = bartParamSpecs(config);
    const { values, report } = matchCheckpoint(specs, checkpoint, bartKeyRules(config), o);
    const params = buildParams(specs, o.seed ?? 0, o, values);
    const stored = checkpoint.get('final_logits_bias');
    if (stored && !(stored.data instanceof Float32Array || stored.data instanceof Float64Array)) {
      throw new CheckpointError(`bart checkpoint: final_logits_bias holds ${stored.data.constructor.name}, expected floating-point values`);
    }
    const model = new Bart(config, params, Bart.bias(config, params, (stored?.data as ArrayLike<number>) ?? new Float64Array(config.vocabSize)));
    model.loadReport = report;
    return model;
  }

  private static bias(c: BartConfig, params: Params, values: ArrayLike<number>): Tensor {
    const like = params.tensor('model.shared.weight');
    return keep(tensor(values, [1, c.vocabSize], { backend: like.backend, dtype: like.dtype, name: 'final_logits_bias' }));
  }

  /** BartForConditionalGeneration's layout as safetensors stores it: the shared table once, plus final_logits_bias. */
  async save(): Promise<SavedCheckpoint> {
    const out = await saveParams(this.params, (name) => name);
    const data = await this.finalLogitsBias.data();
    out.set('final_logits_bias', { shape: [1, this.config.vocabSize], data: this.dtype === 'f64' ? Float64Array.from(data) : Float32Array.from(data) });
    return out;
  }

  get backend(): Backend { return this.params.tensor('model.shared.weight').backend; }
  get dtype(): FloatDType { return this.params.tensor('model.shared.weight').dtype as FloatDType; }

  /** (B, T, D) scaled token embeddings, before positions (what an input hook sees). */
  private tokens(ids: Tensor): Tensor {
    const e = embedding(this.params.tensor('model.shared.weight'), ids);
    return this.config.scaleEmbedding ? mul(e, Math.sqrt(this.config.dModel)) : e;
  }

  /** LayerNorm_emb(embeds + pos[positions + 2]), then dropout. */
  private embed(side: 'encoder' | 'decoder', x: ModelInput, drop: DropoutSeeds): Tensor {
    const p = (name: string) => this.params.tensor(`model.${side}.${name}`);
    const positions = embedding(p('embed_positions.weight'), shiftIds(x.positionIds, BART_POSITION_OFFSET));
    const normed = layernorm(add(x.embeds, positions), p('layernorm_embedding.weight'), p('layernorm_embedding.bias'), 1e-5);
    return drop.apply(normed, this.config.dropout);
  }

  /** Runs the encoder: (B, S', D) and its key mask (B, S'). */
  encode(ids: Tensor, attentionMask: Tensor | undefined, hooks: ModelHooks | undefined, drop: DropoutSeeds): { hidden: Tensor; mask: Tensor } {
    const c = this.config;
    if (ids.rank !== 2 || ids.dtype !== 'i32') throw new ModelInputError(`bart: ids must be (B, S) i32, got ${ids.describe()}`);
    const [B, S0] = ids.shape;
    let x: ModelInput = {
      embeds: this.tokens(ids), ids,
      attentionMask: attentionMask ? castTo(attentionMask, this.dtype) : filled(ids, [B, S0], 1, this.dtype),
      // positions start after a K/V prefix, as HF numbers them after past_key_values (BERT, BART's decoder)
      positionIds: arangeIds(ids, B, S0, hooks?.kvPrefixLength?.() ?? 0),
    };
    expectShape('bart: attentionMask', x.attentionMask, [B, S0]);
    if (hooks?.input) x = hooks.input(x);
    const S = x.embeds.shape[1];
    const last = (hooks?.kvPrefixLength?.() ?? 0) + S;
    if (last > c.maxPositionEmbeddings) throw new ModelInputError(`bart: encoder positions up to ${last} exceed max_position_embeddings ${c.maxPositionEmbeddings}`);
    expectShape('bart: encoder embeds after the input hook', x.embeds, [B, S, c.dModel]);
    let h = this.embed('encoder', x, drop);
    const mask = castTo(x.attentionMask, this.dtype);
    for (let l = 0; l < c.encoderLayers; l++) h = this.encoderLayer(l, h, mask, drop, hooks);
    return { hidden: h, mask };
  }

  forward(input: BartInput): BartOutput {
    const c = this.config;
    const { hooks, cache } = input;
    const drop = new DropoutSeeds(input.train ?? false, input.seed ?? 0);
    let encoded: { hidden: Tensor; mask: Tensor };
    if (cache?.encoderHidden && cache.encoderMask) encoded = { hidden: cache.encoderHidden, mask: cache.encoderMask };
    else {
      encoded = this.encode(input.ids, input.attentionMask, hooks?.encoder, drop);
      if (cache) { cache.encoderHidden = keep(encoded.hidden.detach()); cache.encoderMask = keep(encoded.mask.detach()); }
    }

    const decoderIds = input.decoderIds ?? (input.labels ? shiftTokensRight(input.labels, c.padTokenId ?? 1, c.decoderStartTokenId) : null);
    if (!decoderIds) throw new ModelInputError('bart: give decoderIds or labels (decoder inputs are labels shifted right)');
    if (decoderIds.rank !== 2 || decoderIds.dtype !== 'i32') throw new ModelInputError(`bart: decoderIds must be (B, T) i32, got ${decoderIds.describe()}`);
    const [B, T0] = decoderIds.shape;
    if (B !== encoded.hidden.shape[0]) throw new ModelInputError(`bart: ${B} decoder rows for ${encoded.hidden.shape[0]} encoder rows`);
    const past = cache?.length ?? 0;
    let mask = input.decoderAttentionMask ? castTo(input.decoderAttentionMask, this.dtype) : filled(decoderIds, [B, T0], 1, this.dtype);
    if (past > 0 && mask.shape[1] === past + T0) mask = narrow(mask, 1, past, T0);
    expectShape('bart: decoderAttentionMask', mask, [B, T0]);
    // HF numbers decoder positions after past_key_values (a prefix, then the cache), ignoring the mask
    const offset = (hooks?.decoder?.kvPrefixLength?.() ?? 0) + past + (past > 0 ? (hooks?.decoder?.inputPrefixLength?.() ?? 0) : 0);
    let x: ModelInput = { embeds: this.tokens(decoderIds), ids: decoderIds, attentionMask: mask, positionIds: arangeIds(decoderIds, B, T0, offset), labels: input.labels };
    if (hooks?.decoder?.input && past === 0) x = hooks.decoder.input(x);
    const T = x.embeds.shape[1];
    const last = x.positionIds.shape[1] > 0 ? offset + T : 0;
    if (last > c.maxPositionEmbeddings) throw new ModelInputError(`bart: decoder positions up to ${last} exceed max_position_embeddings ${c.maxPositionEmbeddings}`);
    expectShape('bart: decoder embeds after the input hook', x.embeds, [B, T, c.dModel]);

    let h = this.embed('decoder', x, drop);
    const newMask = castTo(x.attentionMask, this.dtype);
    const keyMask = cache?.self.mask ? concat([cache.self.mask, newMask], 1) : newMask;
    cache?.self.setMask(keyMask);
    for (let l = 0; l < c.decoderLayers; l++) {
      if (l > 0 && hooks?.decoder?.hidden) h = hooks.decoder.hidden(l, h, past);
      h = this.decoderLayer(l, h, keyMask, encoded, drop, hooks, cache);
    }
    const logits = add(matmul(h, this.params.tensor(c.tieWordEmbeddings ? 'model.shared.weight' : 'lm_head.weight'), { transB: true }), this.finalLogitsBias);
    const out: BartOutput = { logits, hidden: h, encoderHidden: encoded.hidden, encoderMask: encoded.mask };
    if (x.labels) {
      expectShape('bart: labels', x.labels, [B, T]);
      out.loss = crossEntropy(logits, x.labels);
    }
    return out;
  }

  /** q/k/v/out projections of one attention module; queries from `h`, keys and values from `kvFrom`. */
  private project(prefix: string, h: Tensor, kvFrom: Tensor, heads: number) {
    const dense = (t: Tensor, name: string) => linear(t, this.params.tensor(`${prefix}.${name}.weight`), this.params.tensor(`${prefix}.${name}.bias`));
    return { queries: splitHeads(dense(h, 'q_proj'), heads), keys: splitHeads(dense(kvFrom, 'k_proj'), heads), values: splitHeads(dense(kvFrom, 'v_proj'), heads) };
  }

  private out(prefix: string, context: Tensor): Tensor {
    return linear(mergeHeads(context), this.params.tensor(`${prefix}.out_proj.weight`), this.params.tensor(`${prefix}.out_proj.bias`));
  }

  private norm(t: Tensor, name: string): Tensor {
    return layernorm(t, this.params.tensor(`${name}.weight`), this.params.tensor(`${name}.bias`), 1e-5);
  }

  /** fc2(drop_act(act(fc1(h)))) */
  private ffn(L: string, h: Tensor, drop: DropoutSeeds): Tensor {
    const p = (name: string) => this.params.tensor(`${L}.${name}`);
    const inner = drop.apply(activate(linear(h, p('fc1.weight'), p('fc1.bias')), this.config.activation), this.config.activationDropout);
    return linear(inner, p('fc2.weight'), p('fc2.bias'));
  }

  /** One post-LN encoder layer; h: (B, S, D), mask: (B, S). */
  private encoderLayer(l: number, h: Tensor, mask: Tensor, drop: DropoutSeeds, hooks?: ModelHooks): Tensor {
    const c = this.config;
    const L = `model.encoder.layers.${l}`;
    const heads = c.encoderAttentionHeads;
    const context = attention({
      layer: l, ...this.project(`${L}.self_attn`, h, h, heads), keyMask: mask, causal: false, hooks,
      scale: 1 / Math.sqrt(c.dModel / heads), dropout: { p: c.attentionDropout, seeds: drop },
    });
    h = this.norm(add(h, drop.apply(this.out(`${L}.self_attn`, context), c.dropout)), `${L}.self_attn_layer_norm`);
    return this.norm(add(h, drop.apply(this.ffn(L, h, drop), c.dropout)), `${L}.final_layer_norm`);
  }

  /** One post-LN decoder layer: causal self-attention, cross-attention over the encoder, FFN. */
  private decoderLayer(l: number, h: Tensor, keyMask: Tensor, encoded: { hidden: Tensor; mask: Tensor }, drop: DropoutSeeds,
    hooks?: BartHooks, cache?: BartCache): Tensor {
    const c = this.config;
    const L = `model.decoder.layers.${l}`;
    const heads = c.decoderAttentionHeads;
    const scale = 1 / Math.sqrt(c.dModel / heads);
    const self = this.project(`${L}.self_attn`, h, h, heads);
    const kv = cache ? cache.self.extend(l, self.keys, self.values) : self;
    const context = attention({
      layer: l, queries: self.queries, keys: kv.keys, values: kv.values, keyMask, causal: true, hooks: hooks?.decoder, scale,
      dropout: { p: c.attentionDropout, seeds: drop },
    });
    h = this.norm(add(h, drop.apply(this.out(`${L}.self_attn`, context), c.dropout)), `${L}.self_attn_layer_norm`);

    let cross = cache?.cross[l] ?? null;
    const queries = splitHeads(linear(h, this.params.tensor(`${L}.encoder_attn.q_proj.weight`), this.params.tensor(`${L}.encoder_attn.q_proj.bias`)), heads);
    if (!cross) {
      const { keys, values } = this.project(`${L}.encoder_attn`, encoded.hidden, encoded.hidden, heads);
      cross = { keys, values };
      if (cache) cache.cross[l] = { keys: keep(keys.detach()), values: keep(values.detach()) };
    }
    const crossContext = attention({
      layer: l, queries, keys: cross.keys, values: cross.values, keyMask: encoded.mask, causal: false, hooks: hooks?.cross, scale,
      dropout: { p: c.attentionDropout, seeds: drop },
    });
    h = this.norm(add(h, drop.apply(this.out(`${L}.encoder_attn`, crossContext), c.dropout)), `${L}.encoder_attn_layer_norm`);
    return this.norm(add(h, drop.apply(this.ffn(L, h, drop), c.dropout)), `${L}.final_layer_norm`);
  }

  dispose(): void { this.params.dispose(); this.finalLogitsBias.dispose(); }
}

/** (B, T) i32 + k through the float kernels (ids far below 2^24 are exact in f32). */
function shiftIds(ids: Tensor, k: number): Tensor {
  if (k === 0) return ids;
  const shifted = add(castTo(ids, 'f32'), k);
  return castBack(shifted);
}

/** f32 ids back to i32 (exact below 2^24). */
function castBack(x: Tensor): Tensor {
  return wrap(x.backend, x.backend.cast(x.storage, x.size, 'f32', 'i32'), x.shape, 'i32');
}

/** HF's shift_tokens_right: (start, labels[:, :-1]) with −100 replaced by pad. */
export function shiftTokensRight(labels: Tensor, pad: number, start: number): Tensor {
  const [B, T] = labels.shape;
  const asFloat = castTo(labels, 'f32');
  const head = tensor(new Float32Array(B).fill(start), [B, 1], { backend: labels.backend, dtype: 'f32' });
  const shifted = T > 1 ? concat([head, narrow(asFloat, 1, 0, T - 1)], 1) : head;
  const ignored = binary('eq', shifted, scalarLike(shifted, -100));
  return castBack(where(ignored, scalarLike(shifted, pad), shifted));
}
