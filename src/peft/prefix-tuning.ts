/**
 * Prefix Tuning (Li & Liang, "Prefix-Tuning: Optimizing Continuous Prompts for Generation"): trainable
 * key/value prefixes at every layer — `[PREFIX; x; y]` for GPT-2, a prefix in the encoder's attention for
 * BERT. Trained through a reparameterisation for stability, Embedding(P, D) → Linear(D, h) → tanh →
 * Linear(h, 2·L·D) (HF PEFT's PrefixEncoder with prefix_projection); after training `collapse()` keeps only the
 * prefix it produces. Options from the paper: prefix dropout, init from the base model's own K/V of a text,
 * and the embedding-only ablation (the MLP's output as input-layer virtual tokens, no per-layer prefix).
 */
import { dropout } from '../autograd/functions.js';
import { noGrad } from '../autograd/op.js';
import { keep, tidy, type Tensor } from '../autograd/tensor.js';
import { hash32, Rng } from '../kernels/rng.js';
import type { LayerKV, ModelHooks } from '../models/hooks.js';
import type { BaseModel, PassContext, PeftMethod } from './method.js';
import { isTaskHead } from './baselines.js';
import { mlpTable, param, paramsOf } from './tables.js';
import { PROMPT_KEY } from './prompt-tuning.js';
import { defineMethod, definedOnly } from './spec.js';

export interface PrefixTuningConfig {
  numVirtualTokens: number;
  /**
   * The reparameterisation MLP (hidden size default the model width, as HF PEFT's encoder_hidden_size); null or
   * absent trains the prefix directly (P-tuning v2's default).
   */
  projection?: { hidden?: number } | null;
  /** Dropout on the produced prefix while training (Li & Liang's prefix dropout). */
  dropout?: number;
  /** Initial (P, 2·L·D) prefix, e.g. from `kvOfText` (only without projection). */
  initial?: Float64Array | Float32Array;
  /** Ablation: put the MLP's (P, D) output at the input layer only, no per-layer prefix. */
  embeddingOnly?: boolean;
  seed?: number;
  trainHead?: boolean;
}

/** Prefix-tuning method; `collapse()` (when reparameterised) returns the equivalent plain-prefix method. */
export interface PrefixMethod extends PeftMethod {
  collapse(): PrefixMethod;
}

export function prefixTuning(base: BaseModel, c: PrefixTuningConfig): PrefixMethod {
  const P = c.numVirtualTokens;
  const { hidden: D, layers: L } = base;
  const width = c.embeddingOnly ? D : 2 * L * D;
  const rng = new Rng(c.seed ?? 0);
  const trainHead = c.trainHead ?? true;
  if (!c.projection) {
    if (c.embeddingOnly) throw new Error('prefix tuning: the embedding-only ablation needs a projection (else it is prompt tuning)');
    const values = c.initial ?? Float64Array.from({ length: P * width }, () => rng.normal());
    if (values.length !== P * width) throw new Error(`prefix tuning: initial prefix has ${values.length} values, expected ${P}×${width}`);
    return plainPrefix('prefix', param(base, PROMPT_KEY, [P, width], values), c.dropout ?? 0, trainHead);
  }
  if (c.initial) throw new Error('prefix tuning: `initial` sets a plain prefix; use projection: null');
  const h = c.projection.hidden ?? D;
  // Embedding → Linear → tanh → Linear, over the P rows: (P, width)
  const { params, produce } = mlpTable(base, P, D, h, width, rng);
  const p = c.dropout ?? 0;
  const source = { numVirtualTokens: P, produce: (ctx: PassContext) => withDropout(produce(), p, ctx) };
  return {
    kind: c.embeddingOnly ? 'prefix-embedding-only' : 'prefix',
    params,
    trainsBase: trainHead ? isTaskHead : undefined,
    ...(c.embeddingOnly
      ? { input: { numVirtualTokens: P, embeddings: source.produce } }
      : { kv: { numVirtualTokens: P, prefix: source.produce } }),
    collapse() {
      const table = keep(tidy(() => noGrad(() => produce())));
      table.name = PROMPT_KEY;
      table.requireGrad(true);
      return c.embeddingOnly ? plainInput(table, trainHead) : plainPrefix('prefix', table, p, trainHead);
    },
  };
}

