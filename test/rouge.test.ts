/** ROUGE-1/2/L F of src/train/rouge.ts against counts done by hand (rouge-score's tokenizer and definitions). */
import { describe, expect, it } from 'vitest';
import { meanRouge, rougeN, rougeScores } from '../src/train/rouge.js';

describe('ROUGE-N and ROUGE-L F-measures', () => {
  it('"the cat sat on the mat" vs "the cat is on the mat": R1 5/6, R2 3/5, RL 5/6', () => {
    // unigrams: the×2 cat sat on mat vs the×2 cat is on mat → overlap 2+1+1+1 = 5 of 6 each side
    // bigrams: the cat, cat sat, sat on, on the, the mat vs the cat, cat is, is on, on the, the mat → 3 of 5
    // LCS: the cat on the mat = 5
    const s = rougeScores('the cat sat on the mat', 'the cat is on the mat');
    expect(s.rouge1).toBeCloseTo(5 / 6, 12);
    expect(s.rouge2).toBeCloseTo(3 / 5, 12);
    expect(s.rougeL).toBeCloseTo(5 / 6, 12);
  });

  it('clips repeated n-grams at the reference count: "the the the" vs "the cat" → P 1/3, R 1/2, F 0.4', () => {
    const r = rougeN('the the the', 'the cat', 1);
    expect(r.precision).toBeCloseTo(1 / 3, 12);
    expect(r.recall).toBeCloseTo(1 / 2, 12);
    expect(r.fmeasure).toBeCloseTo(0.4, 12);
  });

  it('lower-cases and splits on punctuation: "Re: Linux-Kernel!" vs "linux kernel"', () => {
    // [re, linux, kernel] vs [linux, kernel]: R1 P 2/3 R 1 → F 0.8; R2 [re linux, linux kernel] vs [linux kernel] → P 1/2 R 1 → F 2/3
    const s = rougeScores('Re: Linux-Kernel!', 'linux kernel');
    expect(s.rouge1).toBeCloseTo(0.8, 12);
    expect(s.rouge2).toBeCloseTo(2 / 3, 12);
    expect(s.rougeL).toBeCloseTo(0.8, 12);
  });

  it('is 0 with no common n-gram or an empty side, and order matters for ROUGE-2 and ROUGE-L only', () => {
    expect(rougeScores('spam offer', 'meeting notes')).toEqual({ rouge1: 0, rouge2: 0, rougeL: 0 });
    expect(rougeScores('', 'meeting notes')).toEqual({ rouge1: 0, rouge2: 0, rougeL: 0 });
    expect(rougeN('one', 'one', 2).fmeasure).toBe(0); // no bigram on either side
    const reversed = rougeScores('c b a', 'a b c');
    expect(reversed.rouge1).toBe(1);
    expect(reversed.rouge2).toBe(0);
    expect(reversed.rougeL).toBeCloseTo(1 / 3, 12);
  });

  it('meanRouge averages per pair and refuses mismatched lists', () => {
    const m = meanRouge(['the cat sat on the mat', 'spam offer'], ['the cat is on the mat', 'meeting notes']);
    expect(m.rouge1).toBeCloseTo(5 / 12, 12);
    expect(m.rouge2).toBeCloseTo(3 / 10, 12);
    expect(m.rougeL).toBeCloseTo(5 / 12, 12);
    expect(() => meanRouge(['a'], [])).toThrow(/1 predictions for 0 references/);
  });
});
