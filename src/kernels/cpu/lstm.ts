/**
 * lstm_scan's recurrence on the CPU (LstmScanParams): all T steps of N·B sequences in one call, instead of a dozen
 * small ops per step. Each step's arithmetic is in float64 and rounds once into the storage dtype; the next step reads
 * the stored h and c, so backward sees exactly the states forward used. A P-tuning encoder is ~10 steps of a 64-wide
 * state: the whole recurrence is a few hundred thousand multiply-adds, so one thread and plain loops.
 *
 * Layouts (row-major): gx, acts (N, B, T, 4H); h, c, g (N, B, T, H); whh (N, 4H, H); bhh (N, 4H).
 */
import type { LstmScanParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type FloatArray, floatArray } from './storage.js';

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function lstmScan(gx: FloatArray, whh: FloatArray, bhh: FloatArray, p: LstmScanParams, dtype: FloatDType):
  { h: FloatArray; c: FloatArray; acts: FloatArray } {
  const { N, B, T, H } = p;
  const G = 4 * H;
  const h = floatArray(dtype, N * B * T * H, false);
  const c = floatArray(dtype, N * B * T * H, false);
  const acts = floatArray(dtype, N * B * T * G, false);
  const z = new Float64Array(G);
  const hp = new Float64Array(H); // the previous step's h as stored
  for (let n = 0; n < N; n++) {
    const w = n * G * H;
    for (let b = 0; b < B; b++) {
      const seq = n * B + b;
      hp.fill(0);
      for (let t = 0; t < T; t++) {
        const at = (seq * T + t) * H; // this step's h and c
        const prev = at - H; // the previous step's (t > 0)
        const ga = (seq * T + t) * G;
        for (let j = 0; j < G; j++) {
          const row = w + j * H;
          let r = 0;
          for (let k = 0; k < H; k++) r += whh[row + k] * hp[k];
          z[j] = gx[ga + j] + (r + bhh[n * G + j]);
        }
        for (let k = 0; k < H; k++) {
          acts[ga + k] = sigmoid(z[k]);
          acts[ga + H + k] = sigmoid(z[H + k]);
          acts[ga + 2 * H + k] = Math.tanh(z[2 * H + k]);
          acts[ga + 3 * H + k] = sigmoid(z[3 * H + k]);
          const i = acts[ga + k], f = acts[ga + H + k], g = acts[ga + 2 * H + k], o = acts[ga + 3 * H + k];
          c[at + k] = (t > 0 ? f * c[prev + k] : 0) + i * g;
          h[at + k] = o * Math.tanh(c[at + k]);
          hp[k] = h[at + k];
        }
      }
    }
  }
  return { h, c, acts };
}

export function lstmScanBackward(g: FloatArray, c: FloatArray, acts: FloatArray, whh: FloatArray, p: LstmScanParams,
  dtype: FloatDType): FloatArray {
  const { N, B, T, H } = p;
  const G = 4 * H;
  const dz = floatArray(dtype, N * B * T * G, false);
  const dh = new Float64Array(H); // ∂L/∂h_t from step t + 1
  const dc = new Float64Array(H); // ∂L/∂c_t from step t + 1
  const d64 = new Float64Array(G); // this step's dz as stored
  for (let n = 0; n < N; n++) {
    const w = n * G * H;
    for (let b = 0; b < B; b++) {
      const seq = n * B + b;
      dh.fill(0);
      dc.fill(0);
      for (let t = T - 1; t >= 0; t--) {
        const at = (seq * T + t) * H;
        const ga = (seq * T + t) * G;
        for (let k = 0; k < H; k++) {
          const i = acts[ga + k], f = acts[ga + H + k], gg = acts[ga + 2 * H + k], o = acts[ga + 3 * H + k];
          const tc = Math.tanh(c[at + k]);
          const dhk = g[at + k] + dh[k];
          const dck = dhk * o * (1 - tc * tc) + dc[k];
          const cPrev = t > 0 ? c[at - H + k] : 0;
          dz[ga + k] = dck * gg * i * (1 - i);
          dz[ga + H + k] = dck * cPrev * f * (1 - f);
          dz[ga + 2 * H + k] = dck * i * (1 - gg * gg);
          dz[ga + 3 * H + k] = dhk * tc * o * (1 - o);
          dc[k] = dck * f;
        }
        for (let j = 0; j < G; j++) d64[j] = dz[ga + j];
        // ∂L/∂h_{t−1} = dzᵀ W_hh (as stored: the next step back reads the dtype's values, as forward did)
        dh.fill(0);
        for (let j = 0; j < G; j++) {
          const d = d64[j];
          const row = w + j * H;
          for (let k = 0; k < H; k++) dh[k] += d * whh[row + k];
        }
      }
    }
  }
  return dz;
}