function withDropout(x: Tensor, p: number, ctx: PassContext): Tensor {
  return ctx.train && p > 0 ? dropout(x, p, hash32(ctx.seed ^ 0x51ed27)) : x;
}

/** A (P, 2·L·D) prefix trained directly (P-tuning v2, a collapsed prefix, a loaded HF adapter). */
export function plainPrefix(kind: string, table: Tensor, p: number, trainHead: boolean): PrefixMethod {
  const method: PrefixMethod = {
    kind,
    params: paramsOf([table]),
    trainsBase: trainHead ? isTaskHead : undefined,
    kv: { numVirtualTokens: table.shape[0], prefix: (ctx) => withDropout(table, p, ctx) },
    collapse: () => method,
  };
  return method;
}

function plainInput(table: Tensor, trainHead: boolean): PrefixMethod {
  const method: PrefixMethod = {
    kind: 'prefix-embedding-only',
    params: paramsOf([table]),
    trainsBase: trainHead ? isTaskHead : undefined,
    input: { numVirtualTokens: table.shape[0], embeddings: () => table },
    collapse: () => method,
  };
  return method;
}

/**
 * The base model's own keys/values for a text, as a (P, 2·L·D) prefix: run `forward` once with a hook that
 * records each layer's K/V (B = 1). A prefix made this way makes the model on x behave as on text + x.
 */
export async function kvOfText(base: BaseModel, forward: (hooks: ModelHooks) => void): Promise<Float64Array> {
  const { layers: L, hidden: D, heads: H } = base;
  const Dh = D / H;
  const captured: { keys: Tensor; values: Tensor }[] = [];
  noGrad(() => forward({
    kv: (layer: number, kv: LayerKV) => {
      captured[layer] = { keys: kv.keys.detach(), values: kv.values.detach() };
      return kv;
    },
  }));
  if (captured.length !== L) throw new Error(`kvOfText: captured ${captured.length} layers, the model has ${L}`);
  const P = captured[0].keys.shape[2];
  const out = new Float64Array(P * 2 * L * D);
  for (let l = 0; l < L; l++) {
    const [k, v] = [await captured[l].keys.data(), await captured[l].values.data()];
    // k, v: (1, H, P, Dh) → row p, block 2l (keys) / 2l + 1 (values), column h·Dh + d
    for (let h = 0; h < H; h++) {
      for (let p = 0; p < P; p++) {
        for (let d = 0; d < Dh; d++) {
          out[p * 2 * L * D + 2 * l * D + h * Dh + d] = k[(h * P + p) * Dh + d];
          out[p * 2 * L * D + (2 * l + 1) * D + h * Dh + d] = v[(h * P + p) * Dh + d];
        }
      }
    }
    captured[l].keys.dispose();
    captured[l].values.dispose();
  }
  return out;
}

export const prefixTuningSpec = defineMethod<'prefix', PrefixTuningConfig>({
  name: 'prefix', title: 'Prefix Tuning', peftType: 'PREFIX_TUNING', color: '#0072B2', lr: 1e-2,
  // Li & Liang train through the MLP; its hidden size defaults to the model width
  defaults: { numVirtualTokens: 10, projection: {}, dropout: 0, seed: 0, trainHead: true },
  build: (base, c) => prefixTuning(base, c),
  fromSettings: (s) => definedOnly({
    numVirtualTokens: s.virtualTokens, seed: s.seed,
    projection: s.hidden === undefined ? undefined : s.hidden === 0 ? null : { hidden: s.hidden },
  }),
  label: (c) => (c.projection ? 'prefix (MLP)' : 'prefix'),
});
