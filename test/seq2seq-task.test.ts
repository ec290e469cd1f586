/**
 * The subject-seq2seq task's batches (BART's source/target layout on the shipped subject.jsonl) and BART prefix
 * placement: the three prefix sets vs HF PEFT's one decoder prefix read by self- and cross-attention.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { IGNORE_INDEX } from '../src/data/datasets.js';
import { dataPath, loadSubject } from '../src/data/load.js';
import { parseBartConfig } from '../src/io/bart-config.js';
import { loadTokenizer } from '../src/io/node.js';
import { plainPrefix, prefixTuning } from '../src/peft/prefix-tuning.js';
import { type BartAdapter, BartPeftModel, bartBase, bartPrefixPlacement } from '../src/peft/seq2seq.js';
import { MAX_TARGET, buildSeq2seqTask, seq2seqBatch } from '../src/train/seq2seq-task.js';
import { bartTinyConfig } from '../tools/pretrain-bart.js';
import { randomBart } from './helpers/tiny-bart.js';

describe('seq2seqBatch', () => {
  it('right-pads sources with pad (mask 0) and targets with −100', () => {
    const b = seq2seqBatch([[2, 7, 3], [2, 3]], [[9, 3], [5, 6, 3]], 0);
    expect(b.shape).toEqual([2, 3]);
    expect([...b.ids]).toEqual([2, 7, 3, 2, 3, 0]);
    expect([...b.attentionMask]).toEqual([1, 1, 1, 1, 1, 0]);
    expect(b.labelShape).toEqual([2, 3]);
    expect([...b.labels]).toEqual([9, 3, IGNORE_INDEX, 5, 6, 3]);
    expect(() => seq2seqBatch([[1]], [], 0)).toThrow(/1 sources for 0 targets/);
  });
});

describe('subject-seq2seq task', async () => {
  const tok = await loadTokenizer(join(dataPath('tokenizer'), 'bert'));
  const config = bartTinyConfig();
  const o = { batchSize: 4, maxLength: 12, seed: 3 };
  const train = loadSubject('train');

  it('source = bos + body (cut to maxLength) + eos, target = subject (≤ 15 tokens) + eos, rows from the training split', () => {
    const task = buildSeq2seqTask(tok, config, o, loadSubject);
    expect(task.trainSize).toBe(1500);
    expect(task.evalSizes).toEqual({ validation: 250, test: 250 });
    const b = task.batch(0);
    const [B, S] = b.shape;
    const T = b.labelShape[1];
    expect(B).toBe(4);
    expect(S).toBeLessThanOrEqual(12);
    for (let r = 0; r < B; r++) {
      const ids = [...b.ids.subarray(r * S, (r + 1) * S)].filter((_, t) => b.attentionMask[r * S + t] === 1);
      expect(ids[0]).toBe(config.bosTokenId);
      expect(ids[ids.length - 1]).toBe(config.eosTokenId);
      const labels = [...b.labels.subarray(r * T, (r + 1) * T)].filter((l) => l !== IGNORE_INDEX);
      expect(labels[labels.length - 1]).toBe(config.eosTokenId);
      expect(labels.length).toBeLessThanOrEqual(MAX_TARGET);
      const body = tok.decode(ids.slice(1, -1));
      const subject = tok.decode(labels.slice(0, -1));
      const match = train.filter((e) => e.body.startsWith(body) && e.subject.startsWith(subject));
      expect(match.length).toBeGreaterThan(0);
      if (tok.encode(match[0]!.body, { addSpecialTokens: false }).length >= 10) expect(ids.length).toBe(12);
    }
  });

  it('one epoch visits distinct examples; another seed another order; evalLimit caps the splits', () => {
    const task = buildSeq2seqTask(tok, config, o, loadSubject);
    const rows = (t: typeof task, k: number) => Array.from({ length: k }, (_, s) => t.batch(s)).flatMap((b) => {
      const T = b.labelShape[1];
      return Array.from({ length: b.shape[0] }, (_, r) => [...b.labels.subarray(r * T, (r + 1) * T)].join(',') + '|' + [...b.ids.subarray(r * b.shape[1], (r + 1) * b.shape[1])].join(','));
    });
    const first = rows(task, 20);
    expect(new Set(first).size).toBe(80);
    expect(rows(buildSeq2seqTask(tok, config, { ...o, seed: 4 }, loadSubject), 20)).not.toEqual(first);
    expect(buildSeq2seqTask(tok, config, { ...o, evalLimit: 8 }, loadSubject).evalSizes).toEqual({ validation: 8, test: 8 });
    expect(() => buildSeq2seqTask(tok, config, { ...o, maxLength: 2 }, loadSubject)).toThrow(/no room/);
  });
});

describe('BART prefix placement', () => {
  const config = parseBartConfig({
    model_type: 'bart', vocab_size: 17, d_model: 8, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2,
    decoder_attention_heads: 2, encoder_ffn_dim: 12, decoder_ffn_dim: 12, max_position_embeddings: 24, dropout: 0,
  }, 'tiny-bart');
  const i32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'i32' });
  const x = [[0, 5, 9, 4, 2]];
  const y = [[2, 0, 6, 11]];
  const c = { numVirtualTokens: 3, projection: { hidden: 5 }, seed: 7 };

  it("'decoder' is one prefix (HF PEFT's) in the decoder's self- and cross-attention; the encoder output stays the base model's", () => {
    const model = randomBart(config, 11);
    const base = noGrad(() => model.forward({ ids: i32(x), decoderIds: i32(y) }));
    const adapter = bartPrefixPlacement(model, c, 'decoder');
    expect(adapter.encoder).toBeUndefined();
    expect(adapter.decoder![0]).toBe(adapter.cross![0]);
    const peft = new BartPeftModel(model, adapter);
    const single = prefixTuning(bartBase(model, 'decoder'), c).params.count();
    expect(new Set(peft.trainable()).size).toBe(peft.trainable().length);
    expect(peft.trainable().reduce((n, t) => n + t.size, 0)).toBe(single);
    const out = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }));
    expect([...out.encoderHidden.dataSync()]).toEqual([...base.encoderHidden.dataSync()]);
    // the same logits as two separate frozen copies of the produced table, one per decoder stack
    const table = noGrad(() => (adapter.decoder![0] as ReturnType<typeof prefixTuning>).collapse().params.trainable()[0]!.dataSync());
    const copy = () => plainPrefix('prefix', tensor(Float64Array.from(table), [3, 2 * 2 * 8], { dtype: 'f64' }), 0, false);
    const twice = noGrad(() => new BartPeftModel(model, { decoder: [copy()], cross: [copy()] }).forward({ ids: i32(x), decoderIds: i32(y) }).logits.dataSync());
    const logits = out.logits.dataSync();
    let diff = 0;
    for (let i = 0; i < logits.length; i++) diff = Math.max(diff, Math.abs(logits[i]! - twice[i]!));
    expect(diff).toBeLessThan(1e-12);
    let moved = 0;
    const b0 = base.logits.dataSync();
    for (let i = 0; i < logits.length; i++) moved = Math.max(moved, Math.abs(logits[i]! - b0[i]!));
    expect(moved).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it("the shared prefix's gradient is the sum of its two uses' gradients (each parameter trained once)", () => {
    const model = randomBart(config, 12);
    const labels = i32([[3, 8, 1, 2]]);
    const gradsOf = (adapterParams: () => { adapter: BartAdapter; groups: ReturnType<typeof prefixTuning>[] }) => {
      const { adapter, groups } = adapterParams();
      const peft = new BartPeftModel(model, adapter);
      backward(peft.forward({ ids: i32(x), labels }).loss!);
      return groups.map((g) => g.params.trainable().map((t) => Float64Array.from(t.grad!.dataSync())));
    };
    const [shared] = gradsOf(() => {
      const m = prefixTuning(bartBase(model, 'decoder'), c);
      return { adapter: { decoder: [m], cross: [m] }, groups: [m] };
    });
    const [inDecoder, inCross] = gradsOf(() => {
      const a = prefixTuning(bartBase(model, 'decoder'), c);
      const b = prefixTuning(bartBase(model, 'decoder'), c);
      return { adapter: { decoder: [a], cross: [b] }, groups: [a, b] };
    });
    shared!.forEach((g, k) => g.forEach((v, i) => expect(v).toBeCloseTo(inDecoder![k]![i]! + inCross![k]![i]!, 10)));
    expect(Math.max(...shared!.flatMap((g) => [...g].map(Math.abs)))).toBeGreaterThan(1e-6);
    model.dispose();
  });

  it("'all' puts a prefix in each of the three stacks, each with its own reparameterisation (3× the parameters)", () => {
    const model = randomBart(config, 13);
    const base = noGrad(() => model.forward({ ids: i32(x), decoderIds: i32(y) }).encoderHidden.dataSync());
    const adapter = bartPrefixPlacement(model, c, 'all');
    const peft = new BartPeftModel(model, adapter);
    expect(peft.methods().length).toBe(3);
    expect(peft.trainable().reduce((n, t) => n + t.size, 0)).toBe(3 * prefixTuning(bartBase(model, 'decoder'), c).params.count());
    const enc = noGrad(() => peft.forward({ ids: i32(x), decoderIds: i32(y) }).encoderHidden.dataSync());
    let moved = 0;
    for (let i = 0; i < enc.length; i++) moved = Math.max(moved, Math.abs(enc[i]! - base[i]!));
    expect(moved).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
