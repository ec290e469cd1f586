/**
 * BART computes what HF's BartForConditionalGeneration computes: against an independent plain-loop implementation
 * of HF's formulas (f64, to 1e-10), by finite differences through the whole model, on checkpoints in HF's key
 * names (BartForConditionalGeneration and BartModel layouts, tied copies), and with cached generation equal to
 * recomputation. bart-base's parameter count is HF's.
 */
import { gelu, layerNorm } from './helpers/reference-math.js';
import { randomBart } from './helpers/tiny-bart.js';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidy } from '../src/autograd/tensor.js';
import { BART_BASE_CONFIG_JSON, type BartConfig, bartConfigToJson, parseBartConfig } from '../src/io/bart-config.js';
import { ConfigError } from '../src/io/config.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { Rng } from '../src/kernels/rng.js';
import { Bart, BartCache, bartParamSpecs, shiftTokensRight } from '../src/models/bart.js';
import { CheckpointError, checkpointToSafetensors } from '../src/models/checkpoint.js';
import { numel } from '../src/autograd/shape.js';

const configJson = {
  model_type: 'bart', vocab_size: 17, d_model: 8, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2,
  decoder_attention_heads: 2, encoder_ffn_dim: 12, decoder_ffn_dim: 12, max_position_embeddings: 20,
  pad_token_id: 1, bos_token_id: 0, eos_token_id: 2, decoder_start_token_id: 2, is_encoder_decoder: true,
};
const config = parseBartConfig(configJson, 'tiny-bart');
const f64 = { dtype: 'f64' as const };
const i32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });
const mask64 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], f64);

const tinyModel = (seed = 1, c: BartConfig = config): Bart => randomBart(c, seed);

// ---- an independent implementation of HF's BART in plain loops

type Weights = (name: string) => ArrayLike<number>;



function linear(x: number[], W: ArrayLike<number>, b: ArrayLike<number>): number[] {
  return Array.from(b, (bj, j) => x.reduce((s, xi, i) => s + xi * W[j * x.length + i], bj));
}

/** BartAttention as HF writes it: q = q_proj(h)·Dh^−½, softmax(q kᵀ + mask) v, out_proj. */
const layerNormBart = (x: number[], g: ArrayLike<number>, b: ArrayLike<number>) => layerNorm(x, g, b, 1e-5);

function attend(w: Weights, prefix: string, queriesFrom: number[][], kvFrom: number[][], visible: (i: number, j: number) => boolean, H: number): number[][] {
  const D = queriesFrom[0].length;
  const Dh = D / H;
  const p = (n: string) => w(`${prefix}.${n}`);
  const q = queriesFrom.map((x) => linear(x, p('q_proj.weight'), p('q_proj.bias')).map((v) => v * Dh ** -0.5));
  const k = kvFrom.map((x) => linear(x, p('k_proj.weight'), p('k_proj.bias')));
  const v = kvFrom.map((x) => linear(x, p('v_proj.weight'), p('v_proj.bias')));
  return q.map((qi, i) => {
    const context = new Array<number>(D).fill(0);
    for (let head = 0; head < H; head++) {
      const js = k.map((_, j) => j).filter((j) => visible(i, j));
      const scores = js.map((j) => { let s = 0; for (let d = 0; d < Dh; d++) s += qi[head * Dh + d] * k[j][head * Dh + d]; return s; });
      const max = Math.max(...scores);
      const ex = scores.map((s) => Math.exp(s - max));
      const total = ex.reduce((s, x) => s + x, 0);
      js.forEach((j, n) => { for (let d = 0; d < Dh; d++) context[head * Dh + d] += (ex[n] / total) * v[j][head * Dh + d]; });
    }
    return linear(context, p('out_proj.weight'), p('out_proj.bias'));
  });
}

function ffn(w: Weights, L: string, x: number[]): number[] {
  return linear(linear(x, w(`${L}.fc1.weight`), w(`${L}.fc1.bias`)).map(gelu), w(`${L}.fc2.weight`), w(`${L}.fc2.bias`));
}

