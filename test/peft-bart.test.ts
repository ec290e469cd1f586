/**
 * Encoder-decoder PEFT on BART, as the Prefix-Tuning paper draws it (z = [PREFIX; x; PREFIX'; y]): prefixes in the
 * encoder's self-attention, the decoder's self-attention and its cross-attention. Each property is a statement a
 * researcher can rely on, checked in f64 on a tiny random BART.
 */
import { randomBart } from './helpers/tiny-bart.js';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { AdamW } from '../src/autograd/optim.js';
import { parseBartConfig } from '../src/io/bart-config.js';
import { Rng } from '../src/kernels/rng.js';
import { Bart } from '../src/models/bart.js';
import { bitFit, biasSlices } from '../src/peft/bitfit.js';
import { plainPrefix, prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptMethod } from '../src/peft/prompt-tuning.js';
import { BartPeftModel, bartBase, bartKvOfRun, bartPrefixTuning, generateSeq2seq, generateWithBart } from '../src/peft/seq2seq.js';

const config = parseBartConfig({
  model_type: 'bart', vocab_size: 17, d_model: 8, encoder_layers: 2, decoder_layers: 3, encoder_attention_heads: 2,
  decoder_attention_heads: 4, encoder_ffn_dim: 12, decoder_ffn_dim: 12, max_position_embeddings: 24,
  dropout: 0, attention_dropout: 0, activation_dropout: 0,
}, 'tiny-bart');
const f64 = { dtype: 'f64' as const };
const i32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });

const tinyModel = (seed = 1): Bart => randomBart(config, seed);

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** A frozen (P, 2·L·D) prefix table as a method. */
const fixedPrefix = (values: Float64Array, width: number) =>
  plainPrefix('prefix', tensor(values, [values.length / width, width], { ...f64, name: 'prompt_embeddings' }), 0, false);

