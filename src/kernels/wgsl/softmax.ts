/**
 * softmax / log_softmax over the last axis (rows × cols), fused and stable: one workgroup per row finds the
 * row max, sums exp(x − max), then writes exp(x − max)/sum or x − max − log(sum).
 */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { grid, header, ro, rowMain, rowThreads, rw } from './shader.js';

export function softmax(rt: GpuRuntime, x: GpuStorage, rows: number, cols: number, log: boolean): GpuStorage {
  const out = rt.alloc(rows * cols * 4);
  const wg = rowThreads(cols);
  const write = log ? 'out[base + c] = (x[base + c] - m) - logSum;' : 'out[base + c] = exp(x[base + c] - m) / sum;';
  rt.dispatch({
    key: `softmax:${log}:${wg}`,
    source: () => header([ro('x'), rw('out')]) + rowMain(wg, /* wgsl */ `
  var m = neg_inf_f();
  for (var c = lid; c < cols; c += ${wg}u) { m = max(m, x[base + c]); }
  m = wg_max(m, lid);
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += exp(x[base + c] - m); }
  let sum = wg_sum(partial, lid);
  let logSum = log(sum);
  for (var c = lid; c < cols; c += ${wg}u) { ${write} }`),
    bindings: [x, out],
    meta: [rows, cols],
    groups: cols === 0 ? [0] : grid(rows),
  });
  return out;
}
