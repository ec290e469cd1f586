import { type Shape, broadcastShapes, fmt } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { FloatDType } from '../dtype.js';
import { binary, exp, mul, scalarLike, sub, sum, unbroadcast, where } from '../functions.js';
import { shapeArb } from './cases.js';

const lastDim = (s: Shape) => s[s.length - 1];

/**
 * out (…ids, D) = weight (V, D)[ids]; backward is a scatter-add into a (V, D) gradient. With `paddingIdx`
 * (torch's nn.Embedding(padding_idx=…), which HF's BERT sets to pad_token_id) that row never gets a gradient.
 */
export const embeddingOp: OpDef<{ paddingIdx?: number }> = {
  name: 'embedding',
  arity: 2,
  nondiff: [1],
  shape: ([w, ids], _a, [, tid]) => {
    if (w.length !== 2) throw new Error(`embedding table must be (V, D), got ${fmt(w)}`);
    if (tid !== 'i32') throw new Error(`ids must be i32, got ${tid}`);
    return [...ids, w[1]];
  },
  forward: ([w, ids], _a, shape) =>
    wrap(w.backend, w.backend.embedding(w.storage, w.shape[0], w.shape[1], ids.storage, ids.size, w.dtype as FloatDType), shape, w.dtype),
  backward: ({ inputs: [w, ids], attrs }, g) => {
    const [V, D] = w.shape;
    // the padding row gets no contribution, so it is +0 and the other rows are the plain scatter-add's bits
    const pad = attrs.paddingIdx;
    const skip = pad === undefined || pad < 0 || pad >= V ? -1 : pad;
    return [wrap(w.backend, w.backend.embeddingBackward(g.storage, ids.storage, ids.size, V, D, w.dtype as FloatDType, skip), w.shape, w.dtype), null];
  },
  check: {
    cases: (f) => f.tuple(f.integer({ min: 1, max: 5 }), f.integer({ min: 1, max: 3 }), shapeArb(f, 1, 2, 4)).map(([V, D, idShape]) => ({
      inputs: [{ kind: 'float' as const, shape: [V, D], min: -2, max: 2 }, { kind: 'index' as const, shape: idShape, high: V }],
      attrs: {},
    })),
  },
};

const softmaxCases: OpDef['check']['cases'] = (f) =>
  shapeArb(f, 1, 3, 5).map((shape) => ({ inputs: [{ kind: 'float' as const, shape, min: -4, max: 4 }], attrs: {} }));

/** Softmax over the last axis (max-subtracted). Backward: y ⊙ (g − Σ g⊙y). */
export const softmaxOp: OpDef<Record<string, never>> = {
  name: 'softmax',
  arity: 1,
  shape: ([x]) => x,
  forward: ([x], _a, shape) =>
    wrap(x.backend, x.backend.softmax(x.storage, x.size / lastDim(shape), lastDim(shape), x.dtype as FloatDType, false), shape, x.dtype),
  backward: ({ output: y }, g) => [mul(y, sub(g, sum(mul(g, y), { axes: -1, keepdims: true })))],
  check: { cases: softmaxCases },
};

/** log-softmax over the last axis (log-sum-exp). Backward: g − exp(y) Σ g. */
export const logSoftmaxOp: OpDef<Record<string, never>> = {
  name: 'log_softmax',
  arity: 1,
  shape: ([x]) => x,
  forward: ([x], _a, shape) =>
    wrap(x.backend, x.backend.softmax(x.storage, x.size / lastDim(shape), lastDim(shape), x.dtype as FloatDType, true), shape, x.dtype),
  backward: ({ output: y }, g) => [sub(g, mul(exp(y), sum(g, { axes: -1, keepdims: true })))],
  check: { cases: softmaxCases },
};

