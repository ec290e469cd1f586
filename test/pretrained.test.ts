/**
 * The embedded pretrained models (assets/models, made by `npm run pretrain`): they load strictly with the model
 * classes from their HF-layout folders, their tokenizers load with @huggingface/tokenizers and agree with the BPE
 * they were trained with, and on a held-out slice they are measured against simple baselines computed here:
 * gpt2-tiny's perplexity is far below a unigram model's; bert-tiny's masked-LM loss is below a unigram model's (it
 * uses context), its accuracy beats always answering the most frequent token, and its last-layer [CLS] vector depends
 * on the input (the encoder has not collapsed to one output vector; see assets/models/README.md).
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { batchTensors } from '../src/train/trainer.js';
import { corpusDocuments, loadBpe, loadCorpus, loadHeldoutCorpus, packageRoot } from '../src/data/load.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { loadSafetensors, loadTokenizer } from '../src/io/node.js';
import type { TextTokenizer } from '../src/io/tokenizer.js';
import { Bert } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import {
  BERT_IDS, BLOCK, GPT2_EOS, VOCAB_SIZE, bertSequences, encodeDocs, epochBatcher, evalBert, evalGpt2, gpt2Blocks,
  addNspHead, evalNsp, logUnigram, majorityToken, maskedLmLoss, mlmEvalBatches, nspBatcher, tokenCounts, unigramPerplexity,
} from '../tools/pretrain.js';

const MODELS = join(packageRoot(), 'assets', 'models');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** Every k-th item so the slice spans all corpus sources (Moby-Dick, State of the Union, mail). */
const spread = <T>(items: readonly T[], n: number): T[] => {
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]!);
};

describe('pretraining data and helpers', () => {
  it('the log-prior decoder bias is the add-one unigram distribution of the maskable tokens', () => {
    const counts = new Float64Array(12);
    counts.set([50, 0, 40, 40, 0, 7, 0, 3, 1, 0, 9, 0]); // ids 0-4 are special: their counts are ignored
    const bias = logUnigram(counts);
    const total = 7 + 3 + 1 + 9 + 12;
    expect(Array.from(bias, Math.exp).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(Math.exp(bias[5]!)).toBeCloseTo(8 / total, 7);
    expect(Math.exp(bias[0]!)).toBeCloseTo(1 / total, 7);
    expect(bias[10]).toBeGreaterThan(bias[5]!);
  });

  it('BERT sequences are [CLS] piece [SEP], at most 128 tokens, and give back each document', () => {
    const docs = [Array.from({ length: 300 }, (_, i) => 5 + (i % 100)), [7, 8, 9]];
    const seqs = bertSequences(docs);
    expect(seqs.map((s) => s.length)).toEqual([BLOCK, BLOCK, 300 - 2 * (BLOCK - 2) + 2, 5]);
    for (const s of seqs) expect([s[0], s[s.length - 1]]).toEqual([BERT_IDS.cls, BERT_IDS.sep]);
    expect(seqs.slice(0, 3).flatMap((s) => s.slice(1, -1))).toEqual(docs[0]);
  });

  it('the data order is a seeded shuffle, every item once per epoch', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const a = epochBatcher(items, 4, 3);
    const b = epochBatcher(items, 4, 3);
    const epochs = Array.from({ length: 5 }, (_, s) => a(s)).flat();
    expect(Array.from({ length: 5 }, (_, s) => b(s)).flat()).toEqual(epochs);
    expect([...epochs.slice(0, 10)].sort((x, y) => x - y)).toEqual(items);
    expect([...epochs.slice(10, 20)].sort((x, y) => x - y)).toEqual(items);
    expect(epochs.slice(0, 10)).not.toEqual(epochs.slice(10, 20));
    expect(epochBatcher(items, 4, 4)(0)).not.toEqual(a(0));
  });
});