describe('prefix tuning on BART: [PREFIX; x; PREFIX\'; y]', () => {
  const x = [[0, 5, 9, 4, 2]];
  const y = [[2, 0, 6, 11]];

  it('zero-length prefixes in all three stacks and a zero-length encoder prompt leave the logits unchanged', () => {
    const model = tinyModel(2);
    const base = noGrad(() => model.forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    const stacks = bartPrefixTuning(model, { numVirtualTokens: 0, projection: { hidden: 6 } });
    const prompt = promptMethod('prompt', tensor(new Float64Array(0), [0, config.dModel], f64), false);
    const peft = new BartPeftModel(model, { ...stacks, encoder: [...stacks.encoder, prompt] });
    const adapted = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    expect(maxAbsDiff(adapted, base)).toBeLessThan(1e-12);
    model.dispose();
  });

  it('encoder and cross prefixes = the model\'s own K/V of a text T (from its run on T + x) ≡ the base model on T + x', async () => {
    const model = tinyModel(3);
    const T = [7, 3, 12];
    const source = [[...T, ...x[0]]];
    const base = noGrad(() => model.forward({ ids: i32(source), decoderIds: i32(y) }).logits.dataSync());
    const kv = await bartKvOfRun(model, (hooks) => model.forward({ ids: i32(source), decoderIds: i32(y), hooks }),
      { encoder: { from: 0, length: T.length }, cross: { from: 0, length: T.length } });
    const widthOf = (stack: 'encoder' | 'cross') => 2 * bartBase(model, stack).layers * config.dModel;
    const peft = new BartPeftModel(model, {
      encoder: [fixedPrefix(kv.encoder!, widthOf('encoder'))], cross: [fixedPrefix(kv.cross!, widthOf('cross'))],
    });
    const adapted = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    expect(maxAbsDiff(adapted, base)).toBeLessThan(1e-10);
    model.dispose();
  });

  it('a decoder prefix = the decoder\'s own K/V of a text T ≡ the base model with decoder input T + y (positions after it)', async () => {
    const model = tinyModel(4);
    const T = [2, 9, 14];
    const decoder = [[...T, ...y[0]]];
    const base = noGrad(() => model.forward({ ids: i32(x), decoderIds: i32(decoder) }).logits.dataSync());
    const kv = await bartKvOfRun(model, (hooks) => model.forward({ ids: i32(x), decoderIds: i32(decoder), hooks }),
      { decoder: { from: 0, length: T.length } });
    const peft = new BartPeftModel(model, { decoder: [fixedPrefix(kv.decoder!, 2 * config.decoderLayers * config.dModel)] });
    const adapted = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    const V = config.vocabSize;
    expect(maxAbsDiff(adapted, base.subarray(T.length * V))).toBeLessThan(1e-10);
    model.dispose();
  });

  it('an encoder prompt = embed(tokens of T) ≡ the base model on T + x (prompt tuning, positions shifted)', () => {
    const model = tinyModel(5);
    const T = [8, 1, 13, 6];
    const base = noGrad(() => model.forward({ ids: i32([[...T, ...x[0]]]), decoderIds: i32(y) }).logits.dataSync());
    const table = model.params.tensor('model.shared.weight').dataSync();
    const rows = Float64Array.from(T.flatMap((id) => [...table.subarray(id * config.dModel, (id + 1) * config.dModel)]));
    const peft = new BartPeftModel(model, { encoder: [promptMethod('prompt', tensor(rows, [T.length, config.dModel], f64), false)] });
    const adapted = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    expect(maxAbsDiff(adapted, base)).toBeLessThan(1e-10);
    model.dispose();
  });

  it('cached generation under prefixes in all three stacks gives the logits of full recomputation at every step', async () => {
    const model = tinyModel(6);
    const peft = new BartPeftModel(model, bartPrefixTuning(model, { numVirtualTokens: 3, projection: { hidden: 6 }, seed: 4 }));
    const sources = [[0, 5, 9, 4, 2], [0, 7, 2]];
    const out = await generateWithBart(peft, sources, { maxNewTokens: 5, returnLogits: true, stopTokens: [] });
    const V = config.vocabSize;
    const S = 5;
    const ids = sources.flatMap((s) => [...s, ...new Array<number>(S - s.length).fill(1)]);
    const mask = sources.flatMap((s) => [...new Array<number>(s.length).fill(1), ...new Array<number>(S - s.length).fill(0)]);
    const decoder = out.tokens.map((row) => [config.decoderStartTokenId, ...row.slice(0, -1)]);
    const full = noGrad(() => peft.forward({
      ids: tensor(ids, [2, S], { dtype: 'i32' }), attentionMask: tensor(mask, [2, S], f64), decoderIds: i32(decoder),
    }).logits.dataSync());
    out.stepLogits!.forEach((rows, t) => rows.forEach((logits, b) => {
      expect(maxAbsDiff(logits, full.subarray((b * 5 + t) * V, (b * 5 + t + 1) * V))).toBeLessThan(1e-10);
    }));
    // without an adapter, generation matches the bare model's
    const bare = await generateSeq2seq(model, sources, { maxNewTokens: 3, stopTokens: [] });
    expect(bare.tokens.map((r) => r.length)).toEqual([3, 3]);
    model.dispose();
  });

  it('gradients of every stack\'s reparameterised prefix equal central differences (f64)', () => {
    const model = tinyModel(7);
    const stacks = bartPrefixTuning(model, { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 1 });
    const peft = new BartPeftModel(model, stacks);
    const labels = i32([[0, 6, 11, 2]]);
    const lossAt = () => noGrad(() => tidy(() => peft.forward({ ids: i32(x), labels }).loss!.dataSync()[0]));
    tidy(() => backward(peft.forward({ ids: i32(x), labels }).loss!));
    const rng = new Rng(3);
    for (const stack of ['encoder', 'decoder', 'cross'] as const) {
      const params = stacks[stack][0].params;
      for (const name of ['embedding.weight', 'transform.0.weight', 'transform.2.bias']) {
        const t = params.tensor(name);
        const grad = t.grad!.dataSync();
        const values = Float64Array.from(t.dataSync());
        for (let probe = 0; probe < 3; probe++) {
          const i = rng.int(t.size);
          const h = 1e-6;
          const at = (v: number) => { values[i] = v; params.assign(name, values); return lossAt(); };
          const v0 = values[i];
          const numeric = (at(v0 + h) - at(v0 - h)) / (2 * h);
          at(v0);
          expect(Math.abs(grad[i] - numeric) / Math.max(1, Math.abs(numeric)), `${stack} ${name}[${i}]`).toBeLessThan(1e-6);
        }
      }
    }
    // the frozen body got no gradient at all
    expect(model.params.trainable()).toEqual([]);
    model.dispose();
  });

  it('training the prefixes lowers the loss and leaves every BART weight bit-identical', () => {
    const model = tinyModel(8);
    const before = new Map([...model.params].map(([n, t]) => [n, Float64Array.from(t.dataSync())]));
    const stacks = bartPrefixTuning(model, { numVirtualTokens: 4, projection: { hidden: 8 }, seed: 2 });
    const peft = new BartPeftModel(model, stacks);
    const trainable: Tensor[] = peft.trainable();
    const opt = new AdamW(trainable, { lr: 3e-2, weightDecay: 0 });
    const labels = i32([[0, 6, 11, 2], [0, 8, 3, 2]]);
    const ids = i32([[0, 5, 9, 4, 2], [0, 7, 3, 1, 2]]);
    const losses: number[] = [];
    for (let step = 0; step < 40; step++) {
      losses.push(tidy(() => { const l = peft.forward({ ids, labels }).loss!; backward(l); return l.dataSync()[0]; }));
      opt.step();
      opt.zeroGrad();
    }
    // a frozen random body limits how far a prefix can move the loss; it must still fall clearly
    expect(losses[39]).toBeLessThan(0.9 * losses[0]);
    for (const [n, t] of model.params) expect(maxAbsDiff(t.dataSync(), before.get(n)!), n).toBe(0);
    model.dispose();
  });

  it('a prefix built for one stack has that stack\'s depth (encoder 2 layers, decoder 3)', () => {
    const model = tinyModel(9);
    const enc = prefixTuning(bartBase(model, 'encoder'), { numVirtualTokens: 2, projection: null });
    const dec = prefixTuning(bartBase(model, 'decoder'), { numVirtualTokens: 2, projection: null });
    expect(enc.params.tensor('prompt_embeddings').shape).toEqual([2, 2 * 2 * 8]);
    expect(dec.params.tensor('prompt_embeddings').shape).toEqual([2, 2 * 3 * 8]);
    expect(() => new BartPeftModel(model, { cross: [promptMethod('prompt', tensor(new Float64Array(8), [1, 8], f64), false)] })).toThrow(/cross-attention/);
    model.dispose();
  });
});

describe('BitFit on BART', () => {
  it('finds every bias by type (self and cross attention, FFN, layer norms) and trains only those', () => {
    const model = tinyModel(10);
    const biases = [...model.params].filter(([n]) => n.endsWith('.bias'));
    const typed = biases.flatMap(([n, t]) => biasSlices(n, t.size));
    expect(typed.length).toBe(biases.length);
    // per decoder layer: q, k, v, out of self and cross attention (8), fc1, fc2, three layer norms
    expect(typed.filter((s) => s.layer === 'dec.1').map((s) => s.type).sort()).toEqual(
      ['attention-output', 'attention-output', 'intermediate', 'key', 'key', 'layernorm', 'layernorm', 'layernorm', 'output', 'query', 'query', 'value', 'value']);
    const peft = new BartPeftModel(model, { encoder: [bitFit(bartBase(model, 'encoder'), { types: ['query', 'intermediate'] })] });
    const names = peft.trainable().map((t) => t.name!);
    expect(names.every((n) => /(q_proj|fc1)\.bias$/.test(n))).toBe(true);
    expect(names.length).toBe(2 * config.encoderLayers + 3 * config.decoderLayers);
    model.dispose();
  });
});
