/** Elementwise binary kernels with NumPy broadcasting (strided reads, no broadcast copies). */
import type { BinaryOp } from '../../autograd/backend.js';
import type { Shape } from '../../autograd/shape.js';
import { broadcastPlan } from './layout.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { groups1d, header, main1d, ro, rw, stridedOffsets } from './shader.js';
import { WGSL_MATH } from './unary.js';

/** x is the first operand, y the second (for the gradient helpers: x the saved forward value, y the gradient). */
const EXPR: Record<BinaryOp, string> = {
  add: 'x + y', sub: 'x - y', mul: 'x * y', div: 'x / y', pow: 'pow_f(x, y)',
  maximum: 'select(max(x, y), x + y, is_nan(x) || is_nan(y))', minimum: 'select(min(x, y), x + y, is_nan(x) || is_nan(y))',
  eq: 'select(0.0, 1.0, x == y)', gt: 'select(0.0, 1.0, x > y)', lt: 'select(0.0, 1.0, x < y)',
  relu_grad: 'select(0.0, y, x > 0.0)',
  gelu_tanh_grad: 'y * gelu_tanh_grad_f(x)', gelu_erf_grad: 'y * gelu_erf_grad_f(x)',
  tanh_grad: 'y * (1.0 - x * x)', sigmoid_grad: 'y * (x * (1.0 - x))',
};

export function binary(rt: GpuRuntime, op: BinaryOp, a: GpuStorage, aShape: Shape, b: GpuStorage, bShape: Shape,
  outShape: Shape): GpuStorage {
  const plan = broadcastPlan(outShape, [aShape, bShape]);
  const out = rt.alloc(plan.n * 4);
  const index = plan.flat ? 'let ai = i; let bi = i;' : stridedOffsets('i', plan.rank, 1, ['ai', 'bi']);
  rt.dispatch({
    key: `binary:${op}:${plan.flat ? 'flat' : `r${plan.rank}`}`,
    source: () => header([ro('a'), ro('b'), rw('out')]) + WGSL_MATH +
      main1d('p(0u)', `${index}\n  let x = a[ai];\n  let y = b[bi];\n  out[i] = ${EXPR[op]};`),
    bindings: [a, b, out],
    meta: plan.meta,
    groups: groups1d(plan.n, rt.maxGroups1d),
  });
  return out;
}
