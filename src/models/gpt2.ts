/**
 * GPT-2 as Hugging Face's GPT2LMHeadModel computes it (transformers/models/gpt2/modeling_gpt2.py):
 *
 *   h₀ = dropout(wte[ids] + wpe[positions])
 *   block: h += dropout(c_proj(attn(ln_1(h))));  h += dropout(mlp.c_proj(gelu_new(mlp.c_fc(ln_2(h)))))
 *   hidden = ln_f(h);  logits = hidden @ wteᵀ (tied head);  loss = CE(logits[:, :-1], labels[:, 1:]), −100 ignored
 *
 * Conv1D weights are stored [in, out] (x @ W + b). Parameters are named as GPT2Model names them (`wte.weight`,
 * `h.0.attn.c_attn.weight`); checkpoints may carry GPT2LMHeadModel's `transformer.` prefix or not, and are
 * saved with it. PEFT methods enter only through `hooks` (see hooks.ts): the input, each block's K/V, and the
 * residual stream entering each block after the first.
 */
import type { Backend } from '../autograd/backend.js';
import type { FloatDType } from '../autograd/dtype.js';
import { add, concat, crossEntropy, embedding, layernorm, matmul, narrow } from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import type { Gpt2Config } from '../io/config.js';
import { DropoutSeeds, attention, mergeHeads, splitHeads } from './attention.js';
import type { KvCache } from './cache.js';
import {
  type Checkpoint, type KeyRules, type LoadOptions, type LoadReport, type SavedCheckpoint,
  checkpointFromSafetensors, matchCheckpoint, saveParams,
} from './checkpoint.js';
import { activate, arangeIds, castTo, checkModelInput, conv1d, expectShape, filled, rowsAt } from './common.js';
import { type GenerateOptions, type GenerateResult, generate } from './generate.js';
import type { ModelHooks, ModelInput } from './hooks.js';
import type { Model, ModelDims } from './model.js';
import { type ParamSpec, type Params, type Placement, buildParams, spec } from './params.js';

export interface Gpt2Input {
  /** (B, T) i32 token ids. */
  ids: Tensor;
  /** (B, T) — or (B, past + T) as HF passes it with a cache — 1 = attend, 0 = padding; default all ones. */
  attentionMask?: Tensor;
  /** (B, T) i32; default kvPrefixLength + past + (0, 1, …, T−1), as HF. */
  positionIds?: Tensor;
  /** (B, T) i32; the loss compares labels[:, 1:] with logits[:, :-1]; −100 is ignored. */
  labels?: Tensor;
  /**
   * (B) positions (in the sequence after the input hook): the LM head runs only at position logitsAt[b] of row b,
   * and logits are (B, 1, V) — for a reader of one position (a verbalizer), which then skips T − 1 rows of the
   * (T, D)·(D, V) product. Not with labels.
   */
  logitsAt?: Int32Array;
  hooks?: ModelHooks;
  /** Extended in place with this call's keys/values. The input hook runs only while the cache is empty. */
  cache?: KvCache;
  /** Dropout on (embd_pdrop, attn_pdrop, resid_pdrop), with masks drawn from `seed`. */
  train?: boolean;
  seed?: number;
}

export interface Gpt2Output {
  /** (B, T, V) */
  logits: Tensor;
  /** (B, T, D) after ln_f (HF's last_hidden_state). */
  hidden: Tensor;
  /** Mean next-token cross-entropy, when labels were given. */
  loss?: Tensor;
}

/** GPT2LMHeadModel's parameters with HF's initialization (c_proj weights get std / √(2·n_layer)). */
export function gpt2ParamSpecs(c: Gpt2Config): ParamSpec[] {
  const { nEmbd: D, nInner: I, vocabSize: V, initializerRange: std } = c;
  const projStd = std / Math.sqrt(2 * c.nLayer);
  const specs = [spec.normal('wte.weight', [V, D], std), spec.normal('wpe.weight', [c.nPositions, D], std)];
  for (let l = 0; l < c.nLayer; l++) {
    specs.push(
      ...spec.layerNorm(`h.${l}.ln_1`, D),
      ...spec.linear(`h.${l}.attn.c_attn`, [D, 3 * D], 3 * D, std),
      ...spec.linear(`h.${l}.attn.c_proj`, [D, D], D, projStd),
      ...spec.layerNorm(`h.${l}.ln_2`, D),
      ...spec.linear(`h.${l}.mlp.c_fc`, [D, I], I, std),
      ...spec.linear(`h.${l}.mlp.c_proj`, [I, D], D, projStd),
    );
  }
  specs.push(...spec.layerNorm('ln_f', D));
  if (!c.tieWordEmbeddings) specs.push(spec.normal('lm_head.weight', [V, D], std));
  return specs;
}