describe('embedded pretrained models', () => {
  const report = readJson(join(MODELS, 'pretrain-report.json')) as {
    models: Record<string, { safetensorsSha256: string; seed: number; heldout: Record<string, number> }>;
  };
  /** Training-token counts (GPT-2 ids: the BERT vocabulary is the same tokens, shifted past its 5 special ids). */
  let trainCounts: Float64Array;
  beforeAll(() => {
    const bpe = loadBpe('gpt2');
    trainCounts = tokenCounts(gpt2Blocks(encodeDocs(loadCorpus(), (t) => bpe.encode(t))));
  });

  for (const name of ['gpt2-tiny', 'bert-tiny']) {
    it(`${name}: HF folder, a few MB, weights are the ones pretrain-report.json describes`, () => {
      const dir = join(MODELS, name);
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) expect(statSync(join(dir, f)).isFile(), f).toBe(true);
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      expect(bytes.length).toBeLessThan(5e6);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(report.models[name]!.safetensorsSha256);
      const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype?: string }>;
      expect((header.__metadata__ as Record<string, string>).format).toBe('pt');
      for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') expect(v.dtype, k).toBe('F32');
    });
  }

  describe('gpt2-tiny', () => {
    const dir = join(MODELS, 'gpt2-tiny');
    let model: Gpt2;
    let tokenizer: TextTokenizer;
    beforeAll(async () => {
      const json = readJson(join(dir, 'config.json'));
      expect(json).toMatchObject({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: VOCAB_SIZE, bos_token_id: GPT2_EOS, eos_token_id: GPT2_EOS });
      const config = parseGpt2Config(json, 'gpt2-tiny/config.json');
      model = Gpt2.load(config, (await loadSafetensors(join(dir, 'model.safetensors'))).tensors, { strict: true });
      tokenizer = await loadTokenizer(dir);
    });

    it('loads strictly, every tensor from the file', () => {
      expect(model.loadReport!.initialized).toEqual([]);
      expect(model.loadReport!.loaded.size).toBe(model.params.size);
      expect(tokenizer.vocabSize).toBe(VOCAB_SIZE);
      expect(tokenizer.specialTokenId('eos')).toBe(GPT2_EOS);
    });

    it('held-out perplexity is far below the unigram baseline and the untrained model', async () => {
      const bpe = loadBpe('gpt2');
      const heldoutDocs = corpusDocuments(loadHeldoutCorpus());
      const docs = heldoutDocs.map((d) => tokenizer.encode(d));
      // the shipped tokenizer (via @huggingface/tokenizers) gives the ids the model was trained on
      heldoutDocs.slice(0, 5).forEach((d, i) => expect(docs[i]).toEqual(bpe.encode(d)));
      expect(tokenizer.decode(docs[0]!)).toBe(heldoutDocs[0]);
      const slice = spread(gpt2Blocks(docs), 8);
      const unigram = unigramPerplexity(trainCounts, slice);
      const trained = await evalGpt2(model, slice, 8);
      const untrained = await evalGpt2(Gpt2.init(model.config, { seed: 0 }), slice, 8);
      console.log(`gpt2-tiny on ${trained.tokens} held-out tokens: perplexity ${trained.perplexity.toFixed(1)}, unigram ${unigram.toFixed(1)}, untrained ${untrained.perplexity.toFixed(1)}`);
      // measured on this slice: 372.7 vs unigram 901.3 (0.41×) and untrained 5684
      expect(untrained.perplexity).toBeGreaterThan(0.8 * VOCAB_SIZE);
      expect(trained.perplexity).toBeLessThan(0.5 * unigram);
    });
  });

  describe('bert-tiny', () => {
    const dir = join(MODELS, 'bert-tiny');
    let model: Bert;
    let tokenizer: TextTokenizer;
    let file: Awaited<ReturnType<typeof loadSafetensors>>['tensors'];
    beforeAll(async () => {
      const json = readJson(join(dir, 'config.json'));
      expect(json).toMatchObject({ model_type: 'bert', architectures: ['BertForPreTraining'], vocab_size: VOCAB_SIZE, pad_token_id: BERT_IDS.pad });
      const config = parseBertConfig(json, 'bert-tiny/config.json');
      file = (await loadSafetensors(join(dir, 'model.safetensors'))).tensors;
      model = Bert.load(config, file, { head: 'masked-lm', strict: true });
      tokenizer = await loadTokenizer(dir);
    });

    it('loads strictly, every tensor from the file', () => {
      expect(model.loadReport!.initialized).toEqual([]);
      expect(model.loadReport!.loaded.size).toBe(model.params.size);
      expect(tokenizer.vocabSize).toBe(VOCAB_SIZE);
      for (const role of ['pad', 'unk', 'cls', 'sep', 'mask'] as const) expect(tokenizer.specialTokenId(role)).toBe(BERT_IDS[role]);
      expect(tokenizer.encode('Call me Ishmael.')).toEqual([BERT_IDS.cls, ...loadBpe('bert').encode('Call me Ishmael.'), BERT_IDS.sep]);
    });

    it('v2 ships a trained pooler and NSP head: a classifier model reads the pooler from the file; held-out next-sentence accuracy beats chance', async () => {
      const cls = Bert.load(model.config, file, { head: 'sequence-classification', seed: 0 });
      expect([...cls.loadReport!.initialized].sort()).toEqual(['classifier.bias', 'classifier.weight']);
      expect(cls.loadReport!.loaded.has('bert.pooler.dense.weight')).toBe(true);
      // the NSP head as pretraining used it, with the file's values
      const withHead = Bert.load(model.config, file, { head: 'masked-lm', strict: true });
      addNspHead(withHead, 0);
      for (const name of ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'cls.seq_relationship.weight', 'cls.seq_relationship.bias']) {
        withHead.params.assign(name, file.get(name)!.data as Float32Array);
      }
      const bpe = loadBpe('bert');
      const pairs = nspBatcher(encodeDocs(loadHeldoutCorpus(), (t) => bpe.encode(t)), 64, 16, 0x5eed);
      const nsp = await evalNsp(withHead, Array.from({ length: 8 }, (_, i) => pairs(i)));
      // 128 pairs, half IsNext: chance 0.5 ± 0.044; measured 0.74 on 384 pairs (pretrain-report.json)
      expect(nsp.pairs).toBe(128);
      expect(nsp.accuracy).toBeGreaterThan(0.6);
    });

    it('the training loss at the masked positions only equals BertForMaskedLM\'s loss', () => {
      const bpe = loadBpe('bert');
      const [batch] = mlmEvalBatches(bertSequences(encodeDocs(loadHeldoutCorpus().slice(0, 4000), (t) => bpe.encode(t))).slice(0, 2), 5);
      const [full, part] = noGrad(() => tidy(() => [
        model.forward({ ...batchTensors(batch!, model.backend, 'f32') }).loss!.dataSync()[0]!,
        maskedLmLoss(model, batch!, { train: false, seed: 0 }).dataSync()[0]!,
      ]));
      expect(part).toBeCloseTo(full!, 4);
    });

    it('held-out masked-LM loss is below a unigram model\'s, accuracy above the majority answer, [CLS] features depend on the input', async () => {
      const docs = corpusDocuments(loadHeldoutCorpus()).map((d) => tokenizer.encode(d, { addSpecialTokens: false }));
      const batches = mlmEvalBatches(spread(bertSequences(docs), 32), 0);
      // training-token frequencies in BERT ids (the same token strings), add-one smoothed
      const gpt2 = await loadTokenizer(join(MODELS, 'gpt2-tiny'));
      const counts = new Float64Array(VOCAB_SIZE);
      trainCounts.forEach((c, id) => {
        const bertId = id === GPT2_EOS ? undefined : tokenizer.tokenToId(gpt2.idToToken(id)!);
        if (bertId !== undefined) counts[bertId] = c;
      });
      const total = counts.reduce((a, b) => a + b, 0) + VOCAB_SIZE;
      let unigramNll = 0;
      let n = 0;
      for (const b of batches) for (const l of b.labels) if (l !== -100) { unigramNll -= Math.log((counts[l]! + 1) / total); n++; }
      unigramNll /= n;
      const majority = majorityToken(counts);
      expect(majority).toBe(report.models['bert-tiny']!.heldout.majorityToken);
      const trained = await evalBert(model, batches, majority);
      const pc = (x: number) => `${(100 * x).toFixed(1)} %`;
      console.log(`bert-tiny on ${trained.masked} masked held-out positions: NLL ${trained.meanNll.toFixed(3)}, unigram ${unigramNll.toFixed(3)}, ` +
        `uniform (≈ untrained, ${report.models['bert-tiny']!.heldout.untrainedMeanNll.toFixed(3)} in pretrain-report.json) ${Math.log(VOCAB_SIZE).toFixed(3)}; ` +
        `accuracy ${pc(trained.accuracy)}, majority ('${tokenizer.idToToken(majority)}') ${pc(trained.majorityAccuracy)}; [CLS] spread ${trained.clsSpread.toExponential(2)}`);
      expect(trained.masked).toBeGreaterThan(400);
      expect(trained.maskTokenPositions).toBeGreaterThan(300);
      // The claim is "beats a unigram model", with a margin for the slice's sampling noise (597 positions); measured
      // on this slice: 6.367 vs unigram 6.961 (the pre-log-prior bert-tiny: 6.996, i.e. no better than unigram)
      expect(trained.meanNll).toBeLessThan(unigramNll - 0.2);
      expect(trained.accuracy).toBeGreaterThan(trained.majorityAccuracy);
      // measured 0.123; a collapsed encoder (every input → the same vector, as the pre-log-prior runs ended) 5e-5;
      // the untrained one 3e-3
      expect(trained.clsSpread).toBeGreaterThan(0.03);
    });
  });
});
