import type { OpDef } from '../op.js';
import { concat, lstmCell } from '../functions.js';

/**
 * P-tuning's prompt encoder is a bi-LSTM; its cell is a composition of matmul, slice, sigmoid, tanh, mul
 * and add, so it needs no backward of its own — this entry exists so the composition is gradient-checked.
 * Inputs: x (B, I), h (B, H), c (B, H), W_ih (4H, I), W_hh (4H, H), b_ih (4H), b_hh (4H); output [h', c'].
 */
export const lstmCellOp: OpDef<Record<string, never>> = {
  name: 'lstm_cell',
  arity: 7,
  composite: true,
  shape: ([x, h]) => [x[0], 2 * h[1]],
  forward: ([x, h, c, wIh, wHh, bIh, bHh]) => {
    const next = lstmCell(x, h, c, wIh, wHh, bIh, bHh);
    return concat([next.h, next.c], -1);
  },
  check: {
    cases: (f) => f.tuple(f.integer({ min: 1, max: 3 }), f.integer({ min: 1, max: 3 }), f.integer({ min: 1, max: 3 })).map(([B, I, H]) => ({
      inputs: [[B, I], [B, H], [B, H], [4 * H, I], [4 * H, H], [4 * H], [4 * H]].map((shape) => ({ kind: 'float' as const, shape, min: -1.5, max: 1.5 })),
      attrs: {},
    })),
  },
};
