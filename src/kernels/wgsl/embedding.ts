/**
 * embedding: out (N, D) = weight (V, D) rows at ids (N); an id outside [0, V) gives a zero row.
 * embeddingBackward: dweight (V, D) with dweight[ids[n]] += g[n] — one thread per column d walks the N ids
 * in order, so no float atomics are needed and the sum order is fixed (deterministic); ids equal to `skip` (a
 * padding row) add nothing.
 */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { grid, groups1d, header, main1d, ro, rw } from './shader.js';

export function embedding(rt: GpuRuntime, weight: GpuStorage, V: number, D: number, ids: GpuStorage,
  N: number): GpuStorage {
  const out = rt.alloc(N * D * 4);
  rt.dispatch({
    key: 'embedding',
    source: () => header([ro('weight'), ro('ids', 'i32'), rw('out')]) + main1d('p(0u) * p(1u)', `
  let D = p(1u);
  let id = ids[i / D];
  out[i] = select(0.0, weight[u32(id) * D + i % D], id >= 0 && u32(id) < p(2u));`),
    bindings: [weight, ids, out],
    meta: [N, D, V],
    groups: groups1d(N * D, rt.maxGroups1d),
  });
  return out;
}

export function embeddingBackward(rt: GpuRuntime, g: GpuStorage, ids: GpuStorage, N: number, V: number,
  D: number, skip = -1): GpuStorage {
  const out = rt.zeros(V * D * 4);
  rt.dispatch({
    key: 'embeddingBackward',
    source: () => header([ro('g'), ro('ids', 'i32'), rw('out')]) + main1d('p(1u)', `
  let D = p(1u);
  for (var n = 0u; n < p(0u); n++) {
    let id = ids[n];
    if (id >= 0 && u32(id) < p(2u) && u32(id) != p(3u)) { out[u32(id) * D + i] += g[n * D + i]; }
  }`, 64),
    bindings: [g, ids, out],
    meta: [N, D, V, skip >= 0 && skip < V ? skip : V],
    groups: grid(Math.ceil(D / 64)),
  });
  return out;
}
