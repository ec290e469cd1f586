import type { LstmScanParams } from '../backend.js';
import type { FloatDType } from '../dtype.js';
import { concat, matmul, narrow, reshape, sum } from '../functions.js';
import { type OpDef, wrap } from '../op.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';

function params(gx: Tensor): LstmScanParams {
  const [N, B, T, G] = gx.shape;
  return { N, B, T, H: G / 4 };
}

/**
 * An LSTM's recurrence over all its steps in one kernel, as torch's fused nn.LSTM runs it (LstmScanParams):
 * gx (N, B, T, 4H) the input products x W_ihᵀ + b_ih of every step, W_hh (N, 4H, H), b_hh (N, 4H) → h (N, B, T, H),
 * from zero states; N recurrences with their own weights (a bidirectional layer's two directions), B sequences
 * each. The values of lstmCell stepped T times (test/fused-ops.test.ts), one launch instead of ~15 ops a step.
 * Saves c and the gate activations. Backward: one backward scan gives dz = ∂L/∂gates (N, B, T, 4H), which is ∂L/∂gx;
 * dW_hh = dzᵀ·h_{t−1} over all (b, t) is one batched matmul and db_hh a sum, as ops.
 */
export const lstmScanOp: OpDef<Record<string, never>> = {
  name: 'lstm_scan',
  arity: 3,
  shape: ([gx, whh, bhh]) => {
    if (gx.length !== 4 || gx[3] % 4 !== 0 || gx.some((d) => d < 1)) throw new Error(`gates must be (N, B, T, 4H) with N, B, T, H ≥ 1, got ${fmt(gx)}`);
    const [N, B, T, G] = gx;
    const H = G / 4;
    if (whh.length !== 3 || whh[0] !== N || whh[1] !== G || whh[2] !== H) throw new Error(`W_hh ${fmt(whh)} must be [${N}, ${G}, ${H}]`);
    if (bhh.length !== 2 || bhh[0] !== N || bhh[1] !== G) throw new Error(`b_hh ${fmt(bhh)} must be [${N}, ${G}]`);
    return [N, B, T, H];
  },
  forward: ([gx, whh, bhh], _attrs, shape, recording) => {
    const b = gx.backend;
    const dtype = gx.dtype as FloatDType;
    const r = b.lstmScan(gx.storage, whh.storage, bhh.storage, params(gx), dtype);
    const out = wrap(b, r.h, shape, dtype);
    const c = wrap(b, r.c, shape, dtype);
    const acts = wrap(b, r.acts, gx.shape, dtype);
    if (recording) return { out, saved: [c, acts] };
    c.dispose();
    acts.dispose();
    return out;
  },
  backward: ({ inputs: [gx, whh], output, saved: [c, acts], needs }, g) => {
    const b = gx.backend;
    const p = params(gx);
    const dz = wrap(b, b.lstmScanBackward(g.storage, c!.storage, acts!.storage, whh.storage, p, gx.dtype as FloatDType), gx.shape, gx.dtype);
    let dWhh: Tensor | null = null;
    if (needs[1]) {
      // h_{t−1} beside each step's dz: zeros at t = 0, then h_0 … h_{T−2}
      const zero = wrap(b, b.zeros(p.N * p.B * p.H, output.dtype), [p.N, p.B, 1, p.H], output.dtype);
      const prev = p.T === 1 ? zero : concat([zero, narrow(output, 2, 0, p.T - 1)], 2);
      dWhh = matmul(reshape(dz, [p.N, p.B * p.T, 4 * p.H]), reshape(prev, [p.N, p.B * p.T, p.H]), { transA: true });
    }
    return [needs[0] ? dz : null, dWhh, needs[2] ? sum(dz, { axes: [1, 2] }) : null];
  },
  check: {
    cases: (f) => f.tuple(f.integer({ min: 1, max: 2 }), f.integer({ min: 1, max: 2 }), f.integer({ min: 1, max: 4 }), f.integer({ min: 1, max: 3 }))
      .map(([N, B, T, H]) => ({
        inputs: [[N, B, T, 4 * H], [N, 4 * H, H], [N, 4 * H]].map((shape) => ({ kind: 'float' as const, shape, min: -1.5, max: 1.5 })),
        attrs: {},
      })),
  },
};
