/**
 * Anomaly detection (torch.autograd.detect_anomaly): while on, every op's forward output and every gradient
 * an op's backward returns is read back and checked, so the first NaN or ±Inf is reported with the op that
 * made it. Slow by design (a readback per op) and for the CPU backend, which reads without a device round trip.
 */
import type { Tensor } from './tensor.js';

export class AnomalyError extends Error {
  override name = 'AnomalyError';
  /** `forward of log`, `backward of matmul (gradient of input 1)`. */
  constructor(readonly where: string, message: string) { super(message); }
}

let enabled = false;
/** The backward being run, so the ops it is made of are reported inside it ('backward of sqrt: forward of div'). */
let inside: string | null = null;

/** Runs `fn` (an op's backward) with `label` in front of anything anomaly detection reports from it. */
export function within<T>(label: string, fn: () => T): T {
  if (!enabled) return fn();
  const prev = inside;
  inside = label;
  try { return fn(); } finally { inside = prev; }
}

export const anomalyDetection = (): boolean => enabled;

/** Runs `fn` with anomaly detection on (also across its awaits), restoring the previous mode after. */
export async function withAnomalyDetection<T>(fn: () => Promise<T>): Promise<T> {
  const prev = enabled;
  enabled = true;
  try { return await fn(); } finally { enabled = prev; }
}

/** Throws an AnomalyError naming `where` if the float tensor `t` holds a NaN or ±Inf. */
export function checkFinite(where: () => string, t: Tensor): void {
  if (t.dtype !== 'f32' && t.dtype !== 'f64') return;
  if (t.backend.name !== 'cpu') throw new AnomalyError(where(), 'anomaly detection reads every op\'s output: run it on the CPU backend');
  const values = t.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const w = inside ? `${inside}: ${where()}` : where();
      throw new AnomalyError(w, `${w} produced ${values[i]} at element ${i} of ${t.describe()} — the first non-finite value`);
    }
  }
}
