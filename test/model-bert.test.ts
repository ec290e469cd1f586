/**
 * BERT computes what HF's BertModel and its heads compute: against an independent plain-loop implementation of
 * HF's formulas, by whole-model gradient checks of every head, and on checkpoints written with HF's key names.
 */
import { erf, gelu, layerNorm } from './helpers/reference-math.js';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { concat, expand } from '../src/autograd/functions.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { type BertConfig, parseBertConfig } from '../src/io/config.js';
import { parseSafetensors, serializeSafetensors, type TensorData } from '../src/io/safetensors.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert, type BertHead, bertParamSpecs } from '../src/models/bert.js';
import { presetConfig } from '../src/io/config-presets.js';
import { CheckpointError, checkpointToSafetensors } from '../src/models/checkpoint.js';
import type { ModelHooks } from '../src/models/hooks.js';
import type { Params } from '../src/models/params.js';

const configJson = {
  vocab_size: 13, hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: 16,
  max_position_embeddings: 16, type_vocab_size: 2, num_labels: 3,
};
const config = parseBertConfig(configJson, 'tiny-bert');
const f64 = { dtype: 'f64' as const };
const i32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });
const mask64 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], f64);
const HEADS: BertHead[] = ['base', 'masked-lm', 'sequence-classification', 'token-classification'];

function randomize(params: Params, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, t] of params) {
    const gain = /LayerNorm\.weight$/.test(name) ? 1 : 0;
    params.assign(name, Array.from({ length: t.size }, () => gain + 0.4 * rng.normal()));
  }
}

function tinyModel(head: BertHead, seed = 1, c: BertConfig = config): Bert {
  const model = Bert.init(c, { head, seed, ...f64 });
  randomize(model.params, seed + 100);
  return model;
}

// ---- an independent implementation of HF's BERT in plain loops

type Weights = (name: string) => ArrayLike<number>;



/** nn.Linear: y = x Wᵀ + b with W stored [out, in]. */
function linear(x: number[], W: ArrayLike<number>, b: ArrayLike<number>): number[] {
  return Array.from(b, (bj, j) => x.reduce((s, xi, i) => s + xi * W[j * x.length + i], bj));
}

interface Reference { hidden: number[][][]; pooled: number[][]; mlm: number[][][]; seq: number[][]; token: number[][][] }

/**
 * HF's BertModel + heads. `prefix[l]` = P extra key/value rows (P, D) at layer l that every query sees (HF's
 * past_key_values); positions then start at P, as HF's BertEmbeddings offsets them by past_key_values_length.
 */
