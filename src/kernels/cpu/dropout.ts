import type { FloatDType } from '../../autograd/dtype.js';
import { uniformAt } from '../rng.js';
import { type FloatArray, floatArray } from './storage.js';

/**
 * Inverted dropout: out[i] = x[i]·keep/(1 − p), keep = uniformAt(seed, i) ≥ p. The mask is a pure function of
 * (seed, i), the same on every backend, so the backward redraws it by calling this kernel on g with the same seed.
 */
export function dropout(x: FloatArray, n: number, p: number, seed: number, dtype: FloatDType): FloatArray {
  const out = floatArray(dtype, n);
  if (p >= 1) return out; // nothing kept (and no 0·∞)
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) out[i] = uniformAt(seed, i) >= p ? x[i] * scale : 0;
  return out;
}
