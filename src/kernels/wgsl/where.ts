/** where: out = cond ≠ 0 ? a : b, all three broadcast to the output shape. */
import type { Shape } from '../../autograd/shape.js';
import { broadcastPlan } from './layout.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { groups1d, header, main1d, ro, rw, stridedOffsets } from './shader.js';

export function where(rt: GpuRuntime, cond: GpuStorage, cShape: Shape, a: GpuStorage, aShape: Shape, b: GpuStorage,
  bShape: Shape, outShape: Shape): GpuStorage {
  const plan = broadcastPlan(outShape, [cShape, aShape, bShape]);
  const out = rt.alloc(plan.n * 4);
  const index = plan.flat ? 'let ci = i; let ai = i; let bi = i;' : stridedOffsets('i', plan.rank, 1, ['ci', 'ai', 'bi']);
  rt.dispatch({
    key: `where:${plan.flat ? 'flat' : `r${plan.rank}`}`,
    source: () => header([ro('cond'), ro('a'), ro('b'), rw('out')]) +
      main1d('p(0u)', `${index}\n  out[i] = select(b[bi], a[ai], cond[ci] != 0.0);`),
    bindings: [cond, a, b, out],
    meta: plan.meta,
    groups: groups1d(plan.n, rt.maxGroups1d),
  });
  return out;
}
