import { type Shape, fmt } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { FloatDType } from '../dtype.js';
import { matmul, sum } from '../functions.js';
import { shapeArb } from './cases.js';

export interface LinearAttrs {
  /** W stored (N, K) as nn.Linear keeps it; otherwise (K, N) as GPT-2's Conv1D. */
  transW?: boolean;
}

function dims(x: Shape, w: Shape, b: Shape, transW: boolean): { K: number; N: number } {
  if (x.length < 1 || w.length !== 2) throw new Error(`linear needs x (…, K) and a 2-D weight, got ${fmt(x)} and ${fmt(w)}`);
  const K = x[x.length - 1];
  const [wK, N] = transW ? [w[1], w[0]] : w;
  if (wK !== K) throw new Error(`weight ${fmt(w)}${transW ? ' (out, in)' : ' (in, out)'} does not take inputs of ${K} features`);
  if (b.length !== 1 || b[0] !== N) throw new Error(`bias ${fmt(b)} must be [${N}]`);
  return { K, N };
}

/**
 * out (…, N) = x (…, K) @ op(W) + bias, one kernel (the bias is added as the matmul stores its output).
 * Backward on x flattened to rows (R = ∏ leading dims), each part only if needed — a frozen weight gets no dW:
 *   dx (R, K) = g @ op(W)ᵀ;  dW = xᵀ g (K, N) or gᵀ x (N, K), one matmul over all rows (no per-batch dW
 *   to reduce afterwards);  dbias (N) = Σ_rows g, one reduction.
 */
export const linearOp: OpDef<LinearAttrs> = {
  name: 'linear',
  arity: 3,
  shape: ([x, w, b], { transW = false }) => [...x.slice(0, -1), dims(x, w, b, transW).N],
  forward: ([x, w, b], { transW = false }, shape) => {
    const { K, N } = dims(x.shape, w.shape, b.shape, transW);
    const rows = x.size / K;
    return wrap(x.backend, x.backend.linear(x.storage, w.storage, b.storage, { rows, K, N, transW }, x.dtype as FloatDType), shape, x.dtype);
  },
  backward: ({ inputs: [x, w, b], attrs: { transW = false }, needs }, g) => {
    const { K, N } = dims(x.shape, w.shape, b.shape, transW);
    const rows = x.size / K;
    // (R, N) and (R, K): views of the contiguous storages
    const g2 = g.view([rows, N]);
    const x2 = x.view([rows, K]);
    return [
      needs[0] ? matmul(g2, w, { transB: !transW }).view(x.shape) : null,
      needs[1] ? (transW ? matmul(g2, x2, { transA: true }) : matmul(x2, g2, { transA: true })) : null,
      needs[2] ? sum(g2, { axes: 0 }) : null,
    ];
  },
  check: {
    cases: (f) => f.tuple(shapeArb(f, 0, 2, 3), f.integer({ min: 1, max: 4 }), f.integer({ min: 1, max: 4 }), f.boolean())
      .map(([lead, K, N, transW]) => ({
        inputs: [
          { kind: 'float' as const, shape: [...lead, K], min: -2, max: 2 },
          { kind: 'float' as const, shape: transW ? [N, K] : [K, N], min: -2, max: 2 },
          { kind: 'float' as const, shape: [N], min: -2, max: 2 },
        ],
        attrs: { transW },
      })),
  },
};
