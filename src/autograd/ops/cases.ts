import type * as fc from 'fast-check';
import type { Shape } from '../shape.js';

/** Shapes for gradient checks: small dims (central differences cost 2 forwards per element), size 1 included. */
export function shapeArb(f: typeof fc, minRank = 0, maxRank = 3, maxDim = 4): fc.Arbitrary<number[]> {
  return f.array(f.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * Two shapes that broadcast together: the second is the first with some dims set to 1 and some leading
 * dims dropped (or the roles swapped), so every broadcasting pattern — including rank mismatch — appears.
 */
export function broadcastPairArb(f: typeof fc, maxRank = 3): fc.Arbitrary<[Shape, Shape]> {
  return shapeArb(f, 0, maxRank).chain((full) =>
    f.tuple(
      f.array(f.boolean(), { minLength: full.length, maxLength: full.length }),
      f.integer({ min: 0, max: full.length }),
      f.boolean(),
    ).map(([ones, drop, swap]) => {
      const other = full.map((d, i) => (ones[i] ? 1 : d)).slice(drop);
      return (swap ? [other, full] : [full, other]) as [Shape, Shape];
    }),
  );
}

/** A non-empty set of axes of a rank-r shape (r ≥ 1). */
export function axesArb(f: typeof fc, rank: number): fc.Arbitrary<number[]> {
  return f.subarray(Array.from({ length: rank }, (_, i) => i), { minLength: 1 });
}
