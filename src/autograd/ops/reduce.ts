import type { FloatDType } from '../dtype.js';
import { type Shape, normalizeAxes } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import { binary, div, expand, mul, mulScalar, reshape, sum } from '../functions.js';
import { axesArb, shapeArb } from './cases.js';
import type { Tensor } from '../tensor.js';

export interface ReduceAttrs { axes?: number | number[]; keepdims?: boolean }

function reducedShape(shape: Shape, attrs: ReduceAttrs): { keep: number[]; out: number[]; axes: number[] } {
  const axes = normalizeAxes(attrs.axes, shape.length);
  const keep = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = attrs.keepdims ? keep : shape.filter((_, i) => !axes.includes(i));
  return { keep, out, axes };
}

function reduceForward(op: 'sum' | 'max', x: Tensor, attrs: ReduceAttrs, outShape: Shape): Tensor {
  const { axes } = reducedShape(x.shape, attrs);
  return wrap(x.backend, x.backend.reduce(op, x.storage, x.shape, axes, x.dtype as FloatDType), outShape, x.dtype);
}

const reduceCases = (f: Parameters<OpDefCheck>[0], distinct: boolean) =>
  shapeArb(f, 1, 3).chain((shape) =>
    f.tuple(axesArb(f, shape.length), f.boolean()).map(([axes, keepdims]) => ({
      inputs: [{ kind: 'float' as const, shape, min: -3, max: 3, distinct }],
      attrs: { axes, keepdims },
    })),
  );
type OpDefCheck = OpDef<ReduceAttrs>['check']['cases'];

/** Gradient of a reduction: g reshaped to keep the reduced axes as 1, then broadcast back. */
function spread(g: Tensor, x: Tensor, attrs: ReduceAttrs): Tensor {
  return expand(reshape(g, reducedShape(x.shape, attrs).keep), x.shape);
}

export const sumOp: OpDef<ReduceAttrs> = {
  name: 'sum',
  arity: 1,
  shape: ([x], a) => reducedShape(x, a).out,
  forward: ([x], a, shape) => reduceForward('sum', x, a, shape),
  backward: ({ inputs: [x], attrs }, g) => [spread(g, x, attrs)],
  check: { cases: (f) => reduceCases(f, false) },
};

export const meanOp: OpDef<ReduceAttrs> = {
  name: 'mean',
  arity: 1,
  shape: ([x], a) => reducedShape(x, a).out,
  forward: ([x], a, shape) => {
    const { axes } = reducedShape(x.shape, a);
    const count = axes.reduce((n, ax) => n * x.shape[ax], 1);
    const total = reduceForward('sum', x, a, shape);
    const out = wrap(x.backend, x.backend.unary('mul_scalar', total.storage, total.size, x.dtype as FloatDType, 1 / count), shape, x.dtype);
    total.dispose();
    return out;
  },
  backward: ({ inputs: [x], attrs }, g) => {
    const { axes } = reducedShape(x.shape, attrs);
    const count = axes.reduce((n, ax) => n * x.shape[ax], 1);
    return [mulScalar(spread(g, x, attrs), 1 / count)];
  },
  check: { cases: (f) => reduceCases(f, false) },
};

/** Max over axes; the gradient is shared equally among tied maxima (as torch.amax). */
export const maxOp: OpDef<ReduceAttrs> = {
  name: 'max',
  arity: 1,
  shape: ([x], a) => reducedShape(x, a).out,
  forward: ([x], a, shape) => reduceForward('max', x, a, shape),
  backward: ({ inputs: [x], output, attrs }, g) => {
    const keep = reducedShape(x.shape, attrs).keep;
    const isMax = binary('eq', x, reshape(output, keep));
    const ties = sum(isMax, { axes: attrs.axes, keepdims: true });
    return [mul(isMax, div(reshape(g, keep), ties))];
  },
  check: { cases: (f) => reduceCases(f, true) },
};

export const reduceOps = [sumOp, meanOp, maxOp];
