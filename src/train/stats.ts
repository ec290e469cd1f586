/**
 * The few statistics the main job reports: mean ± standard error over seeds, and which rows are best once the
 * errors are taken into account (a difference smaller than its error is a tie).
 */

/** Mean and standard error of the mean (sample sd / √n); se is NaN for one value. */
export function meanSe(xs: readonly number[]): { mean: number; se: number; n: number } {
  const n = xs.length;
  if (!n) return { mean: NaN, se: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, se: NaN, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), n };
}

/**
 * The seeds' extra scores folded into one row: `extra['validation k']` / `extra['test k']` the mean over the runs of
 * each split's score k (the keys of the first run), `extraSe` its standard error.
 */
export function foldExtras(runs: readonly { validation: { extra: Record<string, number> }; test: { extra: Record<string, number> } }[]):
  { extra: Record<string, number>; extraSe: Record<string, number> } {
  const extra: Record<string, number> = {};
  const extraSe: Record<string, number> = {};
  if (!runs.length) return { extra, extraSe };
  for (const split of ['validation', 'test'] as const) {
    for (const k of Object.keys(runs[0]![split].extra)) {
      const s = meanSe(runs.map((r) => r[split].extra[k]!));
      extra[`${split} ${k}`] = s.mean;
      extraSe[`${split} ${k}`] = s.se;
    }
  }
  return { extra, extraSe };
}

/** Standard error of an accuracy-like proportion p measured on n examples: √(p(1−p)/n). */
export const proportionSe = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

/**
 * Whether a beats b by more than `z` standard errors of the difference (√(se_a² + se_b²)); an unknown error (NaN,
 * one seed) never counts as a clear win.
 */
export function clearlyAbove(a: { mean: number; se: number }, b: { mean: number; se: number }, z = 2): boolean {
  const se = Math.hypot(a.se, b.se);
  return Number.isFinite(se) && a.mean - b.mean > z * se;
}

/**
 * The rows at the top: the highest mean and every row not clearly below it. `clear` is true when that is one row
 * that beats every other by more than z standard errors — only then is it "best"; otherwise the rows tie.
 */
export function topRows(rows: readonly { mean: number; se: number }[], z = 2): { rows: number[]; clear: boolean } {
  const finite = rows.map((r, i) => [r, i] as const).filter(([r]) => Number.isFinite(r.mean));
  if (!finite.length) return { rows: [], clear: false };
  const [top] = finite.reduce((a, b) => (b[0].mean > a[0].mean ? b : a));
  const tied = finite.filter(([r]) => r === top || !clearlyAbove(top, r, z)).map(([, i]) => i);
  return { rows: tied, clear: tied.length === 1 };
}