/** LayerNorm over the last axis, one fused op with its own fused backward (saves mean and 1/σ). */
export const layernormOp: OpDef<{ eps: number }> = {
  name: 'layernorm',
  arity: 3,
  shape: ([x, gamma, beta]) => {
    const D = lastDim(x);
    if (gamma.length !== 1 || beta.length !== 1 || gamma[0] !== D || beta[0] !== D) {
      throw new Error(`weight ${fmt(gamma)} and bias ${fmt(beta)} must be [${D}]`);
    }
    return x;
  },
  forward: ([x, gamma, beta], { eps }, shape) => {
    const D = lastDim(shape);
    const rows = x.size / D;
    const r = x.backend.layernorm(x.storage, gamma.storage, beta.storage, rows, D, eps, x.dtype as FloatDType);
    return {
      out: wrap(x.backend, r.y, shape, x.dtype),
      saved: [wrap(x.backend, r.mean, [rows], x.dtype), wrap(x.backend, r.rstd, [rows], x.dtype)],
    };
  },
  backward: ({ inputs: [x, gamma], saved: [mean, rstd], needs }, g) => {
    const D = lastDim(x.shape);
    const r = x.backend.layernormBackward(x.storage, g.storage, gamma.storage, mean.storage, rstd.storage, x.size / D, D,
      x.dtype as FloatDType, { dx: needs[0], dgamma: needs[1], dbeta: needs[2] });
    return [
      r.dx ? wrap(x.backend, r.dx, x.shape, x.dtype) : null,
      r.dgamma ? wrap(x.backend, r.dgamma, [D], x.dtype) : null,
      r.dbeta ? wrap(x.backend, r.dbeta, [D], x.dtype) : null,
    ];
  },
  check: {
    cases: (f) => f.tuple(shapeArb(f, 0, 2, 3), f.integer({ min: 2, max: 6 }), f.constantFrom(1e-5, 1e-12, 0.1)).map(([lead, D, eps]) => ({
      inputs: [
        { kind: 'float' as const, shape: [...lead, D], min: -3, max: 3, distinct: true },
        { kind: 'float' as const, shape: [D], min: 0.5, max: 2 },
        { kind: 'float' as const, shape: [D], min: -1, max: 1 },
      ],
      attrs: { eps },
    })),
  },
};

export interface CrossEntropyAttrs { ignoreIndex?: number; reduction?: 'mean' | 'sum' }

/**
 * Cross-entropy of logits (…, C) against i32 targets (…): −log softmax(logits)[target], rows whose target is
 * `ignoreIndex` (default −100) excluded; 'mean' divides by the number of rows not ignored (as PyTorch).
 */
export const crossEntropyOp: OpDef<CrossEntropyAttrs> = {
  name: 'cross_entropy',
  arity: 2,
  nondiff: [1],
  shape: ([logits, targets], _a, [, tt]) => {
    if (tt !== 'i32') throw new Error(`targets must be i32, got ${tt}`);
    if (fmt(logits.slice(0, -1)) !== fmt(targets)) throw new Error(`targets ${fmt(targets)} must be logits ${fmt(logits)} without the class axis`);
    return [];
  },
  forward: ([logits, targets], { ignoreIndex = -100, reduction = 'mean' }) => {
    const b = logits.backend;
    const dtype = logits.dtype as FloatDType;
    const C = lastDim(logits.shape);
    const rows = logits.size / C;
    const r = b.crossEntropy(logits.storage, targets.storage, rows, C, ignoreIndex, dtype);
    const total = b.reduce('sum', r.loss, [rows], [0], dtype);
    b.release(r.loss);
    if (reduction === 'sum') {
      b.release(r.valid);
      return wrap(b, total, [], dtype);
    }
    const count = b.reduce('sum', r.valid, [rows], [0], dtype);
    b.release(r.valid);
    const out = b.binary('div', total, [], count, [], [], dtype);
    b.release(total);
    return { out: wrap(b, out, [], dtype), saved: [wrap(b, count, [], dtype)] };
  },
  backward: ({ inputs: [logits, targets], attrs: { ignoreIndex = -100, reduction = 'mean' }, saved }, g) => {
    const b = logits.backend;
    const dtype = logits.dtype as FloatDType;
    const C = lastDim(logits.shape);
    const rows = logits.size / C;
    const perRow = reduction === 'mean' ? binary('div', g, saved[0]) : g.detach();
    const zero = b.zeros(rows, dtype);
    const rowGrad = b.binary('add', perRow.storage, [], zero, [rows], [rows], dtype);
    b.release(zero);
    const d = b.crossEntropyBackward(logits.storage, targets.storage, rowGrad, rows, C, ignoreIndex, dtype);
    b.release(rowGrad);
    return [wrap(b, d, logits.shape, dtype), null];
  },
  check: {
    cases: (f) => f.tuple(shapeArb(f, 1, 2, 4), f.integer({ min: 1, max: 5 }), f.constantFrom<'mean' | 'sum'>('mean', 'sum')).map(([lead, C, reduction]) => ({
      inputs: [
        { kind: 'float' as const, shape: [...lead, C], min: -3, max: 3 },
        { kind: 'index' as const, shape: lead, high: C, ignore: -100 },
      ],
      attrs: { reduction },
    })),
  },
};