/** Checkpoint keys: `transformer.`-prefixed or not; attention-mask buffers and a tied lm_head copy are skipped. */
export function gpt2KeyRules(c: Gpt2Config): KeyRules {
  return {
    model: 'gpt2',
    target(key) {
      if (key === 'lm_head.weight') {
        return c.tieWordEmbeddings ? { skip: 'tied to wte.weight', shape: [c.vocabSize, c.nEmbd] } : { param: key };
      }
      const name = key.startsWith('transformer.') ? key.slice('transformer.'.length) : key;
      if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(name)) return { skip: 'causal-mask buffer' };
      return { param: name };
    },
    optional: () => false,
  };
}

export interface Gpt2Options extends Placement { seed?: number }

export class Gpt2 implements Model<Gpt2Input, Gpt2Output> {
  /** Set by `load`: what came from the checkpoint, what was skipped. */
  loadReport?: LoadReport;

  constructor(readonly config: Gpt2Config, readonly params: Params) {}

  /** A model with HF's random initialization from `seed` (same values on every backend). */
  static init(config: Gpt2Config, o: Gpt2Options = {}): Gpt2 {
    return new Gpt2(config, buildParams(gpt2ParamSpecs(config), o.seed ?? 0, o));
  }

  /** A model from an HF checkpoint (a Map as parseSafetensors gives, or safetensors bytes). */
  static load(config: Gpt2Config, source: Checkpoint | Uint8Array, o: Gpt2Options & LoadOptions = {}): Gpt2 {
    const checkpoint = source instanceof Uint8Array ? checkpointFromSafetensors(source) : source;
    const specs = gpt2ParamSpecs(config);
    const { values, report } = matchCheckpoint(specs, checkpoint, gpt2KeyRules(config), o);
    const model = new Gpt2(config, buildParams(specs, o.seed ?? 0, o, values));
    model.loadReport = report;
    return model;
  }

  /** GPT2LMHeadModel's layout: `transformer.`-prefixed keys, no tied lm_head copy. */
  save(): Promise<SavedCheckpoint> {
    return saveParams(this.params, (name) => (name === 'lm_head.weight' ? name : `transformer.${name}`));
  }

  get dims(): ModelDims { const c = this.config; return { family: 'gpt2', layers: c.nLayer, heads: c.nHead, hidden: c.nEmbd, vocabSize: c.vocabSize }; }
  get wordEmbeddings(): Tensor { return this.params.tensor('wte.weight'); }
  get backend(): Backend { return this.params.tensor('wte.weight').backend; }
  get dtype(): FloatDType { return this.params.tensor('wte.weight').dtype as FloatDType; }

