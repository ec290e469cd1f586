/**
 * Numeric command-line flags, each checked for type and range with a one-line error naming the flag
 * (`--steps must be an integer ≥ 1, got '2.5'`). Every command reads its numbers through these.
 */
export class FlagError extends Error {
  override name = 'FlagError';
}

/** An integer flag ≥ min (default when absent). */
export function intFlag(s: string | undefined, flag: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new FlagError(`${flag} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}, got '${s}'`);
  }
  return n;
}

/** An optional integer flag. */
export const optionalInt = (s: string | undefined, flag: string, min = 0, max?: number): number | undefined =>
  s === undefined ? undefined : intFlag(s, flag, 0, min, max);

export interface RealRange { min?: number; max?: number; /** exclusive lower bound */ above?: number }

/** A finite number flag within range (default when absent). */
export function realFlag(s: string | undefined, flag: string, dflt: number, r: RealRange = {}): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  const ok = s.trim() !== '' && Number.isFinite(n) && (r.min === undefined || n >= r.min) && (r.max === undefined || n <= r.max)
    && (r.above === undefined || n > r.above);
  if (!ok) {
    const lo = r.above !== undefined ? `> ${r.above}` : r.min !== undefined ? `≥ ${r.min}` : '';
    const range = [lo, r.max !== undefined ? `≤ ${r.max}` : ''].filter(Boolean).join(' and ');
    throw new FlagError(`${flag} must be a number${range ? ` ${range}` : ''}, got '${s}'`);
  }
  return n;
}

export const optionalReal = (s: string | undefined, flag: string, r: RealRange = {}): number | undefined =>
  s === undefined ? undefined : realFlag(s, flag, 0, r);
