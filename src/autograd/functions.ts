/**
 * The user-facing functions: each is a thin call into the op table (src/autograd/ops), with numbers
 * accepted where a scalar makes sense. Models and PEFT methods are written with these.
 */
import type { BinaryOp } from './backend.js';
import type { FloatDType } from './dtype.js';
import { type Shape, normalizeAxis, reducedAxes, sameShape } from './shape.js';
import { apply, wrap } from './op.js';
import type { Tensor } from './tensor.js';
import { OPS } from './ops/index.js';
import type { ReduceAttrs } from './ops/reduce.js';
import type { MatmulAttrs } from './ops/matmul.js';
import type { LinearAttrs } from './ops/linear.js';
import type { AttentionProbsAttrs } from './ops/attention-probs.js';
import type { CrossEntropyAttrs } from './ops/nn.js';

type Operand = Tensor | number;

// ---- elementwise
export const neg = (x: Tensor) => apply(OPS.neg, [x], {});
export const exp = (x: Tensor) => apply(OPS.exp, [x], {});
export const log = (x: Tensor) => apply(OPS.log, [x], {});
export const sqrt = (x: Tensor) => apply(OPS.sqrt, [x], {});
export const rsqrt = (x: Tensor) => apply(OPS.rsqrt, [x], {});
export const tanh = (x: Tensor) => apply(OPS.tanh, [x], {});
export const sigmoid = (x: Tensor) => apply(OPS.sigmoid, [x], {});
export const relu = (x: Tensor) => apply(OPS.relu, [x], {});
export const abs = (x: Tensor) => apply(OPS.abs, [x], {});
export const square = (x: Tensor) => apply(OPS.square, [x], {});
export const erf = (x: Tensor) => apply(OPS.erf, [x], {});
/** GELU: 'tanh' is GPT-2's gelu_new, 'erf' the exact form BERT uses. */
export const gelu = (x: Tensor, form: 'tanh' | 'erf' = 'erf') => apply(form === 'tanh' ? OPS.gelu_tanh : OPS.gelu_erf, [x], {});
export const mulScalar = (x: Tensor, p: number) => apply(OPS.mul_scalar, [x], { p });
export const addScalar = (x: Tensor, p: number) => apply(OPS.add_scalar, [x], { p });
export const powScalar = (x: Tensor, p: number) => apply(OPS.pow_scalar, [x], { p });

export function add(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? addScalar(a, b) : apply(OPS.add, [a, b], {});
}
export function sub(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? addScalar(a, -b) : apply(OPS.sub, [a, b], {});
}
export function mul(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? mulScalar(a, b) : apply(OPS.mul, [a, b], {});
}
export function div(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? mulScalar(a, 1 / b) : apply(OPS.div, [a, b], {});
}
export function pow(a: Tensor, b: Operand): Tensor {
  return typeof b === 'number' ? powScalar(a, b) : apply(OPS.pow, [a, b], {});
}
export const maximum = (a: Tensor, b: Tensor) => apply(OPS.maximum, [a, b], {});
export const minimum = (a: Tensor, b: Tensor) => apply(OPS.minimum, [a, b], {});

/** Any binary kernel by name; comparisons and gradient helpers are not differentiable. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return apply(OPS[op], [a, b], {});
}

// ---- reductions
export const sum = (x: Tensor, a: ReduceAttrs = {}) => apply(OPS.sum, [x], a);
export const mean = (x: Tensor, a: ReduceAttrs = {}) => apply(OPS.mean, [x], a);
export const max = (x: Tensor, a: ReduceAttrs = {}) => apply(OPS.max, [x], a);

// ---- layout
export const reshape = (x: Tensor, shape: Shape) => apply(OPS.reshape, [x], { shape: [...shape] });
export const permute = (x: Tensor, perm: readonly number[]) => apply(OPS.permute, [x], { perm: [...perm] });
export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  const perm = x.shape.map((_, i) => i);
  const [a, b] = [normalizeAxis(d0, x.rank), normalizeAxis(d1, x.rank)];
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}
export const slice = (x: Tensor, begin: readonly number[], size: readonly number[]) =>
  apply(OPS.slice, [x], { begin: [...begin], size: [...size] });
/** `length` entries of `axis` from `start` (torch.narrow). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = normalizeAxis(axis, x.rank);
  return slice(x, x.shape.map((_, i) => (i === ax ? start : 0)), x.shape.map((d, i) => (i === ax ? length : d)));
}
export const concat = (xs: Tensor[], axis: number) => apply(OPS.concat, xs, { axis });
export const expand = (x: Tensor, shape: Shape) => apply(OPS.expand, [x], { shape: [...shape] });

/** Sums a broadcast gradient back to `shape` (a view when nothing was broadcast). */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g.detach();
  const axes = reducedAxes(shape, g.shape);
  const summed = axes.length ? sum(g, { axes, keepdims: true }) : g.detach();
  return summed.view(shape);
}

