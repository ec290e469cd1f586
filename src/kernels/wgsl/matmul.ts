/**
 * Batched matmul: out (…, M, N) = op(A) (…, M, K) @ op(B) (…, K, N), batch dims broadcast through strides,
 * transposes handled by index math (A stored (…, K, M) when transA, B (…, N, K) when transB) — no copies.
 *
 * Two kernels, chosen on the backend:
 * - 'register' (default): each thread computes a 4×4 block of out from registers only — no workgroup memory,
 *   no barriers. Operands whose contiguous dim is a multiple of 4 are read as vec4. Edge tiles clamp their
 *   loads into range and skip the stores, so the inner loop has no branches. Fastest on software adapters.
 * - 'tiled': the classic 16×16 tile staged through workgroup memory, one output per thread (what real GPUs
 *   with fast shared memory tend to prefer).
 */
import type { MatmulParams } from '../../autograd/backend.js';
import { broadcastStrides } from '../../autograd/shape.js';
import { collapse } from './layout.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { header, ro, rw, stridedOffsets } from './shader.js';

export type MatmulKernel = 'register' | 'tiled';

/** Register kernel: 8×8 threads, each 4×4 outputs → a 32×32 tile per workgroup. */
const REG_THREADS = 8;
const REG_TILE = REG_THREADS * 4;
const TILE = 16;

/** `bias` (N), when given, is added to every row of out as it is stored (linear's epilogue). */
export function matmul(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, p: MatmulParams, kernel: MatmulKernel,
  bias?: GpuStorage): GpuStorage {
  const { M, K, N, transA, transB } = p;
  const batchN = p.batchOut.reduce((x, y) => x * y, 1);
  const out = rt.alloc(batchN * M * N * 4);
  // batch offsets of A and B in elements, through broadcast strides
  const c = collapse(p.batchOut, [
    broadcastStrides(p.batchA, p.batchOut).map((s) => s * M * K),
    broadcastStrides(p.batchB, p.batchOut).map((s) => s * K * N),
  ]);
  const br = c.shape.length;
  const meta = [M, K, N, batchN, ...c.shape, ...c.strides[0], ...c.strides[1]];
  const z = Math.min(batchN, rt.limits.maxComputeWorkgroupsPerDimension);
  const indexA = transA ? 'k * p(0u) + m' : 'm * p(1u) + k';
  const indexB = transB ? 'n * p(1u) + k' : 'k * p(2u) + n';
  const batchLoop = `for (var z = wid.z; z < p(3u); z += nwg.z) {
  ${stridedOffsets('z', br, 4, ['offA', 'offB'])}
  let offO = z * p(0u) * p(2u);`;

  const hasBias = bias !== undefined;
  const bindings = hasBias ? [a, b, out, bias] : [a, b, out];
  if (kernel === 'tiled') {
    rt.dispatch({
      key: `matmul:tiled:${transA}:${transB}:b${br}:${hasBias}`,
      source: () => tiledSource(indexA, indexB, batchLoop, hasBias),
      bindings,
      meta,
      groups: [Math.ceil(N / TILE), Math.ceil(M / TILE), z],
    });
    return out;
  }
  const vecA = transA ? M % 4 === 0 : K % 4 === 0;
  const vecB = transB ? K % 4 === 0 : N % 4 === 0;
  const vecOut = N % 4 === 0;
  rt.dispatch({
    key: `matmul:register:${transA}:${transB}:${vecA}:${vecB}:${vecOut}:b${br}:${hasBias}`,
    source: () => registerSource({ transA, transB, vecA, vecB, vecOut, bias: hasBias }, indexA, indexB, batchLoop),
    bindings,
    meta,
    groups: [Math.ceil(N / REG_TILE), Math.ceil(M / REG_TILE), z],
  });
  return out;
}

interface RegisterVariant { transA: boolean; transB: boolean; vecA: boolean; vecB: boolean; vecOut: boolean; bias: boolean }

