/**
 * bart-tiny: the text-infilling noise of tools/pretrain-bart.ts, and the shipped model — it loads from assets in HF
 * layout, its file is the one its pretrain-report.json names, and it denoises held-out text better than its own
 * initialization (the same init, log-prior bias included, 0 steps).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBpe, packageRoot } from '../src/data/load.js';
import { Rng } from '../src/kernels/rng.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { loadBart } from '../src/train/model-dir.js';
import {
  BART_HYPER, BART_IDS, INFILL, bartTrainPieces, evalDenoising, heldoutDenoisingBatches, initBartTiny, poisson, textInfill,
} from '../tools/pretrain-bart.js';

describe('text infilling (BART)', () => {
  it('Poisson(3) draws have mean and variance ≈ 3', () => {
    const rng = new Rng(5);
    const xs = Array.from({ length: 20000 }, () => poisson(rng, 3));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length;
    expect(mean).toBeGreaterThan(2.92);
    expect(mean).toBeLessThan(3.08);
    expect(variance).toBeGreaterThan(2.8);
    expect(variance).toBeLessThan(3.2);
  });

  it('covers ≥ 30 % of the tokens, each masked run becomes one [MASK], the rest stays in order; seeded', () => {
    const tokens = Array.from({ length: 120 }, (_, i) => 100 + i);
    for (const seed of [1, 2, 3, 4]) {
      const out = textInfill(tokens, { ...INFILL, seed });
      expect(textInfill(tokens, { ...INFILL, seed })).toEqual(out);
      const kept = out.filter((t) => t !== BART_IDS.mask);
      // kept tokens are a subsequence of the input, in order
      let j = 0;
      for (const t of kept) { while (j < tokens.length && tokens[j] !== t) j++; expect(j).toBeLessThan(tokens.length); j++; }
      const removed = tokens.length - kept.length;
      expect(removed).toBeGreaterThanOrEqual(36);
      expect(removed).toBeLessThan(36 + 20); // the last span may overshoot by its length
      const masks = out.length - kept.length;
      // fewer masks than removed tokens (spans of mean 3), never two masks in a row… except a length-0 insert next to a span
      expect(masks).toBeGreaterThan(3);
      expect(masks).toBeLessThan(removed);
      // every gap in the kept sequence is marked by a mask
      let prev = -1;
      let sawMask = false;
      for (const t of out) {
        if (t === BART_IDS.mask) { sawMask = true; continue; }
        const at = t - 100;
        if (at !== prev + 1) expect(sawMask).toBe(true);
        prev = at;
        sawMask = false;
      }
    }
    expect(textInfill(tokens, { ...INFILL, seed: 1 })).not.toEqual(textInfill(tokens, { ...INFILL, seed: 2 }));
  });
});

describe('the shipped bart-tiny', () => {
  const dir = join(packageRoot(), 'assets', 'models', 'bart-tiny');

  it('loads from assets with its HF config and tokenizer; its file is the one pretrain-report.json names', async () => {
    const { model, tokenizer } = await loadBart('bart-tiny', { backend: cpu });
    const c = model.config;
    expect([c.dModel, c.encoderLayers, c.decoderLayers, c.encoderAttentionHeads, c.encoderFfnDim, c.vocabSize]).toEqual([64, 2, 2, 4, 256, 4096]);
    expect([c.bosTokenId, c.eosTokenId, c.padTokenId, c.decoderStartTokenId]).toEqual([2, 3, 0, 2]);
    expect(tokenizer.specialTokenId('mask')).toBe(BART_IDS.mask);
    const report = JSON.parse(readFileSync(join(dir, 'pretrain-report.json'), 'utf8')) as { safetensorsSha256: string; seed: number; steps: number };
    expect(createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex')).toBe(report.safetensorsSha256);
    expect(report.seed).toBe(0);
    model.dispose();
  });

  it('reconstructs held-out text better than its own initialization', async () => {
    const bpe = loadBpe('bert');
    const encode = (t: string) => bpe.encode(t);
    const batches = heldoutDenoisingBatches(encode, 0, 32);
    const { model } = await loadBart('bart-tiny', { backend: cpu });
    const trained = await evalDenoising(model, batches);
    const init = initBartTiny(BART_HYPER, 0, cpu, bartTrainPieces(encode));
    const untrained = await evalDenoising(init, batches);
    expect(trained.tokens).toBeGreaterThan(1000);
    expect(trained.meanNll).toBeLessThan(untrained.meanNll - 1);
    expect(trained.accuracy).toBeGreaterThan(untrained.accuracy + 0.05);
    model.dispose();
    init.dispose();
  }, 120_000);
});
