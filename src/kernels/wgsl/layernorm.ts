/**
 * LayerNorm over the last axis (rows × cols), fused, as in llm.c:
 * forward (one workgroup per row): mean, rstd = 1/sqrt(var + eps) with the biased variance (two passes),
 *   y = (x − mean)·rstd·gamma + beta; mean and rstd (rows) are kept for backward.
 * backward, one dispatch: workgroups [0, rows) compute dx rows,
 *   dx = rstd·(dy − mean(dy) − xhat·mean(dy·xhat)) with dy = g·gamma, xhat = (x − mean)·rstd;
 *   the workgroups after them reduce columns: dgamma[c] = Σ_rows g·xhat, dbeta[c] = Σ_rows g.
 */
import type { GpuRuntime, GpuStorage } from './runtime.js';
import {
  type Binding, ROWS_PER_GROUP, type RowKernel, f32bits, grid, header, ro, rowPlan, rowThreads, rw, threadReduce, workgroupReduce,
} from './shader.js';

export function layernorm(rt: GpuRuntime, x: GpuStorage, gamma: GpuStorage, beta: GpuStorage, rows: number,
  cols: number, eps: number, kind: RowKernel): { y: GpuStorage; mean: GpuStorage; rstd: GpuStorage } {
  const y = rt.alloc(rows * cols * 4);
  const mean = rt.alloc(rows * 4);
  const rstd = rt.alloc(rows * 4);
  const plan = rowPlan(kind, rows, cols);
  const wg = plan.stride;
  rt.dispatch({
    key: `layernorm:${kind}:${wg}`,
    source: () => header([ro('x'), ro('gamma'), ro('beta'), rw('y'), rw('mean'), rw('rstd')]) + plan.main(/* wgsl */ `
  let n = f32(cols);
  var partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { partial += x[base + c]; }
  let mu = wg_sum(partial, lid) / n;
  partial = 0.0;
  for (var c = lid; c < cols; c += ${wg}u) { let d = x[base + c] - mu; partial += d * d; }
  let r = inverseSqrt(wg_sum(partial, lid) / n + pf(2u));
  for (var c = lid; c < cols; c += ${wg}u) { y[base + c] = (x[base + c] - mu) * r * gamma[c] + beta[c]; }
  if (lid == 0u) { mean[row] = mu; rstd[row] = r; }`),
    bindings: [x, gamma, beta, y, mean, rstd],
    meta: [rows, cols, f32bits(eps)],
    groups: plan.groups,
  });
  return { y, mean, rstd };
}

export function layernormBackward(rt: GpuRuntime, x: GpuStorage, g: GpuStorage, gamma: GpuStorage, mean: GpuStorage,
  rstd: GpuStorage, rows: number, cols: number, need: { dx: boolean; dgamma: boolean; dbeta: boolean }, kind: RowKernel):
  { dx?: GpuStorage; dgamma?: GpuStorage; dbeta?: GpuStorage } {
  const dx = need.dx ? rt.alloc(rows * cols * 4) : undefined;
  const dgamma = need.dgamma ? rt.alloc(cols * 4) : undefined;
  const dbeta = need.dbeta ? rt.alloc(cols * 4) : undefined;
  const perThread = kind === 'thread';
  // threads per workgroup; wg is the dx rows' column stride (1 when a thread owns a row)
  const threads = perThread ? ROWS_PER_GROUP : rowThreads(cols);
  const wg = perThread ? 1 : threads;
  const rowGroups = need.dx ? (perThread ? Math.ceil(rows / ROWS_PER_GROUP) : rows) : 0;
  const colGroups = need.dgamma || need.dbeta ? Math.ceil(cols / threads) : 0;
  if (rowGroups + colGroups === 0 || cols === 0) return { dx, dgamma, dbeta };

  // only what the variant reads is bound (auto layouts drop unused bindings)
  const usesStats = need.dx || need.dgamma;
  const inputs: [Binding, GpuStorage, boolean][] = [
    [ro('x'), x, usesStats], [ro('g'), g, true], [ro('gamma'), gamma, need.dx],
    [ro('mean'), mean, usesStats], [ro('rstd'), rstd, usesStats],
    [rw('dx'), dx!, need.dx], [rw('dgamma'), dgamma!, need.dgamma], [rw('dbeta'), dbeta!, need.dbeta],
  ];
  const used = inputs.filter(([, , on]) => on);
  const rowPart = /* wgsl */ `
    let mu = mean[row];
    let r = rstd[row];
    var partial = vec2<f32>();
    for (var c = lid; c < cols; c += ${wg}u) {
      let dy = g[base + c] * gamma[c];
      partial += vec2<f32>(dy, dy * (x[base + c] - mu) * r);
    }
    let sums = wg_sum2(partial, lid) / f32(cols);
    for (var c = lid; c < cols; c += ${wg}u) {
      let dy = g[base + c] * gamma[c];
      let xhat = (x[base + c] - mu) * r;
      dx[base + c] = r * (dy - sums.x - xhat * sums.y);
    }`;
  const colPart = /* wgsl */ `
    let c = (group - p(2u)) * ${threads}u + tid;
    if (c < cols) {
      var dg = 0.0;
      var db = 0.0;
      for (var rr = 0u; rr < p(0u); rr++) {
        let gv = g[rr * cols + c];
        ${need.dgamma ? 'dg += gv * (x[rr * cols + c] - mean[rr]) * rstd[rr];' : ''}
        db += gv;
      }
      ${need.dgamma ? 'dgamma[c] = dg;' : ''}
      ${need.dbeta ? 'dbeta[c] = db;' : ''}
    }`;
  rt.dispatch({
    key: `layernormBackward:${need.dx}:${need.dgamma}:${need.dbeta}:${kind}:${threads}`,
    source: () => header(used.map(([b]) => b)) + (perThread ? threadReduce : workgroupReduce(threads)) + /* wgsl */ `
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let group = wid.y * nwg.x + wid.x;
  let cols = p(1u);
  if (group < p(2u)) {
    let row = ${perThread ? `group * ${ROWS_PER_GROUP}u + tid` : 'group'};
    let lid = ${perThread ? '0u' : 'tid'};
    let base = row * cols;
    ${need.dx ? (perThread ? `if (row < p(0u)) {${rowPart}}` : rowPart) : ''}
  } else if (group < p(2u) + p(3u)) {
    ${colPart}
  }
}`,
    bindings: used.map(([, st]) => st),
    meta: [rows, cols, rowGroups, colGroups],
    groups: grid(rowGroups + colGroups),
  });
  return { dx, dgamma, dbeta };
}