function referenceBert(w: Weights, c: BertConfig, ids: number[][], types: number[][], mask: number[][],
  prefix?: { keys: number[][]; values: number[][] }[]): Reference {
  const { hiddenSize: D, numAttentionHeads: H } = c;
  const Dh = D / H;
  const eps = c.layerNormEps;
  const P = prefix?.[0].keys.length ?? 0;
  const e = (n: string) => w(`bert.embeddings.${n}`);
  const hidden = ids.map((row, b) => {
    let h = row.map((id, t) => layerNorm(Array.from({ length: D }, (_, d) =>
      e('word_embeddings.weight')[id * D + d] + e('token_type_embeddings.weight')[types[b][t] * D + d] + e('position_embeddings.weight')[(P + t) * D + d]),
    e('LayerNorm.weight'), e('LayerNorm.bias'), eps));
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const p = (n: string) => w(`bert.encoder.layer.${l}.${n}`);
      const dense = (x: number[], n: string) => linear(x, p(`${n}.weight`), p(`${n}.bias`));
      const q = h.map((x) => dense(x, 'attention.self.query'));
      const keys = [...(prefix?.[l].keys ?? []), ...h.map((x) => dense(x, 'attention.self.key'))];
      const values = [...(prefix?.[l].values ?? []), ...h.map((x) => dense(x, 'attention.self.value'))];
      const keyMask = [...new Array<number>(P).fill(1), ...mask[b]];
      h = h.map((x, i) => {
        const context = new Array<number>(D).fill(0);
        for (let head = 0; head < H; head++) {
          const visible = keys.map((_, j) => j).filter((j) => keyMask[j] === 1);
          const scores = visible.map((j) => q[i].slice(head * Dh, (head + 1) * Dh).reduce((s, v, d) => s + v * keys[j][head * Dh + d], 0) / Math.sqrt(Dh));
          const max = Math.max(...scores);
          const ex = scores.map((s) => Math.exp(s - max));
          const total = ex.reduce((s, v) => s + v, 0);
          visible.forEach((j, k) => { for (let d = 0; d < Dh; d++) context[head * Dh + d] += (ex[k] / total) * values[j][head * Dh + d]; });
        }
        const attn = dense(context, 'attention.output.dense');
        const a = layerNorm(attn.map((v, d) => v + x[d]), p('attention.output.LayerNorm.weight'), p('attention.output.LayerNorm.bias'), eps);
        const out = dense(dense(a, 'intermediate.dense').map(gelu), 'output.dense');
        return layerNorm(out.map((v, d) => v + a[d]), p('output.LayerNorm.weight'), p('output.LayerNorm.bias'), eps);
      });
    }
    return h;
  });
  const has = (n: string) => { try { w(n); return true; } catch { return false; } };
  const pooled = has('bert.pooler.dense.weight')
    ? hidden.map((h) => linear(h[0], w('bert.pooler.dense.weight'), w('bert.pooler.dense.bias')).map(Math.tanh)) : [];
  const mlm = has('cls.predictions.bias') ? hidden.map((h) => h.map((x) => {
    const t = layerNorm(linear(x, w('cls.predictions.transform.dense.weight'), w('cls.predictions.transform.dense.bias')).map(gelu),
      w('cls.predictions.transform.LayerNorm.weight'), w('cls.predictions.transform.LayerNorm.bias'), eps);
    return linear(t, w('bert.embeddings.word_embeddings.weight'), w('cls.predictions.bias'));
  })) : [];
  const classify = (x: number[]) => linear(x, w('classifier.weight'), w('classifier.bias'));
  const hasClassifier = has('classifier.weight');
  return {
    hidden, pooled, mlm,
    seq: hasClassifier && pooled.length ? pooled.map(classify) : [],
    token: hasClassifier ? hidden.map((h) => h.map(classify)) : [],
  };
}

const weightsOf = (params: Params): Weights => (name) => params.tensor(name).dataSync();

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

const batch = { ids: [[2, 5, 7, 1, 3], [2, 9, 4, 0, 0]], types: [[0, 0, 0, 1, 1], [0, 0, 1, 0, 0]], mask: [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]] };
const run = (model: Bert, extra: { labels?: Tensor; hooks?: ModelHooks; train?: boolean; seed?: number } = {}) =>
  model.forward({ ids: i32(batch.ids), tokenTypeIds: i32(batch.types), attentionMask: mask64(batch.mask), ...extra });

describe('BERT computes what HF BertModel and its heads compute', () => {
  it('erf of the reference is erf', () => {
    expectClose([0.5, 1, -1.5, 3, 4.5].map(erf), [0.5204998778130465, 0.8427007929497149, -0.9661051464753108, 0.9999779095030014, 0.9999999998033839], 1e-15);
  });

  for (const head of HEADS) {
    it(`${head}: hidden states, pooled output and logits equal a plain-loop implementation of HF's formulas (padded batch, segments, f64, 1e-10)`, () => {
      const model = tinyModel(head);
      const out = run(model);
      const ref = referenceBert(weightsOf(model.params), config, batch.ids, batch.types, batch.mask);
      expectClose(out.hidden.dataSync(), ref.hidden.flat(2), 1e-10);
      if (out.pooled) expectClose(out.pooled.dataSync(), ref.pooled.flat(), 1e-10);
      const expected = { base: null, 'masked-lm': ref.mlm.flat(2), 'sequence-classification': ref.seq.flat(), 'token-classification': ref.token.flat(2) }[head];
      if (expected) expectClose(out.logits!.dataSync(), expected, 1e-10);
      else expect(out.logits).toBeUndefined();
    });
  }
});

