/**
 * Pieces every WGSL kernel shares: the metadata uniform at @binding(0), the storage bindings after it,
 * and the flat invocation index of a 1-D dispatch spread over x and y (x is capped at 65535 groups).
 *
 * Metadata is a list of u32 words (sizes, shapes, strides; floats travel as their bits, see `f32bits`)
 * read in WGSL with `p(i)` / `pf(i)`. At most META_WORDS words per dispatch.
 */

export const META_WORDS = 64;
export const META_BYTES = META_WORDS * 4;

/** Threads per workgroup of the elementwise kernels. */
export const WG = 256;

export interface Binding {
  name: string;
  access: 'read' | 'read_write';
  /** Element type: 'f32', 'i32', 'u32', 'vec4<f32>'. */
  type: string;
}

export const ro = (name: string, type = 'f32'): Binding => ({ name, access: 'read', type });
export const rw = (name: string, type = 'f32'): Binding => ({ name, access: 'read_write', type });

/** Declarations: metadata at binding 0, then the storages at 1, 2, … in the order given. */
export function header(bindings: readonly Binding[]): string {
  const decls = bindings.map((b, i) =>
    `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`);
  return /* wgsl */ `
struct Meta { w: array<vec4<u32>, ${META_WORDS / 4}> }
@group(0) @binding(0) var<uniform> meta_: Meta;
fn p(i: u32) -> u32 { return meta_.w[i / 4u][i % 4u]; }
fn pf(i: u32) -> f32 { return bitcast<f32>(p(i)); }
// special values at run time (a bitcast of a constant would be const-evaluated, and NaN/∞ are not representable)
fn from_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn nan_f() -> f32 { return from_bits(0x7fc00000u); }
fn inf_f() -> f32 { return from_bits(0x7f800000u); }
fn neg_inf_f() -> f32 { return from_bits(0xff800000u); }
// by its bits: compilers may assume x != x is false
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
${decls.join('\n')}
`;
}

/**
 * Entry point of a 1-D kernel over `count` items; `body` sees `i` (already bounds-checked). A grid-stride loop:
 * a dispatch of fewer workgroups than items / wg (see groups1d) gives each thread several items.
 */
export function main1d(count: string, body: string, wg = WG): string {
  return /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let total = nwg.x * nwg.y * ${wg}u;
  for (var i = (wid.y * nwg.x + wid.x) * ${wg}u + lid; i < ${count}; i += total) {
  ${body}
  }
}`;
}

/**
 * Workgroups for a main1d kernel over n items: one item per thread, or at most `maxGroups` workgroups (software
 * adapters run a workgroup at a time per CPU thread, and each launch costs more than a few loop iterations).
 */
export function groups1d(n: number, maxGroups = Infinity, wg = WG): [number, number] {
  return grid(Math.min(Math.ceil(n / wg), maxGroups));
}

/** The bits of a number as an f32, for metadata words. */
export function f32bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

/** Workgroup counts for `groups` groups spread over x then y (WebGPU caps each dimension). */
export function grid(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * WGSL that turns the flat index `idx` over a shape of `rank` dims into an element offset for each named
 * strided operand. Metadata layout at word `base`: shape[rank], then for each operand strides[rank]; the
 * operand's base offset, with `withOffset`, follows its strides. Rank 1 needs no division.
 */
export function stridedOffsets(idx: string, rank: number, base: number, operands: readonly string[],
  withOffset = false): string {
  const per = rank + (withOffset ? 1 : 0);
  const stride = (j: number, d: number): string => `p(${base + rank + j * per + d}u)`;
  const lines = operands.map((name, j) =>
    `var ${name} = ${withOffset ? `p(${base + rank + j * per + rank}u)` : '0u'};`);
  if (rank === 1) {
    operands.forEach((name, j) => lines.push(`${name} += ${idx} * ${stride(j, 0)};`));
    return lines.join('\n  ');
  }
  const rem = `rem_${operands[0]}`;
  lines.push(`var ${rem} = ${idx};`);
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let dim = p(${base + d}u); let c = ${rem} % dim; ${rem} = ${rem} / dim;`);
    operands.forEach((name, j) => lines.push(`  ${name} += c * ${stride(j, d)};`));
    lines.push('}');
  }
  return lines.join('\n  ');
}

