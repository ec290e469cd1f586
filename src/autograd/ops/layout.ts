import { type Shape, broadcastShapes, fmt, normalizeAxis, numel, sameShape } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { FloatDType } from '../dtype.js';
import { permute, slice, unbroadcast } from '../functions.js';
import { shapeArb } from './cases.js';

const floatInput = (shape: Shape) => ({ kind: 'float' as const, shape, min: -3, max: 3 });

/** A new shape over the same storage (no copy). One dim may be -1. */
export const reshapeOp: OpDef<{ shape: number[] }> = {
  name: 'reshape',
  arity: 1,
  shape: ([x], { shape }) => {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const free = shape.filter((d) => d === -1).length;
    if (free > 1) throw new Error('at most one -1 in a reshape');
    const out = shape.map((d) => (d === -1 ? numel(x) / known : d));
    if (numel(out) !== numel(x) || out.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`cannot reshape ${fmt(x)} to ${fmt(shape)}`);
    }
    return out;
  },
  forward: ([x], _a, shape) => x.view(shape),
  backward: ({ inputs: [x] }, g) => [g.view(x.shape)],
  check: {
    cases: (f) => shapeArb(f).chain((shape) =>
      f.shuffledSubarray(factorize(numel(shape)), { minLength: 0 }).map((dims) => {
        const rest = numel(shape) / dims.reduce((a, b) => a * b, 1);
        return { inputs: [floatInput(shape)], attrs: { shape: [...dims, rest] } };
      })),
  },
};

function factorize(n: number): number[] {
  const out: number[] = [];
  for (let p = 2; n > 1 && p <= n; p++) while (n % p === 0) { out.push(p); n /= p; }
  return out;
}

/** Axes reordered: out.shape[i] = x.shape[perm[i]] (a copy into contiguous storage). */
export const permuteOp: OpDef<{ perm: number[] }> = {
  name: 'permute',
  arity: 1,
  shape: ([x], { perm }) => {
    if (perm.length !== x.length || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new Error(`permutation ${fmt(perm)} does not fit rank ${x.length}`);
    }
    return perm.map((p) => x[p]);
  },
  forward: ([x], { perm }, shape) => wrap(x.backend, x.backend.permute(x.storage, x.shape, perm, x.dtype), shape, x.dtype),
  backward: ({ attrs: { perm } }, g) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => { inverse[p] = i; });
    return [permute(g, inverse)];
  },
  check: {
    cases: (f) => shapeArb(f, 1, 4).chain((shape) =>
      f.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length })
        .map((perm) => ({ inputs: [floatInput(shape)], attrs: { perm } }))),
  },
};

/** A box of x: begin[i] ≤ index < begin[i] + size[i] on every axis. */
export const sliceOp: OpDef<{ begin: number[]; size: number[] }> = {
  name: 'slice',
  arity: 1,
  shape: ([x], { begin, size }) => {
    if (begin.length !== x.length || size.length !== x.length) throw new Error(`slice needs begin/size of rank ${x.length}`);
    x.forEach((d, i) => {
      if (begin[i] < 0 || size[i] < 0 || begin[i] + size[i] > d) {
        throw new Error(`slice [${begin[i]}, ${begin[i] + size[i]}) out of range for axis ${i} of size ${d}`);
      }
    });
    return size;
  },
  forward: ([x], { begin, size }, shape) =>
    wrap(x.backend, x.backend.slice(x.storage, x.shape, begin, size, x.dtype), shape, x.dtype),
  backward: ({ inputs: [x], attrs: { begin } }, g) => {
    // the gradient of a slice is zero outside the box
    const out = wrap(x.backend, x.backend.zeros(x.size, x.dtype), x.shape, x.dtype);
    x.backend.writeRegion(out.storage, x.shape, g.storage, g.shape, begin, g.dtype);
    return [out];
  },
  check: {
    cases: (f) => shapeArb(f, 1, 3).chain((shape) =>
      f.tuple(...shape.map((d) => f.tuple(f.integer({ min: 0, max: d - 1 }), f.integer({ min: 1, max: d }))))
        .map((ranges) => ({
          inputs: [floatInput(shape)],
          attrs: {
            begin: ranges.map(([b]) => b),
            size: ranges.map(([b, s], i) => Math.min(s, shape[i] - b)),
          },
        }))),
  },
};