describe('BERT parameters', () => {
  it('bert-base-uncased has 109,482,240 parameters with its pooler and bert-large-uncased 335,141,888, as HF counts BertModel', () => {
    const count = (name: string) => bertParamSpecs(presetConfig(name) as BertConfig, 'base').reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    expect(count('bert-base-uncased')).toBe(109_482_240);
    expect(count('bert-large-uncased')).toBe(335_141_888);
  });

  it('HF initializes the padding row of the word embeddings to zero, LayerNorms to 1/0, biases to 0', () => {
    const p = Bert.init(config, { head: 'masked-lm', seed: 2 }).params;
    expect([...p.tensor('bert.embeddings.word_embeddings.weight').dataSync().subarray(0, 8)]).toEqual(new Array(8).fill(0));
    expect([...p.tensor('bert.encoder.layer.0.output.LayerNorm.weight').dataSync()]).toEqual(new Array(8).fill(1));
    expect([...p.tensor('cls.predictions.bias').dataSync()]).toEqual(new Array(13).fill(0));
  });
});

describe('BERT gradients', () => {
  const labelsFor: Record<string, { json?: object; labels: () => Tensor }> = {
    'masked-lm': { labels: () => i32([[-100, 5, -100, 11, 3], [-100, -100, 4, -100, -100]]) },
    'sequence-classification': { labels: () => tensor([2, 0], [2], { dtype: 'i32' }) },
    'sequence-classification (regression)': { json: { num_labels: 1 }, labels: () => tensor([0.5, -1.25], [2], f64) },
    'sequence-classification (multi-label)': {
      json: { problem_type: 'multi_label_classification' }, labels: () => tensor([1, 0, 1, 0, 0, 1], [2, 3], f64),
    },
    'token-classification': { labels: () => i32([[0, 2, 1, -100, 2], [1, 1, 0, -100, -100]]) },
  };
  for (const [what, { json, labels }] of Object.entries(labelsFor)) {
    it(`${what}: the loss gradient of every parameter tensor matches central differences (f64, dropout on)`, () => {
      const c = parseBertConfig({ ...configJson, ...json }, 'tiny-bert');
      const model = tinyModel(what.split(' ')[0] as BertHead, 3, c);
      const loss = () => run(model, { labels: labels(), train: true, seed: 5 }).loss!;
      backward(loss());
      const rng = new Rng(6);
      const h = 1e-6;
      let worst = 0;
      for (const [name, t] of model.params.list()) {
        const analytic = t.grad!.dataSync();
        for (let k = 0; k < 2; k++) {
          const i = rng.int(t.size);
          const values = Float64Array.from(model.params.tensor(name).dataSync());
          const at = (v: number) => {
            values[i] = v;
            model.params.assign(name, values);
            return noGrad(() => tidy(() => loss().dataSync()[0]));
          };
          const x = values[i];
          const numeric = (at(x + h) - at(x - h)) / (2 * h);
          at(x);
          worst = Math.max(worst, Math.abs(analytic[i] - numeric) / Math.max(1, Math.abs(numeric)));
        }
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
    });
  }
});

// ---- checkpoints with HF's exact key names and shapes

/** BertForPreTraining's state_dict, as bert-base-uncased ships it (with the position_ids buffer and the NSP head). */
function hfBertKeys(c: BertConfig): [string, number[], 'F32' | 'I64'][] {
  const { hiddenSize: D, intermediateSize: I, vocabSize: V } = c;
  const keys: [string, number[], 'F32' | 'I64'][] = [
    ['bert.embeddings.position_ids', [1, c.maxPositionEmbeddings], 'I64'],
    ['bert.embeddings.word_embeddings.weight', [V, D], 'F32'],
    ['bert.embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, D], 'F32'],
    ['bert.embeddings.token_type_embeddings.weight', [c.typeVocabSize, D], 'F32'],
    ['bert.embeddings.LayerNorm.weight', [D], 'F32'], ['bert.embeddings.LayerNorm.bias', [D], 'F32'],
  ];
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const L = `bert.encoder.layer.${l}`;
    for (const n of ['query', 'key', 'value']) keys.push([`${L}.attention.self.${n}.weight`, [D, D], 'F32'], [`${L}.attention.self.${n}.bias`, [D], 'F32']);
    keys.push(
      [`${L}.attention.output.dense.weight`, [D, D], 'F32'], [`${L}.attention.output.dense.bias`, [D], 'F32'],
      [`${L}.attention.output.LayerNorm.weight`, [D], 'F32'], [`${L}.attention.output.LayerNorm.bias`, [D], 'F32'],
      [`${L}.intermediate.dense.weight`, [I, D], 'F32'], [`${L}.intermediate.dense.bias`, [I], 'F32'],
      [`${L}.output.dense.weight`, [D, I], 'F32'], [`${L}.output.dense.bias`, [D], 'F32'],
      [`${L}.output.LayerNorm.weight`, [D], 'F32'], [`${L}.output.LayerNorm.bias`, [D], 'F32'],
    );
  }
  keys.push(
    ['bert.pooler.dense.weight', [D, D], 'F32'], ['bert.pooler.dense.bias', [D], 'F32'],
    ['cls.predictions.bias', [V], 'F32'],
    ['cls.predictions.transform.dense.weight', [D, D], 'F32'], ['cls.predictions.transform.dense.bias', [D], 'F32'],
    ['cls.predictions.transform.LayerNorm.weight', [D], 'F32'], ['cls.predictions.transform.LayerNorm.bias', [D], 'F32'],
    ['cls.predictions.decoder.weight', [V, D], 'F32'], ['cls.predictions.decoder.bias', [V], 'F32'],
    ['cls.seq_relationship.weight', [2, D], 'F32'], ['cls.seq_relationship.bias', [2], 'F32'],
  );
  return keys;
}

type Ckpt = Map<string, { shape: number[]; data: TensorData }>;

function hfBertCheckpoint(c: BertConfig, seed: number): Ckpt {
  const rng = new Rng(seed);
  const out: Ckpt = new Map();
  for (const [key, shape, dtype] of hfBertKeys(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'I64' ? BigInt64Array.from({ length: n }, (_, k) => BigInt(k))
      : Float32Array.from({ length: n }, () => (/LayerNorm\.weight$/.test(key) ? 1 : 0) + 0.4 * rng.normal());
    out.set(key, { shape, data });
  }
  out.set('cls.predictions.decoder.weight', out.get('bert.embeddings.word_embeddings.weight')!); // tied
  out.set('cls.predictions.decoder.bias', out.get('cls.predictions.bias')!);
  return out;
}

const weightsFrom = (ckpt: Ckpt): Weights => (name) => {
  const t = ckpt.get(name);
  if (!t) throw new Error(`no ${name}`);
  return t.data as Float32Array;
};

describe('BERT checkpoints', () => {
  it('an HF BertForPreTraining safetensors file (bert-base-uncased\'s layout) loads into BertForMaskedLM and computes HF\'s logits', () => {
    const ckpt = hfBertCheckpoint(config, 7);
    const model = Bert.load(config, serializeSafetensors(ckpt), { head: 'masked-lm', ...f64 });
    const ref = referenceBert(weightsFrom(ckpt), config, batch.ids, batch.types, batch.mask);
    expectClose(run(model).logits!.dataSync(), ref.mlm.flat(2), 1e-10);
    expect([...model.loadReport!.skipped.keys()].sort()).toEqual([
      'bert.embeddings.position_ids', 'bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'cls.predictions.decoder.bias',
      'cls.predictions.decoder.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight',
    ]);
  });

  it('loading it for sequence classification initializes the new classifier (an error with strict)', () => {
    const ckpt = hfBertCheckpoint(config, 7);
    const model = Bert.load(config, ckpt, { head: 'sequence-classification', ...f64 });
    expect(model.loadReport!.initialized).toEqual(['classifier.weight', 'classifier.bias']);
    const ref = referenceBert(weightsFrom(ckpt), config, batch.ids, batch.types, batch.mask);
    expectClose(run(model).pooled!.dataSync(), ref.pooled.flat(), 1e-10);
    expect(() => Bert.load(config, ckpt, { head: 'sequence-classification', strict: true })).toThrow(/missing classifier\.weight \(expected shape \[3, 8\]\)/);
  });

  it('an old checkpoint without the bert. prefix and with LayerNorm gamma/beta loads the same weights', () => {
    const ckpt = hfBertCheckpoint(config, 8);
    const old: Ckpt = new Map([...ckpt].filter(([k]) => k.startsWith('bert.')).map(([k, t]) =>
      [k.slice('bert.'.length).replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]));
    const model = Bert.load(config, old, { head: 'base', strict: true, ...f64 });
    const ref = referenceBert(weightsFrom(ckpt), config, batch.ids, batch.types, batch.mask);
    const out = run(model);
    expectClose(out.hidden.dataSync(), ref.hidden.flat(2), 1e-10);
    expectClose(out.pooled!.dataSync(), ref.pooled.flat(), 1e-10);
  });

  it('classifier checkpoints (classifier.weight [num_labels, D]) load for sequence and token classification', () => {
    for (const head of ['sequence-classification', 'token-classification'] as const) {
      const ckpt = hfBertCheckpoint(config, 9);
      const rng = new Rng(3);
      ckpt.set('classifier.weight', { shape: [3, 8], data: Float32Array.from({ length: 24 }, () => rng.normal()) });
      ckpt.set('classifier.bias', { shape: [3], data: Float32Array.from({ length: 3 }, () => rng.normal()) });
      const model = Bert.load(config, ckpt, { head, ...f64 });
      const ref = referenceBert(weightsFrom(ckpt), config, batch.ids, batch.types, batch.mask);
      expectClose(run(model).logits!.dataSync(), head === 'token-classification' ? ref.token.flat(2) : ref.seq.flat(), 1e-10);
    }
  });

  it('save → safetensors → load → save is bit-exact for every head', async () => {
    for (const head of HEADS) {
      const bytes = checkpointToSafetensors(await Bert.init(config, { head, seed: 4 }).save());
      const again = checkpointToSafetensors(await Bert.load(config, bytes, { head, strict: true }).save());
      expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      expect([...parseSafetensors(bytes, head).tensors.keys()].every((k) => /^(bert|cls|classifier)\./.test(k))).toBe(true);
    }
  });

  it('a missing backbone key, a wrong num_labels or an unknown key is a one-line CheckpointError naming it', () => {
    const cases: [(m: Ckpt) => void, RegExp][] = [
      [(m) => m.delete('bert.encoder.layer.1.intermediate.dense.bias'), /missing bert\.encoder\.layer\.1\.intermediate\.dense\.bias \(expected shape \[16\]\)/],
      [(m) => m.set('classifier.weight', { shape: [5, 8], data: new Float32Array(40) }), /classifier\.weight has shape \[5, 8\], expected \[3, 8\]/],
      [(m) => m.set('bert.encoder.layer.2.output.dense.bias', { shape: [8], data: new Float32Array(8) }), /unexpected key bert\.encoder\.layer\.2\.output\.dense\.bias/],
    ];
    for (const [edit, message] of cases) {
      const ckpt = hfBertCheckpoint(config, 10);
      edit(ckpt);
      const attempt = () => Bert.load(config, ckpt, { head: 'sequence-classification' });
      expect(attempt).toThrow(CheckpointError);
      expect(attempt).toThrow(message);
      try { attempt(); } catch (e) { expect((e as Error).message).not.toContain('\n'); }
    }
  });
});

// ---- hooks

/** A kv hook adding the rows of `prefix[l]` (P, D) as keys/values at layer l, seen by every query. */
function prefixHook(c: BertConfig, prefix: { keys: number[][]; values: number[][] }[]): ModelHooks {
  const H = c.numAttentionHeads;
  const Dh = c.hiddenSize / H;
  const P = prefix[0].keys.length;
  // (P, D) rows → (1, H, P, Dh)
  const heads = (rows: number[][]) => tensor(Array.from({ length: H * P * Dh }, (_, k) => {
    const [hd, p, d] = [Math.floor(k / (P * Dh)), Math.floor(k / Dh) % P, k % Dh];
    return rows[p][hd * Dh + d];
  }), [1, H, P, Dh], f64);
  const tensors = prefix.map((l) => ({ keys: heads(l.keys), values: heads(l.values) }));
  return {
    kv(layer, kv) {
      const B = kv.keys.shape[0];
      const S = kv.keys.shape[2];
      expect(kv.attentionMask.shape).toEqual([B, S]);
      return {
        keys: concat([expand(tensors[layer].keys, [B, H, P, Dh]), kv.keys], 2),
        values: concat([expand(tensors[layer].values, [B, H, P, Dh]), kv.values], 2),
        attentionMask: concat([tensor(new Array<number>(B * P).fill(1), [B, P], f64), kv.attentionMask], 1),
      };
    },
    kvPrefixLength: () => P,
  };
}

describe('BERT hooks', () => {
  it('an identity input hook and a kv hook adding a zero-length prefix leave every head\'s outputs unchanged', () => {
    for (const head of HEADS) {
      const model = tinyModel(head, 12);
      const plain = run(model);
      const hooked = run(model, { hooks: { input: (x) => ({ ...x }), ...prefixHook(config, [0, 1].map(() => ({ keys: [], values: [] }))) } });
      expect(hooked.hidden.dataSync()).toEqual(plain.hidden.dataSync());
      if (plain.logits) expect(hooked.logits!.dataSync()).toEqual(plain.logits.dataSync());
    }
  });

  it('a kv prefix is what HF computes with past_key_values: keys every query sees, positions offset by its length', () => {
    const rng = new Rng(13);
    const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: config.hiddenSize }, () => rng.normal()));
    const prefix = [0, 1].map(() => ({ keys: rows(2), values: rows(2) }));
    const model = tinyModel('masked-lm', 14);
    const out = run(model, { hooks: prefixHook(config, prefix) });
    const ref = referenceBert(weightsOf(model.params), config, batch.ids, batch.types, batch.mask, prefix);
    expectClose(out.logits!.dataSync(), ref.mlm.flat(2), 1e-10);
  });
});