function registerSource(v: RegisterVariant, indexA: string, indexB: string, batchLoop: string): string {
  const I = [0, 1, 2, 3];
  // scalar reads that work on either binding type
  const scalar = (name: string, vec: boolean, idx: string): string => (vec ? `${name}[(${idx}) / 4u][(${idx}) % 4u]` : `${name}[${idx}]`);
  const loadA = (m: string, k: string): string => scalar('A', v.vecA, `offA + ${indexA.replace(/\bm\b/g, `(${m})`).replace(/\bk\b/g, `(${k})`)}`);
  const loadB = (k: string, n: string): string => scalar('B', v.vecB, `offB + ${indexB.replace(/\bn\b/g, `(${n})`).replace(/\bk\b/g, `(${k})`)}`);
  // rows m_i = min(r0 + i, M − 1), cols n_j = min(c0 + j, N − 1): clamped loads, masked stores
  const rows = I.map((i) => `let m${i} = min(r0 + ${i}u, M - 1u);`).join(' ');
  const cols = I.map((j) => `let n${j} = min(c0 + ${j}u, N - 1u);`).join(' ');

  // main loop body over k .. k+3: aAt(i, kk) is A(m_i, k + kk) as an expression over loaded registers,
  // bRow[kk] is the vec4 B(k + kk, n_0..n_3)
  const loads: string[] = [];
  let aAt: (i: number, kk: number) => string;
  if (v.vecA && !v.transA) { // rows of A as vec4 over k
    I.forEach((i) => loads.push(`let a${i} = A[(offA + m${i} * K + k) / 4u];`));
    aAt = (i, kk) => `a${i}[${kk}]`;
  } else if (v.vecA && v.transA) { // A stored (K, M): vec4 over m
    I.forEach((kk) => loads.push(`let a${kk} = A[(offA + (k + ${kk}u) * M + min(r0, M - 4u)) / 4u];`));
    aAt = (i, kk) => `a${kk}[${i}]`;
  } else {
    I.forEach((i) => I.forEach((kk) => loads.push(`let a${i}_${kk} = ${loadA(`m${i}`, `k + ${kk}u`)};`)));
    aAt = (i, kk) => `a${i}_${kk}`;
  }
  const bRow: string[] = [];
  if (v.vecB && !v.transB) { // B stored (K, N): vec4 over n
    I.forEach((kk) => loads.push(`let b${kk} = B[(offB + (k + ${kk}u) * N + min(c0, N - 4u)) / 4u];`));
    I.forEach((kk) => bRow.push(`b${kk}`));
  } else if (v.vecB && v.transB) { // B stored (N, K): vec4 over k
    I.forEach((j) => loads.push(`let b${j} = B[(offB + n${j} * K + k) / 4u];`));
    I.forEach((kk) => bRow.push(`vec4<f32>(b0[${kk}], b1[${kk}], b2[${kk}], b3[${kk}])`));
  } else {
    I.forEach((kk) => bRow.push(`vec4<f32>(${I.map((j) => loadB(`k + ${kk}u`, `n${j}`)).join(', ')})`));
  }
  const fmas: string[] = [];
  I.forEach((kk) => {
    fmas.push(`let bk${kk} = ${bRow[kk]};`);
    I.forEach((i) => fmas.push(`acc${i} += ${aAt(i, kk)} * bk${kk};`));
  });
  const tail = [
    `let bt = vec4<f32>(${I.map((j) => loadB('k', `n${j}`)).join(', ')});`,
    ...I.map((i) => `acc${i} += ${loadA(`m${i}`, 'k')} * bt;`),
  ];
  // with a bias, every row adds bias(n_0..n_3) (clamped columns: their stores are skipped)
  const value = (i: number): string => (v.bias ? `(acc${i} + biasRow)` : `acc${i}`);
  const stores = I.map((i) => {
    const row = `r0 + ${i}u`;
    const store = v.vecOut
      ? `if (c0 < N) { out[(offO + (${row}) * N + c0) / 4u] = ${value(i)}; }`
      : I.map((j) => `if (c0 + ${j}u < N) { out[offO + (${row}) * N + c0 + ${j}u] = ${value(i)}[${j}]; }`).join(' ');
    return `if (${row} < M) { ${store} }`;
  });
  if (v.bias) stores.unshift('let biasRow = vec4<f32>(bias[n0], bias[n1], bias[n2], bias[n3]);');

  return header([ro('A', v.vecA ? 'vec4<f32>' : 'f32'), ro('B', v.vecB ? 'vec4<f32>' : 'f32'),
    rw('out', v.vecOut ? 'vec4<f32>' : 'f32'), ...(v.bias ? [ro('bias')] : [])]) + /* wgsl */ `
@compute @workgroup_size(${REG_THREADS}, ${REG_THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = p(0u); let K = p(1u); let N = p(2u);
  let r0 = (wid.y * ${REG_THREADS}u + lid.y) * 4u;
  let c0 = (wid.x * ${REG_THREADS}u + lid.x) * 4u;
  if (r0 >= M || c0 >= N) { return; }
  ${rows}
  ${cols}
  ${batchLoop}
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  var k = 0u;
  for (; k + 4u <= K; k += 4u) {
    ${loads.join('\n    ')}
    ${fmas.join('\n    ')}
  }
  for (; k < K; k++) {
    ${tail.join('\n    ')}
  }
  ${stores.join('\n  ')}
  }
}`;
}

function tiledSource(indexA: string, indexB: string, batchLoop: string, bias: boolean): string {
  return header([ro('A'), ro('B'), rw('out'), ...(bias ? [ro('bias')] : [])]) + /* wgsl */ `
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;
fn loadA(offA: u32, m: u32, k: u32) -> f32 {
  if (m >= p(0u) || k >= p(1u)) { return 0.0; }
  return A[offA + ${indexA}];
}
fn loadB(offB: u32, k: u32, n: u32) -> f32 {
  if (k >= p(1u) || n >= p(2u)) { return 0.0; }
  return B[offB + ${indexB}];
}
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  ${batchLoop}
  var acc = 0.0;
  for (var t = 0u; t < p(1u); t += ${TILE}u) {
    As[lid.y][lid.x] = loadA(offA, row, t + lid.x);
    Bs[lid.y][lid.x] = loadB(offB, t + lid.y, col);
    workgroupBarrier();
    for (var kk = 0u; kk < ${TILE}u; kk++) { acc += As[lid.y][kk] * Bs[kk][lid.x]; }
    workgroupBarrier();
  }
  if (row < p(0u) && col < p(2u)) { out[offO + row * p(2u) + col] = acc${bias ? ' + bias[col]' : ''}; }
  }
}`;
}
