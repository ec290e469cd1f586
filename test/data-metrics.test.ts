import { describe, expect, it } from 'vitest';
import { accuracy, lcsLength, macroF1, meanRougeL, perplexity, perplexityFromSum, rougeL, rougeTokenize, tokenF1 } from '../src/data/metrics.js';
import { IGNORE_INDEX } from '../src/data/datasets.js';

describe('classification metrics', () => {
  it('accuracy skips ignored positions', () => {
    expect(accuracy([1, 0, 1, 1], [1, 1, 1, 0])).toBe(0.5);
    expect(accuracy([1, 0, 7], [1, 0, IGNORE_INDEX])).toBe(1);
  });
  it('macro-F1 by hand', () => {
    // gold: 0 0 1 1 2 2; pred: 0 1 1 1 2 0
    // class 0: tp1 fp1 fn1 → P .5 R .5 F .5; class 1: tp2 fp1 fn0 → P 2/3 R 1 F .8; class 2: tp1 fp0 fn1 → P1 R.5 F 2/3
    const f = macroF1([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2]);
    expect(f).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    // a class never predicted nor present counts as F1 = 0 only when numClasses says it exists
    expect(macroF1([0, 1], [0, 1])).toBe(1);
    expect(macroF1([0, 1], [0, 1], 3)).toBeCloseTo(2 / 3, 12);
  });
  it('token F1 is micro over non-O labels', () => {
    // O=0. gold: 0 1 2 0 3 ; pred: 0 1 3 2 0
    // pos1: tp. pos2: gold2 pred3 → fp+fn. pos3: gold O pred 2 → fp. pos4: gold 3 pred O → fn.
    // tp1 fp2 fn2 → P 1/3 R 1/3 F 1/3
    const r = tokenF1([0, 1, 3, 2, 0], [0, 1, 2, 0, 3]);
    expect(r.precision).toBeCloseTo(1 / 3, 12);
    expect(r.recall).toBeCloseTo(1 / 3, 12);
    expect(r.f1).toBeCloseTo(1 / 3, 12);
    expect(tokenF1([0, 0], [0, 0]).f1).toBe(0);
    expect(tokenF1([1, 5], [1, IGNORE_INDEX]).f1).toBe(1);
  });
});

describe('ROUGE-L', () => {
  it('tokenises as rouge-score', () => {
    expect(rougeTokenize("The quick-brown fox's café, 2nd!")).toEqual(['the', 'quick', 'brown', 'fox', 's', 'caf', '2nd']);
  });
  it('matches the rouge-score README example', () => {
    // scorer.score('The quick brown fox jumps over the lazy dog', 'The quick brown dog jumps on the log.')
    // → rougeL precision 0.625, recall 0.5555…, fmeasure 0.5882…
    const s = rougeL('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog');
    expect(s.precision).toBeCloseTo(0.625, 12);
    expect(s.recall).toBeCloseTo(5 / 9, 12);
    expect(s.fmeasure).toBeCloseTo(0.5882352941176471, 12);
  });
  it('hand examples', () => {
    expect(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'b', 'd'])).toBe(3);
    expect(rougeL('new linux kernel released', 'linux kernel 2.4 released').fmeasure).toBeCloseTo(2 * (3 / 4) * (3 / 5) / (3 / 4 + 3 / 5), 12);
    expect(rougeL('', 'x').fmeasure).toBe(0);
    expect(rougeL('same words', 'Same, words!').fmeasure).toBe(1);
    expect(rougeL('Same, words!', 'same words', { tokenize: 'whitespace' }).fmeasure).toBe(0);
    expect(meanRougeL(['a b', 'c'], ['a b', 'd'])).toBe(0.5);
  });
});

describe('perplexity', () => {
  it('is exp of the mean loss', () => {
    expect(perplexity(0)).toBe(1);
    expect(perplexity(Math.log(4096))).toBeCloseTo(4096, 8);
    expect(perplexityFromSum(2 * Math.log(10), 2)).toBeCloseTo(10, 10);
  });
});
