/**
 * Fused optimizer updates, in place, with torch's formulas.
 * AdamW: param −= lr·wd·param; m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 *        param −= lr·(m / bias1) / (sqrt(v / bias2) + eps).
 * SGD:   d = g + wd·param; with momentum: buf = momentum·buf + (1 − dampening)·d, d = nesterov ? d + momentum·buf
 *        : buf; param −= lr·d. (torch sets buf = d on its first step; a zero-initialised buf with dampening 0 is
 *        the same.)
 */
import type { AdamWParams, SgdParams } from '../../autograd/backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { f32bits, groups1d, header, main1d, rw, ro } from './shader.js';

export function adamw(rt: GpuRuntime, param: GpuStorage, grad: GpuStorage, m: GpuStorage, v: GpuStorage, n: number,
  p: AdamWParams): void {
  rt.dispatch({
    key: 'adamw',
    source: () => header([rw('param'), ro('grad'), rw('m'), rw('v')]) + main1d('p(0u)', `
  let lr = pf(1u); let b1 = pf(2u); let b2 = pf(3u); let eps = pf(4u); let wd = pf(5u);
  let g = grad[i];
  var w = param[i];
  w -= lr * wd * w;
  let mi = b1 * m[i] + (1.0 - b1) * g;
  let vi = b2 * v[i] + (1.0 - b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = w - lr * (mi / pf(6u)) / (sqrt(vi / pf(7u)) + eps);`),
    bindings: [param, grad, m, v],
    meta: [n, ...[p.lr, p.beta1, p.beta2, p.eps, p.weightDecay, p.bias1, p.bias2].map(f32bits)],
    groups: groups1d(n, rt.maxGroups1d),
  });
}

export function sgd(rt: GpuRuntime, param: GpuStorage, grad: GpuStorage, buf: GpuStorage | null, n: number,
  p: SgdParams): void {
  const momentum = buf !== null && p.momentum !== 0;
  const step = !momentum ? 'let d = g;'
    : `let b = pf(2u) * buf[i] + (1.0 - pf(4u)) * g;\n  buf[i] = b;\n  let d = ${p.nesterov ? 'g + pf(2u) * b' : 'b'};`;
  rt.dispatch({
    key: `sgd:${momentum}:${p.nesterov}`,
    source: () => header([rw('param'), ro('grad'), ...(momentum ? [rw('buf')] : [])]) + main1d('p(0u)', `
  let w = param[i];
  let g = grad[i] + pf(3u) * w;
  ${step}
  param[i] = w - pf(1u) * d;`),
    bindings: momentum ? [param, grad, buf!] : [param, grad],
    meta: [n, ...[p.lr, p.momentum, p.weightDecay, p.dampening].map(f32bits)],
    groups: groups1d(n, rt.maxGroups1d),
  });
}
