import { type Shape, broadcastShapes, fmt } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { FloatDType } from '../dtype.js';
import { matmul, unbroadcast } from '../functions.js';
import { shapeArb } from './cases.js';

export interface MatmulAttrs { transA?: boolean; transB?: boolean }

/** The matrix dims of each operand as used (after the optional transpose) and the batch dims. */
function dims(a: Shape, b: Shape, { transA = false, transB = false }: MatmulAttrs) {
  if (a.length < 2 || b.length < 2) throw new Error(`matmul needs rank ≥ 2 operands, got ${fmt(a)} and ${fmt(b)}`);
  const [ra, ca] = a.slice(-2);
  const [rb, cb] = b.slice(-2);
  const [M, K] = transA ? [ca, ra] : [ra, ca];
  const [K2, N] = transB ? [cb, rb] : [rb, cb];
  if (K !== K2) throw new Error(`inner dims differ: ${fmt(a)}${transA ? 'ᵀ' : ''} @ ${fmt(b)}${transB ? 'ᵀ' : ''}`);
  const batchA = a.slice(0, -2);
  const batchB = b.slice(0, -2);
  return { M, K, N, batchA, batchB, batchOut: broadcastShapes(batchA, batchB) };
}

/**
 * out (…, M, N) = op(a) @ op(b), op = optional transpose read in place (no copy); batch dims broadcast.
 * Backward (no transposes materialised): dA = g @ op(B)ᵀ, dB = op(A)ᵀ @ g, each only if needed —
 * a frozen weight gets no dW matmul at all.
 */
export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  arity: 2,
  shape: ([a, b], attrs) => {
    const { M, N, batchOut } = dims(a, b, attrs);
    return [...batchOut, M, N];
  },
  forward: ([a, b], attrs, shape) => {
    const d = dims(a.shape, b.shape, attrs);
    const p = { ...d, transA: attrs.transA ?? false, transB: attrs.transB ?? false };
    return wrap(a.backend, a.backend.matmul(a.storage, b.storage, p, a.dtype as FloatDType), shape, a.dtype);
  },
  backward: ({ inputs: [a, b], attrs: { transA = false, transB = false }, needs }, g) => [
    needs[0]
      ? unbroadcast(transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB }), a.shape)
      : null,
    needs[1]
      ? unbroadcast(transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA }), b.shape)
      : null,
  ],
  check: {
    cases: (f) =>
      f.tuple(shapeArb(f, 0, 2, 3), f.integer({ min: 1, max: 4 }), f.integer({ min: 1, max: 4 }), f.integer({ min: 1, max: 4 }),
        f.boolean(), f.boolean(), f.integer({ min: 0, max: 2 }))
        .map(([batch, M, K, N, transA, transB, bcast]) => {
          // bcast: 0 both batched, 1 a unbatched (broadcast), 2 b batched only with size-1 dims
          const batchA = bcast === 1 ? [] : batch;
          const batchB = bcast === 2 ? batch.map(() => 1) : batch;
          const a = [...batchA, ...(transA ? [K, M] : [M, K])];
          const b = [...batchB, ...(transB ? [N, K] : [K, N])];
          return {
            inputs: [{ kind: 'float' as const, shape: a, min: -2, max: 2 }, { kind: 'float' as const, shape: b, min: -2, max: 2 }],
            attrs: { transA, transB },
          };
        }),
  },
};