  forward(input: Gpt2Input): Gpt2Output {
    const c = this.config;
    const p = (name: string) => this.params.tensor(name);
    const { ids, hooks, cache } = input;
    const past = cache?.length ?? 0;
    const offset = (hooks?.kvPrefixLength?.() ?? 0) + past;
    checkModelInput({ model: 'gpt2', vocabSize: c.vocabSize, maxPositions: c.nPositions, positionsKey: 'n_positions' }, input,
      offset, hooks?.input && past === 0 ? hooks.inputPrefixLength?.() ?? 0 : 0);
    const [B, T0] = ids.shape;
    const drop = new DropoutSeeds(input.train ?? false, input.seed ?? 0);

    // this call's mask (B, T0): HF passes it over past + new positions with a cache; the cache keeps the past part
    let mask = input.attentionMask ? castTo(input.attentionMask, this.dtype) : filled(ids, [B, T0], 1, this.dtype);
    if (past > 0 && mask.shape[1] === past + T0) mask = narrow(mask, 1, past, T0);
    expectShape('gpt2: attentionMask', mask, [B, T0]);
    let positionIds = input.positionIds;
    positionIds ??= arangeIds(ids, B, T0, offset);
    expectShape('gpt2: positionIds', positionIds, [B, T0]);

    let x: ModelInput = { embeds: embedding(p('wte.weight'), ids), ids, attentionMask: mask, positionIds, labels: input.labels };
    if (hooks?.input && past === 0) x = hooks.input(x);
    const T = x.embeds.shape[1];
    expectShape('gpt2: embeds after the input hook', x.embeds, [B, T, c.nEmbd]);
    expectShape('gpt2: attentionMask after the input hook', x.attentionMask, [B, T]);
    expectShape('gpt2: positionIds after the input hook', x.positionIds, [B, T]);

    // (B, T, D)
    let h = drop.apply(add(x.embeds, embedding(p('wpe.weight'), x.positionIds)), c.embdPdrop);
    // key mask over every position attention sees (past ++ new): (B, past + T)
    const newMask = castTo(x.attentionMask, this.dtype);
    const keyMask = cache?.mask ? concat([cache.mask, newMask], 1) : newMask;
    cache?.setMask(keyMask);
    for (let l = 0; l < c.nLayer; l++) {
      if (l > 0 && hooks?.hidden) h = hooks.hidden(l, h, past);
      h = this.block(l, h, keyMask, drop, hooks, cache);
    }
    const hidden = layernorm(h, p('ln_f.weight'), p('ln_f.bias'), c.layerNormEpsilon);
    if (input.logitsAt && x.labels) throw new Error('gpt2: logitsAt computes logits at one position per row; it takes no labels');
    const logits = this.lmHead(input.logitsAt ? rowsAt(hidden, input.logitsAt, 'gpt2') : hidden);
    if (!x.labels) return { logits, hidden };
    expectShape('gpt2: labels', x.labels, [B, T]);
    return { logits, hidden, loss: crossEntropy(narrow(logits, 1, 0, T - 1), narrow(x.labels, 1, 1, T - 1)) };
  }

  /** (…, D) → (…, V): hidden @ wteᵀ (or lm_head.weightᵀ when untied). */
  lmHead(hidden: Tensor): Tensor {
    const head = this.config.tieWordEmbeddings ? 'wte.weight' : 'lm_head.weight';
    return matmul(hidden, this.params.tensor(head), { transB: true });
  }

  /** One pre-LN block; h: (B, T, D), keyMask: (B, S). */
  private block(l: number, h: Tensor, keyMask: Tensor, drop: DropoutSeeds, hooks?: ModelHooks, cache?: KvCache): Tensor {
    const c = this.config;
    const D = c.nEmbd;
    const p = (name: string) => this.params.tensor(`h.${l}.${name}`);
    const a = layernorm(h, p('ln_1.weight'), p('ln_1.bias'), c.layerNormEpsilon);
    // (B, T, 3D) → queries, keys, values (B, H, T, Dh)
    const qkv = conv1d(a, p('attn.c_attn.weight'), p('attn.c_attn.bias'));
    const queries = splitHeads(narrow(qkv, -1, 0, D), c.nHead);
    let keys = splitHeads(narrow(qkv, -1, D, D), c.nHead);
    let values = splitHeads(narrow(qkv, -1, 2 * D, D), c.nHead);
    if (cache) ({ keys, values } = cache.extend(l, keys, values));
    const context = attention({
      layer: l, queries, keys, values, keyMask, causal: true, hooks,
      scale: c.scaleAttnWeights ? 1 / Math.sqrt(D / c.nHead) : 1,
      dropout: { p: c.attnPdrop, seeds: drop },
    });
    h = add(h, drop.apply(conv1d(mergeHeads(context), p('attn.c_proj.weight'), p('attn.c_proj.bias')), c.residPdrop));
    const m = layernorm(h, p('ln_2.weight'), p('ln_2.bias'), c.layerNormEpsilon);
    const ff = conv1d(activate(conv1d(m, p('mlp.c_fc.weight'), p('mlp.c_fc.bias')), c.activation), p('mlp.c_proj.weight'), p('mlp.c_proj.bias'));
    return add(h, drop.apply(ff, c.residPdrop));
  }

  /** Generation with a KV cache from (ragged) prompts; see generate.ts. */
  generate(prompts: number[][], o: GenerateOptions): Promise<GenerateResult> { return generate(this, prompts, o); }

  dispose(): void { this.params.dispose(); }
}
