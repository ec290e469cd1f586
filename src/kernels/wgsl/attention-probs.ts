/**
 * attention_probs on WebGPU: a row kernel over the B·H·T rows of (B, H, T, S) scores (rowPlan: a row per
 * workgroup, or per thread on software adapters). Forward, one pass: v = blocked ? fill : scores·scale,
 * y = softmax(v), probs = dropout(y) with the dropout kernel's mask (uniform_at(seed, flat index)); y is kept
 * for backward only when p > 0 (else probs is y). Backward, one pass: gd = dropout(g), ds = scale·y⊙(gd − Σ gd⊙y),
 * 0 at blocked keys.
 */
import type { AttentionProbsParams } from '../../autograd/backend.js';
import { WGSL_RNG } from '../rng.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { f32bits, header, ro, type RowKernel, rowPlan, rw } from './shader.js';

/** Metadata: rows, S, H·T, T, causal, scale, fill, seed, keep threshold, 1/(1 − p). */
function meta(p: AttentionProbsParams): number[] {
  return [p.B * p.H * p.T, p.S, p.H * p.T, p.T, p.causal ? 1 : 0, f32bits(p.scale), f32bits(p.fill), p.seed >>> 0,
    f32bits(Math.ceil(p.p * 2 ** 24) / 2 ** 24), f32bits(p.p === 0 ? 1 : 1 / (1 - p.p))];
}

/** Row prologue: which batch row and query this row is, and the blocked rule for key c. */
const PROLOGUE = /* wgsl */ `
  let bRow = row / p(2u);
  let query = row % p(3u);
  let T = p(3u);
  let causal = p(4u) != 0u;`;
const BLOCKED = (c: string): string => `(keyMask[bRow * cols + ${c}] == 0.0 || (causal && ${c} + T > cols + query))`;

export function attentionProbs(rt: GpuRuntime, scores: GpuStorage, keyMask: GpuStorage, p: AttentionProbsParams,
  kind: RowKernel): { probs: GpuStorage; softmax?: GpuStorage } {
  const n = p.B * p.H * p.T * p.S;
  const dropping = p.p > 0;
  const probs = rt.alloc(n * 4);
  const softmax = dropping ? rt.alloc(n * 4) : undefined;
  const plan = rowPlan(kind, p.B * p.H * p.T, p.S);
  const wg = plan.stride;
  const write = dropping
    ? 'soft[base + c] = y; probs[base + c] = select(0.0, y * pf(9u), uniform_at(p(7u), base + c) >= pf(8u));'
    : 'probs[base + c] = y;';
  rt.dispatch({
    key: `attentionProbs:${dropping}:${kind}:${wg}`,
    source: () => header([ro('scores'), ro('keyMask'), rw('probs'), ...(dropping ? [rw('soft')] : [])]) + WGSL_RNG +
      plan.main(/* wgsl */ `${PROLOGUE}
  var m = neg_inf_f();
  for (var c = lid; c < cols; c += ${wg}u) { m = max(m, select(scores[base + c] * pf(5u), pf(6u), ${BLOCKED('c')})); }
  m = wg_max(m, lid);
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += exp(select(scores[base + c] * pf(5u), pf(6u), ${BLOCKED('c')}) - m); }
  let sum = wg_sum(partial, lid);
  for (var c = lid; c < cols; c += ${wg}u) {
    let y = exp(select(scores[base + c] * pf(5u), pf(6u), ${BLOCKED('c')}) - m) / sum;
    ${write}
  }`),
    bindings: dropping ? [scores, keyMask, probs, softmax!] : [scores, keyMask, probs],
    meta: meta(p),
    groups: plan.groups,
  });
  return { probs, softmax };
}

export function attentionProbsBackward(rt: GpuRuntime, y: GpuStorage, g: GpuStorage, keyMask: GpuStorage,
  p: AttentionProbsParams, kind: RowKernel): GpuStorage {
  const n = p.B * p.H * p.T * p.S;
  const dropping = p.p > 0;
  const ds = rt.alloc(n * 4);
  const plan = rowPlan(kind, p.B * p.H * p.T, p.S);
  const wg = plan.stride;
  const gd = dropping ? 'select(0.0, g[base + c] * pf(9u), uniform_at(p(7u), base + c) >= pf(8u))' : 'g[base + c]';
  rt.dispatch({
    key: `attentionProbsBackward:${dropping}:${kind}:${wg}`,
    source: () => header([ro('y'), ro('g'), ro('keyMask'), rw('ds')]) + WGSL_RNG + plan.main(/* wgsl */ `${PROLOGUE}
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += ${gd} * y[base + c]; }
  let dot = wg_sum(partial, lid);
  for (var c = lid; c < cols; c += ${wg}u) {
    ds[base + c] = select(pf(5u) * y[base + c] * (${gd} - dot), 0.0, ${BLOCKED('c')});
  }`),
    bindings: [y, g, keyMask, ds],
    meta: meta(p),
    groups: plan.groups,
  });
  return ds;
}