function embedRows(w: Weights, side: string, ids: number[], c: BartConfig): number[][] {
  const D = c.dModel;
  return ids.map((id, t) => layerNormBart(Array.from({ length: D }, (_, d) =>
    w('model.shared.weight')[id * D + d] + w(`model.${side}.embed_positions.weight`)[(t + 2) * D + d]),
  w(`model.${side}.layernorm_embedding.weight`), w(`model.${side}.layernorm_embedding.bias`)));
}

/** Logits (B, T, V) of BartForConditionalGeneration for encoder ids/mask and decoder ids. */
function referenceBart(w: Weights, c: BartConfig, ids: number[][], mask: number[][], decoderIds: number[][]): number[][][] {
  const D = c.dModel;
  return ids.map((row, b) => {
    let enc = embedRows(w, 'encoder', row, c);
    for (let l = 0; l < c.encoderLayers; l++) {
      const L = `model.encoder.layers.${l}`;
      const a = attend(w, `${L}.self_attn`, enc, enc, (_i, j) => mask[b][j] === 1, c.encoderAttentionHeads);
      const h = enc.map((x, i) => layerNormBart(x.map((v, d) => v + a[i][d]), w(`${L}.self_attn_layer_norm.weight`), w(`${L}.self_attn_layer_norm.bias`)));
      enc = h.map((x) => layerNormBart(ffn(w, L, x).map((v, d) => v + x[d]), w(`${L}.final_layer_norm.weight`), w(`${L}.final_layer_norm.bias`)));
    }
    let dec = embedRows(w, 'decoder', decoderIds[b], c);
    for (let l = 0; l < c.decoderLayers; l++) {
      const L = `model.decoder.layers.${l}`;
      const a = attend(w, `${L}.self_attn`, dec, dec, (i, j) => j <= i, c.decoderAttentionHeads);
      let h = dec.map((x, i) => layerNormBart(x.map((v, d) => v + a[i][d]), w(`${L}.self_attn_layer_norm.weight`), w(`${L}.self_attn_layer_norm.bias`)));
      const cross = attend(w, `${L}.encoder_attn`, h, enc, (_i, j) => mask[b][j] === 1, c.decoderAttentionHeads);
      h = h.map((x, i) => layerNormBart(x.map((v, d) => v + cross[i][d]), w(`${L}.encoder_attn_layer_norm.weight`), w(`${L}.encoder_attn_layer_norm.bias`)));
      dec = h.map((x) => layerNormBart(ffn(w, L, x).map((v, d) => v + x[d]), w(`${L}.final_layer_norm.weight`), w(`${L}.final_layer_norm.bias`)));
    }
    const table = w('model.shared.weight');
    const bias = w('final_logits_bias');
    return dec.map((x) => Array.from({ length: c.vocabSize }, (_, v) => x.reduce((s, xd, d) => s + xd * table[v * D + d], bias[v])));
  });
}

