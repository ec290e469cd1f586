/**
 * The ensemble and data-size ablations of `webpeft compare`, piece by piece: the data-size subsets are nested prefixes
 * of one seeded order of the training split, of exactly the sizes asked; the ensemble's averaged probabilities are the
 * mean of its K prompts' probabilities computed one prompt at a time with the same weights; the report draws both as
 * plots whose points and whiskers are the results' numbers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../src/autograd/op.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { collateClassification, spamLabelId, spamText, type Batch } from '../src/data/datasets.js';
import { loadSpam } from '../src/data/load.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/peft/registry.js';
import { renderReport } from '../src/report/report.js';
import type { AblationResult, CompareResult } from '../src/report/results.js';
import { parseDataSizes } from '../src/cli/compare.js';
import { resolveDataSizes } from '../src/train/compare.js';
import { classProbabilities } from '../src/train/compare-run.js';
import { meanProbabilities } from '../src/train/compare-ensemble.js';
import { softmaxRows, trainEnsemble } from '../src/train/ensemble.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask, trainingSubset } from '../src/train/tasks.js';
import { batchTensors } from '../src/train/trainer.js';

describe('data-size subsets', () => {
  const train = loadSpam('train');

  it('are nested prefixes of one seeded order of the training split, of exactly the sizes asked', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.uniqueArray(fc.integer({ min: 1, max: train.length + 50 }), { minLength: 2, maxLength: 5 }), (seed, raw) => {
      const sizes = [...raw].sort((a, b) => a - b);
      const subsets = sizes.map((n) => trainingSubset(train, n, seed));
      subsets.forEach((s, i) => {
        expect(s.length).toBe(Math.min(sizes[i]!, train.length));
        expect(new Set(s.map((m) => m.id)).size).toBe(s.length); // no mail twice
      });
      for (let i = 1; i < subsets.length; i++) expect(subsets[i]!.slice(0, subsets[i - 1]!.length)).toEqual(subsets[i - 1]);
      // every one of them is training mail
      const ids = new Set(train.map((m) => m.id));
      expect(subsets.at(-1)!.every((m) => ids.has(m.id))).toBe(true);
    }), { numRuns: 40 });
  });

  it('differ between seeds; the whole size is the whole split, reordered', () => {
    expect(trainingSubset(train, 64, 1).map((m) => m.id)).not.toEqual(trainingSubset(train, 64, 2).map((m) => m.id));
    const all = trainingSubset(train, train.length, 5).map((m) => m.id);
    expect(all).not.toEqual(train.map((m) => m.id));
    expect([...all].sort()).toEqual(train.map((m) => m.id).sort());
  });

  it('the spam task trains on the subset: an epoch of its batches is exactly those mails; its size; none below the batch', async () => {
    const { tokenizer, model } = await loadBert('bert-tiny', { backend: cpu, seed: 1, head: 'sequence-classification', numLabels: 2 });
    model.dispose();
    const options = { encode: (t: string) => tokenizer.encode(t, { addSpecialTokens: false }), maxLength: 16, padId: tokenizer.specialTokenId('pad') ?? 0,
      prefix: [tokenizer.specialTokenId('cls')!], suffix: [tokenizer.specialTokenId('sep')!] };
    const rowsOf = (b: Batch) => Array.from({ length: b.shape[0] }, (_, r) => `${b.labels[r]}:${Array.from(b.ids.subarray(r * b.shape[1], (r + 1) * b.shape[1])).join(',')}`);
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16, seed: 9, trainSize: 12 });
    const epoch = [0, 1, 2].flatMap((step) => rowsOf(task.batch(step)));
    const mails = trainingSubset(train, 12, 9);
    const expected = rowsOf(collateClassification(mails.map(spamText), mails.map(spamLabelId), options));
    expect([...epoch].sort()).toEqual([...expected].sort());
    // and not the first 12 mails of another seed's order
    const other = trainingSubset(train, 12, 10);
    expect([...rowsOf(collateClassification(other.map(spamText), other.map(spamLabelId), options))].sort()).not.toEqual([...epoch].sort());
    expect(makeTask('spam', tokenizer, { batchSize: 8, maxLength: 16, seed: 3, trainSize: 64 }).trainSize).toBe(64);
    expect(makeTask('spam', tokenizer, { batchSize: 8, maxLength: 16, seed: 3 }).trainSize).toBe(train.length);
    expect(() => makeTask('spam', tokenizer, { batchSize: 8, maxLength: 16, seed: 3, trainSize: 4 })).toThrow('training subset of 4 is below the batch size 8');
  });

  it('sizes are checked against the batch and the split, in one line each', () => {
    expect(resolveDataSizes([64, 128, 'all'], 1500, 16)).toEqual([64, 128, 1500]);
    expect(() => resolveDataSizes([8, 64], 1500, 16)).toThrow('--data-sizes: 8 is not an integer ≥ the batch size 16');
    expect(() => resolveDataSizes([64, 2000], 1500, 16)).toThrow("--data-sizes: 2000 is more than the 1500 training examples (use 'all' for all of them)");
    expect(() => resolveDataSizes([128, 64], 1500, 16)).toThrow('--data-sizes: expected increasing sizes, got 128,64');
    expect(() => resolveDataSizes([1500, 'all'], 1500, 16)).toThrow('expected increasing sizes');
    expect(parseDataSizes('64, 128,all')).toEqual([64, 128, 'all']);
    expect(() => parseDataSizes('64,1.5')).toThrow("--data-sizes: expected positive integers or 'all', got '1.5' in '64,1.5'");
    expect(() => parseDataSizes('0')).toThrow("got '0'");
  });
});

describe('prompt ensembling on bert-tiny spam', () => {
  it("the ensemble's averaged probabilities are the mean of its K prompts' run one at a time with the same weights (f32)", async () => {
    const { model, tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 4, head: 'sequence-classification', numLabels: 2 });
    const base = baseOf(model);
    const K = 3;
    const adapters = [];
    for (let j = 0; j < K; j++) adapters.push([await buildMethod('prompt', base, { seed: 30 + j })]);
    const peft = new PeftModel(model, adapters);
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16, evalLimit: 24, seed: 4 });
    // a few steps, so the prompts (and the shared head) are trained values, not only their initialisations
    const trained = await trainEnsemble({ peft, batch: (step) => task.batch(step), config: { steps: 3, lr: 0.3, seed: 4 }, train: true });
    trained.optimizer.dispose();
    const scoring = task.probabilities!;
    const together = await scoring.of((b) => classProbabilities(peft, b), 'validation');
    expect(together.length).toBe(2 * 24);
    // each prompt in its own PeftModel, a plain forward (no adapter ids), softmax here
    const logitsOf = (p: PeftModel, b: Batch) => noGrad(() => tidy(() => {
      const t = batchTensors(b, cpu, 'f32');
      return (p.forward({ ids: t.ids, attentionMask: t.attentionMask }) as { logits: Tensor }).logits;
    }));
    const alone = await Promise.all(peft.adapters.map((a) => scoring.of(async (b) => {
      const logits = logitsOf(new PeftModel(model, [a]), b);
      const values = await logits.data();
      logits.dispose();
      return softmaxRows(values, 2);
    }, 'validation')));
    const mean = meanProbabilities(alone);
    // The rows of one prompt see the same f32 arithmetic alone or in the K·B batch (the CPU kernels compute each
    // row by itself; measured 0 here), so the bound is only the f64 averaging's rounding; a row or prompt out of
    // place moves a probability by ≫ 1e-4 (the check below that the prompts disagree).
    const worst = Math.max(...Array.from(together, (p, i) => Math.abs(p - mean[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-12);
    const spread = Math.max(...Array.from(alone[0]!, (p, i) => Math.abs(p - alone[1]![i]!)));
    expect(spread).toBeGreaterThan(1e-4);
    expect(scoring.score(together, 'validation').metric).toBe(scoring.score(mean, 'validation').metric);
    for (const m of peft.adapters.flat()) m.params.dispose();
    model.dispose();
  }, 300_000); // ≈ 5 s alone; far longer on a loaded machine

  it('averaging refuses probabilities of different lengths', () => {
    expect(meanProbabilities([Float64Array.from([0.2, 0.8]), Float64Array.from([0.6, 0.4])])).toEqual(Float64Array.from([0.4, 0.6000000000000001]));
    expect(() => meanProbabilities([new Float64Array(2), new Float64Array(4)])).toThrow('lengths 2 and 4');
  });
});

describe('the report draws both ablations', () => {
  const base: CompareResult = {
    task: 'spam', taskDescription: 'spam vs ham', metric: 'accuracy', model: 'bert-tiny', backend: 'cpu', device: 'cpu', steps: 10, seed: 1, baseParams: 474_688,
    methods: [], ablations: [], totalSeconds: 1, date: '2026-12-03T00:00:00Z',
  };
  const dataSize: AblationResult = {
    kind: 'data-size', title: 'Training-set size: BitFit vs full fine-tuning', trainSize: 1500, rows: [
      { label: 'bitfit n=64', method: 'bitfit', x: 64, validation: 0.61, validationSe: 0.02 },
      { label: 'bitfit n=1500', method: 'bitfit', x: 1500, validation: 0.71, validationSe: 0.01 },
      { label: 'full n=64', method: 'full', x: 64, validation: 0.55, validationSe: 0.04 },
      { label: 'full n=1500', method: 'full', x: 1500, validation: 0.9, validationSe: 0.005 },
    ],
  };
  const ensemble: AblationResult = {
    kind: 'ensemble', title: 'Prompt ensembling', k: 3, rows: [
      { label: 'ensemble of 3 prompts, one batch', method: 'prompt', x: 0, validation: 0.68, validationSe: 0.01, test: 0.67, testSe: 0.02, trainable: 2050, trainSeconds: 12.5, peakMB: 90.25 },
      { label: '3 separate prompt runs, averaged', method: 'prompt', x: 2, validation: 0.66, validationSe: 0.03, test: 0.65, testSe: 0.01, trainable: 2310, trainSeconds: 30, peakMB: 70 },
    ],
  };

  it('data-size: one line per method on a log x axis, a marker and a whisker at every (size, metric ± SE)', () => {
    const html = renderReport({ ...base, ablations: [dataSize] });
    expect(html).toContain('Ablation: training-set size');
    for (const row of dataSize.rows) {
      expect(html).toContain(`<title>${row.method}: x=${row.x}, ${row.validation}</title></circle>`);
      expect(html).toContain(`<title>${row.method}: x=${row.x}, ${row.validation} ± ${row.validationSe}</title>`);
    }
    // log axis: the ticks at 64 and 1500 are log10(1500/64) ≈ 1.37 decades apart, not 1436 units (check the spacing)
    const ticks = [...html.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(64|1500)<\/text>/g)].map((m) => Number(m[1]));
    expect(ticks.length).toBe(2);
    const markers = (x: number) => [...html.matchAll(new RegExp(`<circle cx="([\\d.]+)" cy="[\\d.]+" r="4"[^>]*><title>bitfit: x=${x},`, 'g'))].map((m) => Number(m[1]));
    expect(markers(64)[0]).toBeCloseTo(ticks[0]!, 0);
    expect(markers(1500)[0]).toBeCloseTo(ticks[1]!, 0);
  });

  it('ensemble: a bar with its whisker per variant, and the cost columns', () => {
    const html = renderReport({ ...base, ablations: [ensemble] });
    expect(html).toContain('Ablation: prompt ensembling');
    for (const row of ensemble.rows) expect(html).toContain(`${row.label}: ${row.validation.toFixed(3)}`);
    expect(html).toContain('0.680 ± 0.010');
    expect(html).toContain('<th scope="col" class="n">train time (s)</th>');
    expect(html).toContain('<td>12.5</td><td>90.3</td>');
    expect((html.match(/class="error-bar"/g) ?? []).length).toBe(2);
  });
});