/** Threads per row for the row kernels (softmax, layernorm, cross-entropy): short rows get small groups. */
export function rowThreads(cols: number): number {
  return cols <= 64 ? 32 : cols <= 1024 ? 64 : 128;
}

/**
 * Workgroup reductions for a workgroup of `wg` threads (call from uniform control flow): wg_sum, wg_max and
 * wg_sum2 (two sums at once). Every thread gets the result.
 */
export function workgroupReduce(wg: number): string {
  // The barrier comes first: every thread has read the previous reduction's red[0] before anyone overwrites it.
  // (A trailing barrier after the read is not enough on Dawn's GL ES backend, where the read may sink past it.)
  const tree = (combine: string): string => /* wgsl */ `
  workgroupBarrier();
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = ${combine}; }
    workgroupBarrier();
  }
  let r = red[0];
  return r;`;
  return /* wgsl */ `
var<workgroup> red: array<vec2<f32>, ${wg}>;
fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> {${tree('red[lid] + red[lid + s]')}
}
fn wg_max(x: f32, lid: u32) -> f32 {
  let v = vec2<f32>(x, 0.0);${tree('max(red[lid], red[lid + s])').replace('return r;', 'return r.x;')}
}
fn wg_sum(x: f32, lid: u32) -> f32 { return wg_sum2(vec2<f32>(x, 0.0), lid).x; }
`;
}

/** Entry point of a kernel with one workgroup per row: `body` sees row, cols (p(1)), base = row·cols, lid. */
export function rowMain(wg: number, body: string): string {
  return workgroupReduce(wg) + /* wgsl */ `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p(0u)) { return; }
  let cols = p(1u);
  let base = row * cols;
  ${body}
}`;
}

/** Rows per workgroup when each thread owns a row. */
export const ROWS_PER_GROUP = 64;

/** The reductions of a one-thread-per-row kernel: each thread already holds its row's total. */
export const threadReduce = /* wgsl */ `
fn wg_sum2(v: vec2<f32>, lid: u32) -> vec2<f32> { return v; }
fn wg_max(x: f32, lid: u32) -> f32 { return x; }
fn wg_sum(x: f32, lid: u32) -> f32 { return x; }
`;

/**
 * How a row kernel (softmax, layernorm, cross-entropy) spreads rows over threads:
 * - 'workgroup': one workgroup per row, reductions through workgroup memory and barriers (real GPUs);
 * - 'thread': one thread per row, ROWS_PER_GROUP rows per workgroup, no workgroup memory and no barriers —
 *   what software adapters (lavapipe, SwiftShader) run fastest, since a barrier there costs a thread switch.
 * The same body serves both: it strides its column loops by `stride` from `lid` and calls wg_sum/wg_max.
 */
export type RowKernel = 'workgroup' | 'thread';

export interface RowPlan {
  /** Column-loop stride of the body (threads per row). */
  stride: number;
  groups: [number, number];
  /** The WGSL entry point around `body`. */
  main(body: string): string;
}

export function rowPlan(kind: RowKernel, rows: number, cols: number): RowPlan {
  if (kind === 'workgroup') {
    const wg = rowThreads(cols);
    return { stride: wg, groups: cols === 0 ? [0, 1] : grid(rows), main: (body) => rowMain(wg, body) };
  }
  return {
    stride: 1,
    groups: cols === 0 ? [0, 1] : grid(Math.ceil(rows / ROWS_PER_GROUP)),
    main: (body) => threadReduce + /* wgsl */ `
@compute @workgroup_size(${ROWS_PER_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = (wid.y * nwg.x + wid.x) * ${ROWS_PER_GROUP}u + tid;
  if (row >= p(0u)) { return; }
  let lid = 0u;
  let cols = p(1u);
  let base = row * cols;
  ${body}
}`,
  };
}