/** Σ x² over every element, one kernel. */
export const sumSquares = (x: Tensor) => apply(OPS.sum_squares, [x], {});

// ---- linear algebra
export const matmul = (a: Tensor, b: Tensor, attrs: MatmulAttrs = {}) => apply(OPS.matmul, [a, b], attrs);
/** x (…, K) @ op(weight) + bias in one kernel; weight (K, N), or (N, K) with transW. */
export const linear = (x: Tensor, weight: Tensor, bias: Tensor, attrs: LinearAttrs = {}) => apply(OPS.linear, [x, weight, bias], attrs);

// ---- neural-network ops
/** dropout(softmax(masked(scores · scale))) over the key axis in one kernel; scores (B, H, T, S), keyMask (B, S). */
export const attentionProbs = (scores: Tensor, keyMask: Tensor, attrs: AttentionProbsAttrs) => apply(OPS.attention_probs, [scores, keyMask], attrs);
/** weight[ids]; `paddingIdx`: that row gets no gradient (torch's nn.Embedding padding_idx). */
export const embedding = (weight: Tensor, ids: Tensor, paddingIdx?: number) =>
  apply(OPS.embedding, [weight, ids], paddingIdx === undefined ? {} : { paddingIdx });
export const softmax = (x: Tensor) => apply(OPS.softmax, [x], {});
export const logSoftmax = (x: Tensor) => apply(OPS.log_softmax, [x], {});
export const layernorm = (x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5) => apply(OPS.layernorm, [x, weight, bias], { eps });
export const crossEntropy = (logits: Tensor, targets: Tensor, attrs: CrossEntropyAttrs = {}) =>
  apply(OPS.cross_entropy, [logits, targets], attrs);
/** Inverted dropout; p = 0 (evaluation) returns a view. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  return p === 0 ? x.detach() : apply(OPS.dropout, [x], { p, seed });
}
export const where = (cond: Tensor, a: Tensor, b: Tensor) => apply(OPS.where, [cond, a, b], {});
/** x with `value` where mask ≠ 0 (mask broadcasts). */
export const maskedFill = (x: Tensor, mask: Tensor, value: number) => where(mask, scalarLike(x, value), x);

/** One LSTM step (PyTorch gate order i, f, g, o): gates = x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ. */
export function lstmCell(x: Tensor, h: Tensor, c: Tensor, wIh: Tensor, wHh: Tensor, bIh: Tensor, bHh: Tensor): { h: Tensor; c: Tensor } {
  const H = h.shape[h.rank - 1];
  const gates = add(add(matmul(x, wIh, { transB: true }), bIh), add(matmul(h, wHh, { transB: true }), bHh));
  const gate = (k: number) => narrow(gates, -1, k * H, H);
  const i = sigmoid(gate(0));
  const f = sigmoid(gate(1));
  const g = tanh(gate(2));
  const o = sigmoid(gate(3));
  const cNext = add(mul(f, c), mul(i, g));
  return { h: mul(o, tanh(cNext)), c: cNext };
}

/**
 * An LSTM's recurrence in one op (lstm_scan): gx (N, B, T, 4H) = x W_ihᵀ + b_ih for every step, W_hh (N, 4H, H),
 * b_hh (N, 4H) → h (N, B, T, H) from zero states; N recurrences with their own weights, B sequences each. The
 * values of lstmCell stepped T times.
 */
export const lstmScan = (gx: Tensor, wHh: Tensor, bHh: Tensor) => apply(OPS.lstm_scan, [gx, wHh, bHh], {});

// ---- constants shaped like another tensor (same backend and dtype, no gradient)
export function scalarLike(x: Tensor, value: number): Tensor {
  const z = x.backend.zeros(1, x.dtype);
  if (value === 0) return wrap(x.backend, z, [], x.dtype);
  const s = x.backend.unary('add_scalar', z, 1, x.dtype as FloatDType, value);
  x.backend.release(z);
  return wrap(x.backend, s, [], x.dtype);
}
export const zerosLike = (x: Tensor) => wrap(x.backend, x.backend.zeros(x.size, x.dtype), x.shape, x.dtype);
export function onesLike(x: Tensor): Tensor {
  const z = x.backend.zeros(x.size, x.dtype);
  const o = x.backend.unary('add_scalar', z, x.size, x.dtype as FloatDType, 1);
  x.backend.release(z);
  return wrap(x.backend, o, x.shape, x.dtype);
}