function weightsOf(model: Bart): Weights {
  const values = new Map<string, ArrayLike<number>>();
  for (const [name, t] of model.params) values.set(name, t.dataSync());
  values.set('final_logits_bias', model.finalLogitsBias.dataSync());
  return (name) => {
    const v = values.get(name);
    if (!v) throw new Error(`no weight ${name}`);
    return v;
  };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('BART config', () => {
  it('reads bart-base as the Hub publishes it, with BartConfig defaults for missing keys', () => {
    const c = parseBartConfig(BART_BASE_CONFIG_JSON, 'bart-base/config.json');
    expect([c.dModel, c.encoderLayers, c.decoderLayers, c.encoderAttentionHeads, c.encoderFfnDim]).toEqual([768, 6, 6, 12, 3072]);
    expect([c.padTokenId, c.bosTokenId, c.eosTokenId, c.decoderStartTokenId, c.activation]).toEqual([1, 0, 2, 2, 'gelu_erf']);
    const defaults = parseBartConfig({ model_type: 'bart' });
    expect([defaults.dModel, defaults.encoderLayers, defaults.vocabSize, defaults.numLabels]).toEqual([1024, 12, 50265, 3]);
  });

  it('round-trips through config.json and rejects what BartModel does not compute, naming the key', () => {
    expect(parseBartConfig(bartConfigToJson(config), 'x')).toEqual(config);
    expect(() => parseBartConfig({ ...configJson, normalize_before: true }, 'c.json')).toThrow(/c\.json: normalize_before/);
    expect(() => parseBartConfig({ ...configJson, d_model: 9 }, 'c.json')).toThrow(ConfigError);
    expect(() => parseBartConfig({ ...configJson, model_type: 'bert' }, 'c.json')).toThrow(/model_type/);
  });

  it('bart-base has HF num_parameters() = 139,420,416 (shared table once, final_logits_bias a buffer)', () => {
    const c = parseBartConfig(BART_BASE_CONFIG_JSON);
    expect(bartParamSpecs(c).reduce((n, s) => n + numel(s.shape), 0)).toBe(139_420_416);
  });
});

describe('BART forward equals a plain-loop implementation of HF\'s formulas', () => {
  const ids = [[0, 5, 9, 4, 2], [0, 7, 3, 2, 1]];
  const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
  const decoderIds = [[2, 0, 6, 11], [2, 0, 8, 3]];

  it('logits to 1e-10 in f64, with encoder padding and final_logits_bias', () => {
    const model = tinyModel(3);
    const biasValues = Array.from({ length: config.vocabSize }, (_, v) => 0.1 * (v % 5) - 0.2);
    model.finalLogitsBias.backend.writeRegion(model.finalLogitsBias.storage, [1, config.vocabSize],
      tensor(biasValues, [1, config.vocabSize], f64).storage, [1, config.vocabSize], [0, 0], 'f64');
    const out = noGrad(() => model.forward({ ids: i32(ids), attentionMask: mask64(mask), decoderIds: i32(decoderIds) }));
    const ref = referenceBart(weightsOf(model), config, ids, mask, decoderIds);
    expect(out.logits.shape).toEqual([2, 4, config.vocabSize]);
    expect(maxAbsDiff(out.logits.dataSync(), ref.flat(2))).toBeLessThan(1e-10);
    model.dispose();
  });

  it('labels: decoder inputs default to labels shifted right, −100 → pad; the loss is the mean CE over kept targets', () => {
    const model = tinyModel(4);
    const labels = [[0, 6, 11, 2], [0, 8, -100, -100]];
    const shifted = shiftTokensRight(i32(labels), 1, 2).dataSync();
    expect([...shifted]).toEqual([2, 0, 6, 11, 2, 0, 8, 1]);
    const out = noGrad(() => model.forward({ ids: i32(ids), attentionMask: mask64(mask), labels: i32(labels) }));
    const ref = referenceBart(weightsOf(model), config, ids, mask, [[2, 0, 6, 11], [2, 0, 8, 1]]);
    let total = 0;
    let n = 0;
    labels.forEach((row, b) => row.forEach((y, t) => {
      if (y === -100) return;
      const z = ref[b][t];
      const max = Math.max(...z);
      total += Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0)) + max - z[y];
      n++;
    }));
    expect(Math.abs(out.loss!.dataSync()[0] - total / n)).toBeLessThan(1e-10);
    model.dispose();
  });

  it('autograd equals central differences for tensors of every kind (f64)', () => {
    const model = tinyModel(5);
    const labels = i32([[0, 6, 11, 2], [0, 8, 3, -100]]);
    const lossAt = () => noGrad(() => tidy(() => model.forward({ ids: i32(ids), attentionMask: mask64(mask), labels }).loss!.dataSync()[0]));
    tidy(() => backward(model.forward({ ids: i32(ids), attentionMask: mask64(mask), labels }).loss!));
    const names = ['model.shared.weight', 'model.encoder.embed_positions.weight', 'model.encoder.layers.0.self_attn.k_proj.weight',
      'model.decoder.layers.1.encoder_attn.v_proj.bias', 'model.decoder.layers.0.self_attn.q_proj.weight',
      'model.encoder.layers.1.fc1.weight', 'model.decoder.layernorm_embedding.weight', 'model.decoder.layers.1.final_layer_norm.bias'];
    const rng = new Rng(9);
    for (const name of names) {
      const t = model.params.tensor(name);
      const grad = t.grad!.dataSync();
      const values = Float64Array.from(t.dataSync());
      for (let probe = 0; probe < 4; probe++) {
        const i = rng.int(t.size);
        const h = 1e-6;
        const at = (x: number) => { values[i] = x; model.params.assign(name, values); return lossAt(); };
        const x0 = values[i];
        const numeric = (at(x0 + h) - at(x0 - h)) / (2 * h);
        at(x0);
        expect(Math.abs(grad[i] - numeric) / Math.max(1, Math.abs(numeric)), `${name}[${i}]`).toBeLessThan(1e-6);
      }
    }
    model.dispose();
  });
});