describe('padding_idx as HF: nn.Embedding(vocab, hidden, padding_idx=pad_token_id)', () => {
  const gradsOf = (model: Bert, rows: number[][]) => {
    const w = model.params.tensor('bert.embeddings.word_embeddings.weight');
    w.requireGrad(true);
    tidy(() => backward(model.forward({ ids: i32(rows), labels: tensor([1], [1], { dtype: 'i32' }) }).loss!));
    const g = Float64Array.from(w.grad!.dataSync());
    w.grad!.dispose();
    w.grad = null;
    return g;
  };

  it('the [PAD] row of word_embeddings gets exactly zero gradient; every other row is unchanged', () => {
    const D = config.hiddenSize;
    const pad = config.padTokenId!;
    const rows = [[2, 5, pad, 7, pad, 5]];
    const withPad = gradsOf(tinyModel('sequence-classification'), rows);
    const noPadConfig = parseBertConfig({ ...configJson, pad_token_id: null }, 'tiny-bert');
    const plain = gradsOf(tinyModel('sequence-classification', 1, noPadConfig), rows);
    const padRow = (g: Float64Array) => [...g.slice(pad * D, (pad + 1) * D)];
    expect(padRow(plain).some((x) => x !== 0)).toBe(true); // the pad token is used, so without padding_idx its row would train
    expect(padRow(withPad).every((x) => Object.is(x, 0))).toBe(true);
    for (let i = 0; i < withPad.length; i++) if (Math.floor(i / D) !== pad) expect(withPad[i]).toBe(plain[i]);
  });
});
