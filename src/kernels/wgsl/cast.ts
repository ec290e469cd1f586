/** cast between f32 and i32 (f32 → i32 truncates toward zero, as Int32Array assignment does in range). */
import type { DType } from '../../autograd/dtype.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { groups1d, header, main1d, ro, rw } from './shader.js';

const WGSL_TYPE: Partial<Record<DType, string>> = { f32: 'f32', i32: 'i32' };

export function cast(rt: GpuRuntime, x: GpuStorage, n: number, from: DType, to: DType): GpuStorage {
  const src = WGSL_TYPE[from]!;
  const dst = WGSL_TYPE[to]!;
  const out = rt.alloc(n * 4);
  rt.dispatch({
    key: `cast:${from}:${to}`,
    source: () => header([ro('x', src), rw('out', dst)]) + main1d('p(0u)', `out[i] = ${dst}(x[i]);`),
    bindings: [x, out],
    meta: [n],
    groups: groups1d(n, rt.maxGroups1d),
  });
  return out;
}
