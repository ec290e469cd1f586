/**
 * dropout: out[i] = keep ? x[i] / (1 − p) : 0 with keep = uniform_at(seed, i) ≥ p — the counter-based hash of
 * kernels/rng, so the mask is bit-identical to the CPU backend's and backward can redraw it.
 */
import { WGSL_RNG } from '../rng.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { f32bits, groups1d, header, main1d, ro, rw } from './shader.js';

export function dropout(rt: GpuRuntime, x: GpuStorage, n: number, p: number, seed: number): GpuStorage {
  const out = rt.alloc(n * 4);
  rt.dispatch({
    key: 'dropout',
    source: () => header([ro('x'), rw('out')]) + WGSL_RNG + main1d('p(0u)', `
  let keep = uniform_at(p(1u), i) >= pf(2u);
  out[i] = select(0.0, x[i] * pf(3u), keep);`),
    bindings: [x, out],
    // uniform_at is k/2^24, so u ≥ p ⟺ u ≥ ceil(p·2^24)/2^24, a threshold exact in f32 (p itself may not be)
    meta: [n, seed >>> 0, f32bits(Math.ceil(p * 2 ** 24) / 2 ** 24), f32bits(1 / (1 - p))],
    groups: groups1d(n, rt.maxGroups1d),
  });
  return out;
}
