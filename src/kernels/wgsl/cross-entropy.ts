/**
 * Cross-entropy over the last axis, fused with its log-softmax. Forward: loss[row] = log Σ exp(x − max) −
 * (x[target] − max), valid[row] = 1; rows whose target is ignoreIndex get 0 and 0; a target outside [0, cols)
 * gives a NaN loss (the CPU backend throws). Backward: dlogits = g[row]·(softmax − onehot(target)).
 */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { grid, header, ro, rowMain, rowThreads, rw } from './shader.js';

/** Row max m and sum = Σ exp(x − m), shared by forward and backward; `ignored` rows skip the work. */
const ROW_STATS = (wg: number): string => /* wgsl */ `
  let tgt = targets[row];
  let ignored = tgt == bitcast<i32>(p(2u));
  var m = neg_inf_f();
  for (var c = lid; c < cols; c += ${wg}u) { m = max(m, logits[base + c]); }
  m = wg_max(m, lid);
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += exp(logits[base + c] - m); }
  let sum = wg_sum(partial, lid);`;

export function crossEntropy(rt: GpuRuntime, logits: GpuStorage, targets: GpuStorage, rows: number, cols: number,
  ignoreIndex: number): { loss: GpuStorage; valid: GpuStorage } {
  const loss = rt.alloc(rows * 4);
  const valid = rt.alloc(rows * 4);
  const wg = rowThreads(cols);
  rt.dispatch({
    key: `crossEntropy:${wg}`,
    source: () => header([ro('logits'), ro('targets', 'i32'), rw('loss'), rw('valid')]) + rowMain(wg, /* wgsl */ `
  ${ROW_STATS(wg)}
  if (lid == 0u) {
    let inRange = tgt >= 0 && u32(tgt) < cols;
    let picked = logits[base + u32(select(0, tgt, inRange))] - m;
    let l = select(nan_f(), log(sum) - picked, inRange);
    loss[row] = select(l, 0.0, ignored);
    valid[row] = select(1.0, 0.0, ignored);
  }`),
    bindings: [logits, targets, loss, valid],
    meta: [rows, cols, ignoreIndex | 0],
    groups: grid(rows),
  });
  return { loss, valid };
}

export function crossEntropyBackward(rt: GpuRuntime, logits: GpuStorage, targets: GpuStorage, g: GpuStorage,
  rows: number, cols: number, ignoreIndex: number): GpuStorage {
  const dlogits = rt.alloc(rows * cols * 4);
  const wg = rowThreads(cols);
  rt.dispatch({
    key: `crossEntropyBackward:${wg}`,
    source: () => header([ro('logits'), ro('targets', 'i32'), ro('g'), rw('dlogits')]) + rowMain(wg, /* wgsl */ `
  ${ROW_STATS(wg)}
  let scale = select(g[row] / sum, 0.0, ignored);
  let gRow = select(g[row], 0.0, ignored);
  for (var c = lid; c < cols; c += ${wg}u) {
    let onehot = select(0.0, gRow, i32(c) == tgt);
    dlogits[base + c] = exp(logits[base + c] - m) * scale - onehot;
  }`),
    bindings: [logits, targets, g, dlogits],
    meta: [rows, cols, ignoreIndex | 0],
    groups: grid(rows),
  });
  return dlogits;
}
