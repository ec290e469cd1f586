import { type OpDef, wrap } from '../op.js';
import type { FloatDType } from '../dtype.js';
import { expand, mul, mulScalar, reshape } from '../functions.js';
import { shapeArb } from './cases.js';

/** Σ x² over every element → a scalar, in one pass (no squared copy). Backward: 2·g·x. */
export const sumSquaresOp: OpDef<Record<string, never>> = {
  name: 'sum_squares',
  arity: 1,
  shape: () => [],
  forward: ([x]) => wrap(x.backend, x.backend.sumSquares(x.storage, x.size, x.dtype as FloatDType), [], x.dtype),
  backward: ({ inputs: [x] }, g) => [mulScalar(mul(expand(reshape(g, x.shape.map(() => 1)), x.shape), x), 2)],
  check: {
    cases: (f) => shapeArb(f, 0, 3).map((shape) => ({ inputs: [{ kind: 'float' as const, shape, min: -3, max: 3 }], attrs: {} })),
  },
};