describe('BART checkpoints in HF\'s key names', () => {
  it('save → safetensors → load is bit-identical, and the file holds the shared table once plus final_logits_bias', async () => {
    const model = tinyModel(6);
    const bytes = checkpointToSafetensors(await model.save());
    const keys = [...parseSafetensors(bytes, 'bart.safetensors').tensors.keys()];
    expect(keys).toContain('final_logits_bias');
    expect(keys.filter((k) => k.endsWith('embed_tokens.weight') || k === 'lm_head.weight')).toEqual([]);
    const again = Bart.load(config, bytes, f64);
    expect(checkpointToSafetensors(await again.save())).toEqual(bytes);
    model.dispose();
    again.dispose();
  });

  it('reads BartModel keys (no model. prefix) and a table stored only under a tied name', async () => {
    const model = tinyModel(7);
    const saved = await model.save();
    const renamed = new Map([...saved].map(([k, v]) => [k === 'model.shared.weight' ? 'model.decoder.embed_tokens.weight' : k.replace(/^model\./, ''), v]));
    renamed.set('encoder.embed_tokens.weight', saved.get('model.shared.weight')!);
    const again = Bart.load(config, serializeSafetensors(renamed), f64);
    expect(checkpointToSafetensors(await again.save())).toEqual(checkpointToSafetensors(saved));
    model.dispose();
    again.dispose();
  });

  it('a missing or misshapen tensor is one CheckpointError naming it', async () => {
    const model = tinyModel(8);
    const saved = await model.save();
    const missing = new Map(saved);
    missing.delete('model.encoder.layers.1.fc2.bias');
    expect(() => Bart.load(config, serializeSafetensors(missing))).toThrow(/missing model\.encoder\.layers\.1\.fc2\.bias/);
    const wrong = new Map(saved);
    wrong.set('final_logits_bias', { shape: [config.vocabSize], data: new Float32Array(config.vocabSize) });
    expect(() => Bart.load(config, serializeSafetensors(wrong))).toThrow(CheckpointError);
    model.dispose();
  });
});

describe('BART incremental decoding', () => {
  it('a KV cache (decoder self-attention, cross K/V kept) gives the logits of full recomputation at every step', () => {
    const model = tinyModel(9);
    const ids = [[0, 5, 9, 4, 2], [0, 7, 3, 2, 1]];
    const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
    const decoder = [[2, 0, 6, 11, 4], [2, 0, 8, 3, 5]];
    const full = noGrad(() => model.forward({ ids: i32(ids), attentionMask: mask64(mask), decoderIds: i32(decoder) }).logits.dataSync());
    const cache = new BartCache(config.decoderLayers);
    const V = config.vocabSize;
    for (let t = 0; t < 5; t++) {
      const step = noGrad(() => model.forward({ ids: i32(ids), attentionMask: mask64(mask), decoderIds: i32(decoder.map((r) => [r[t]])), cache }).logits.dataSync());
      for (let b = 0; b < 2; b++) {
        expect(maxAbsDiff(step.subarray(b * V, (b + 1) * V), full.subarray((b * 5 + t) * V, (b * 5 + t + 1) * V))).toBeLessThan(1e-12);
      }
    }
    expect(cache.length).toBe(5);
    cache.dispose();
    model.dispose();
  });
});