/** Inputs joined along `axis` (all other dims equal). */
export const concatOp: OpDef<{ axis: number }> = {
  name: 'concat',
  arity: -1,
  shape: (shapes, { axis }) => {
    if (shapes.length === 0) throw new Error('concat of nothing');
    const rank = shapes[0].length;
    const ax = normalizeAxis(axis, rank);
    const out = [...shapes[0]];
    out[ax] = 0;
    for (const s of shapes) {
      if (s.length !== rank || s.some((d, i) => i !== ax && d !== shapes[0][i])) {
        throw new Error(`concat on axis ${axis}: shapes ${shapes.map(fmt).join(', ')} differ off that axis`);
      }
      out[ax] += s[ax];
    }
    return out;
  },
  forward: (xs, { axis }, shape) => {
    const ax = normalizeAxis(axis, shape.length);
    const { backend, dtype } = xs[0];
    const out = wrap(backend, backend.zeros(numel(shape), dtype), shape, dtype);
    let offset = 0;
    for (const x of xs) {
      const begin = shape.map((_, i) => (i === ax ? offset : 0));
      backend.writeRegion(out.storage, shape, x.storage, x.shape, begin, dtype);
      offset += x.shape[ax];
    }
    return out;
  },
  backward: ({ inputs, attrs: { axis }, needs }, g) => {
    const ax = normalizeAxis(axis, g.rank);
    let offset = 0;
    return inputs.map((x, k) => {
      const begin = g.shape.map((_, i) => (i === ax ? offset : 0));
      offset += x.shape[ax];
      return needs[k] ? slice(g, begin, [...x.shape]) : null;
    });
  },
  check: {
    cases: (f) => shapeArb(f, 1, 3).chain((shape) =>
      f.tuple(f.integer({ min: 0, max: shape.length - 1 }), f.array(f.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }))
        .map(([axis, widths]) => ({
          inputs: widths.map((w) => floatInput(shape.map((d, i) => (i === axis ? w : d)))),
          attrs: { axis },
        }))),
  },
};

/** Broadcast to a larger shape (NumPy rules); the gradient sums over the broadcast axes. */
export const expandOp: OpDef<{ shape: number[] }> = {
  name: 'expand',
  arity: 1,
  shape: ([x], { shape }) => {
    const out = broadcastShapes(x, shape);
    if (!sameShape(out, shape)) throw new Error(`cannot expand ${fmt(x)} to ${fmt(shape)}`);
    return out;
  },
  forward: ([x], _a, shape) => {
    if (sameShape(x.shape, shape)) return x.view(shape);
    const zero = x.backend.zeros(1, x.dtype);
    const out = x.backend.binary('add', x.storage, x.shape, zero, [], shape, x.dtype as FloatDType);
    x.backend.release(zero);
    return wrap(x.backend, out, shape, x.dtype);
  },
  backward: ({ inputs: [x] }, g) => [unbroadcast(g, x.shape)],
  check: {
    cases: (f) => shapeArb(f, 0, 3).chain((small) =>
      f.tuple(f.array(f.integer({ min: 1, max: 3 }), { maxLength: 2 }), f.array(f.integer({ min: 1, max: 3 }), { minLength: small.length, maxLength: small.length }))
        .map(([lead, grow]) => ({
          inputs: [floatInput(small)],
          attrs: { shape: [...lead, ...small.map((d, i) => (d === 1 ? grow[i] : d))] },
        }))),
  },
};

export const layoutOps = [reshapeOp, permuteOp, sliceOp, concatOp, expandOp];
