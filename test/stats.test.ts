import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clearlyAbove, meanSe, proportionSe, topRows } from '../src/train/stats.js';

describe('mean ± standard error over seeds', () => {
  it('matches the textbook formula on a worked example', () => {
    const r = meanSe([0.8, 0.9, 1.0]);
    expect(r.mean).toBeCloseTo(0.9, 15);
    expect(r.se).toBeCloseTo(0.1 / Math.sqrt(3), 15); // sample sd 0.1
    expect(Number.isNaN(meanSe([0.7]).se)).toBe(true);
    expect(Number.isNaN(meanSe([]).mean)).toBe(true);
  });

  it('is shift-invariant and scales with the data (property)', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 12 }), fc.double({ min: -5, max: 5, noNaN: true }),
      (xs, c) => {
        const a = meanSe(xs);
        const b = meanSe(xs.map((x) => x + c));
        const s = meanSe(xs.map((x) => 3 * x));
        expect(b.mean).toBeCloseTo(a.mean + c, 9);
        expect(b.se).toBeCloseTo(a.se, 9);
        expect(s.se).toBeCloseTo(3 * a.se, 9);
      }));
  });

  it('gives a proportion its binomial error', () => {
    expect(proportionSe(0.85, 520)).toBeCloseTo(Math.sqrt(0.85 * 0.15 / 520), 15);
  });
});

describe('best vs tie', () => {
  it('calls a win only past z standard errors of the difference', () => {
    expect(clearlyAbove({ mean: 0.9, se: 0.01 }, { mean: 0.86, se: 0.01 })).toBe(true); // 0.04 > 2·0.0141
    expect(clearlyAbove({ mean: 0.9, se: 0.01 }, { mean: 0.88, se: 0.01 })).toBe(false); // 0.02 < 0.028
    expect(clearlyAbove({ mean: 0.9, se: NaN }, { mean: 0.1, se: 0.01 })).toBe(false); // no error: never clear
  });

  it('lists the top and every row within the error, clear only when alone', () => {
    const rows = [{ mean: 0.5, se: 0.01 }, { mean: 0.9, se: 0.01 }, { mean: 0.89, se: 0.01 }, { mean: 0.7, se: 0.01 }];
    expect(topRows(rows)).toEqual({ rows: [1, 2], clear: false });
    expect(topRows(rows.filter((_, i) => i !== 2))).toEqual({ rows: [1], clear: true });
    expect(topRows([])).toEqual({ rows: [], clear: false });
  });

  it('never drops the top row and never keeps a row clearly below it (property)', () => {
    const row = fc.record({ mean: fc.double({ min: 0, max: 1, noNaN: true }), se: fc.double({ min: 0, max: 0.1, noNaN: true }) });
    fc.assert(fc.property(fc.array(row, { minLength: 1, maxLength: 8 }), (rows) => {
      const t = topRows(rows);
      const top = Math.max(...rows.map((r) => r.mean));
      expect(t.rows.some((i) => rows[i]!.mean === top)).toBe(true);
      const leader = rows[t.rows.find((i) => rows[i]!.mean === top)!]!;
      for (const [i, r] of rows.entries()) expect(t.rows.includes(i)).toBe(r === leader || !clearlyAbove(leader, r));
    }));
  });
});
