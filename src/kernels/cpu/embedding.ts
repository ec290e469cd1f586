import { BackendError } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { type FloatArray, floatArray } from './storage.js';

function checkId(kernel: string, id: number, n: number, V: number): void {
  if (!(id >= 0 && id < V)) {
    throw new BackendError(`cpu ${kernel}: id ${id} at position ${n} is outside the vocabulary [0, ${V}) (V = ${V})`);
  }
}

/** out (N, D) = weight (V, D) rows at ids (N). */
export function embedding(weight: FloatArray, V: number, D: number, ids: Int32Array, N: number, dtype: FloatDType): FloatArray {
  const out = floatArray(dtype, N * D);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    checkId('embedding', id, n, V);
    out.set(weight.subarray(id * D, id * D + D), n * D);
  }
  return out;
}

/**
 * Scatter-add: out (V, D) = 0, then out[ids[n]] += g[n] for each n (repeated ids accumulate); positions whose id is
 * `skip` (a padding row) add nothing, so that row stays +0.
 */
export function embeddingBackward(g: FloatArray, ids: Int32Array, N: number, V: number, D: number, dtype: FloatDType, skip = -1): FloatArray {
  const out = floatArray(dtype, V * D);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    checkId('embeddingBackward', id, n, V);
    if (id === skip) continue;
    const o = id * D;
    const gi = n * D;
    for (let d = 0; d < D; d++) out[o + d] += g[gi + d];
  }
  return out;
}