/** Inverted dropout with a counter-based mask: the same (seed, index) keeps the same element on every backend. */
export const dropoutOp: OpDef<{ p: number; seed: number }> = {
  name: 'dropout',
  arity: 1,
  shape: ([x], { p }) => {
    if (!(p >= 0 && p < 1)) throw new Error(`dropout probability ${p} must be in [0, 1)`);
    return x;
  },
  forward: ([x], { p, seed }, shape) =>
    wrap(x.backend, x.backend.dropout(x.storage, x.size, p, seed, x.dtype as FloatDType), shape, x.dtype),
  backward: ({ attrs: { p, seed } }, g) =>
    [wrap(g.backend, g.backend.dropout(g.storage, g.size, p, seed, g.dtype as FloatDType), g.shape, g.dtype)],
  check: {
    cases: (f) => f.tuple(shapeArb(f, 1, 3), f.constantFrom(0, 0.1, 0.5), f.integer({ min: 0, max: 2 ** 31 - 1 })).map(([shape, p, seed]) => ({
      inputs: [{ kind: 'float' as const, shape, min: -3, max: 3 }],
      attrs: { p, seed },
    })),
  },
};

/** out = cond ≠ 0 ? a : b (all broadcast); masked_fill is where(mask, value, x). The condition gets no gradient. */
export const whereOp: OpDef<Record<string, never>> = {
  name: 'where',
  arity: 3,
  nondiff: [0],
  shape: ([c, a, b]) => broadcastShapes(c, a, b),
  forward: ([c, a, b], _x, shape) =>
    wrap(a.backend, a.backend.where(c.storage, c.shape, a.storage, a.shape, b.storage, b.shape, shape, a.dtype as FloatDType), shape, a.dtype),
  backward: ({ inputs: [c, a, b], needs }, g) => {
    const zero = scalarLike(g, 0);
    return [
      null,
      needs[1] ? unbroadcast(where(c, g, zero), a.shape) : null,
      needs[2] ? unbroadcast(where(c, zero, g), b.shape) : null,
    ];
  },
  check: {
    cases: (f) => shapeArb(f, 0, 3).chain((shape) =>
      f.tuple(f.array(f.boolean(), { minLength: shape.length, maxLength: shape.length }), f.boolean()).map(([ones, bcastB]) => ({
        inputs: [
          { kind: 'mask' as const, shape: shape.map((d, i) => (ones[i] ? 1 : d)) },
          { kind: 'float' as const, shape, min: -3, max: 3 },
          { kind: 'float' as const, shape: bcastB ? [] : shape, min: -3, max: 3 },
        ],
        attrs: {},
      }))),
  },
};

export const nnOps = [embeddingOp, softmaxOp, logSoftmaxOp, layernormOp, crossEntropyOp, dropoutOp, whereOp];
