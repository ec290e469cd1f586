// `node bench/dev-lavapipe-matmul.mjs [size] [name filter]`: f32 matmul kernel shapes timed alone on the WebGPU adapter
// Dawn finds (lavapipe here), each the median of 5 dispatches after one checked run (max |error| over 64 sampled
// elements against a float64 dot product). A dev probe for choosing the software-adapter kernel, not a bench row.
// DF=<dawn feature> adds a Dawn toggle (e.g. DF=disable_robustness). Variants: "uA" (a workgroup of lanes along n,
// R rows whose A reads are the same for every lane), "uA4" (the same, a vec4 of columns per lane), "uA4v" (A read as
// vec4 over k too), "register 4x4" (the shape of src/kernels/wgsl/matmul.ts's default kernel).
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan', ...(process.env.DF ? ['enable-dawn-features=' + process.env.DF] : [])]);
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice({ requiredLimits: { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256 } });
const M = +process.argv[2] || 1024, K = M, N = M;
const A = new Float32Array(M * K).map(() => Math.random() - 0.5), B = new Float32Array(K * N).map(() => Math.random() - 0.5);
const buf = (arr, usage) => { const b = device.createBuffer({ size: arr.byteLength, usage: usage | GPUBufferUsage.COPY_DST }); device.queue.writeBuffer(b, 0, arr); return b; };
const bA = buf(A, GPUBufferUsage.STORAGE), bB = buf(B, GPUBufferUsage.STORAGE);
const bO = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const rb = device.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const uni = buf(new Uint32Array([M, K, N, 0]), GPUBufferUsage.UNIFORM);
const hdr = (ta, tb, to) => `@group(0) @binding(0) var<uniform> P: vec4<u32>;
@group(0) @binding(1) var<storage, read> A: array<${ta}>;
@group(0) @binding(2) var<storage, read> B: array<${tb}>;
@group(0) @binding(3) var<storage, read_write> O: array<${to}>;
`;
const kernels = {};
// uniform-A: workgroup WG lanes along n (scalar), R rows per workgroup
for (const [WG, R] of [[64, 8], [64, 16], [128, 16], [64, 32], [256, 16]]) {
  const acc = [...Array(R).keys()];
  kernels[`uA wg${WG} R${R}`] = { src: hdr('f32', 'f32', 'f32') + `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let K = P.y; let N = P.z;
  let n = wid.x * ${WG}u + lid.x;
  let m0 = wid.y * ${R}u;
  ${acc.map((r) => `var c${r} = 0.0;`).join(' ')}
  for (var k = 0u; k < K; k++) {
    let b = B[k * N + n];
    ${acc.map((r) => `c${r} += A[(m0 + ${r}u) * K + k] * b;`).join('\n    ')}
  }
  ${acc.map((r) => `O[(m0 + ${r}u) * N + n] = c${r};`).join('\n  ')}
}`, groups: [N / WG, M / R] };
}
// uniform-A, vec4 columns per lane
for (const [WG, R] of [[16, 8], [32, 8], [16, 16], [64, 8]]) {
  const acc = [...Array(R).keys()];
  kernels[`uA4 wg${WG} R${R}`] = { src: hdr('f32', 'vec4<f32>', 'vec4<f32>') + `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let K = P.y; let N4 = P.z / 4u;
  let n = wid.x * ${WG}u + lid.x;
  let m0 = wid.y * ${R}u;
  ${acc.map((r) => `var c${r} = vec4<f32>();`).join(' ')}
  for (var k = 0u; k < K; k++) {
    let b = B[k * N4 + n];
    ${acc.map((r) => `c${r} += A[(m0 + ${r}u) * K + k] * b;`).join('\n    ')}
  }
  ${acc.map((r) => `O[(m0 + ${r}u) * N4 + n] = c${r};`).join('\n  ')}
}`, groups: [N / 4 / WG, M / R] };
}

for (const [WG, R] of [[8, 4], [16, 4], [8, 8], [16, 8], [32, 8], [16, 12]]) {
  const acc = [...Array(R).keys()];
  kernels[`uA4v wg${WG} R${R}`] = { src: hdr('vec4<f32>', 'vec4<f32>', 'vec4<f32>') + `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let K4 = P.y / 4u; let N4 = P.z / 4u;
  let n = wid.x * ${WG}u + lid.x;
  let m0 = wid.y * ${R}u;
  ${acc.map((r) => `var c${r} = vec4<f32>();`).join(' ')}
  for (var k = 0u; k < K4; k++) {
    let b0 = B[(4u * k) * N4 + n]; let b1 = B[(4u * k + 1u) * N4 + n]; let b2 = B[(4u * k + 2u) * N4 + n]; let b3 = B[(4u * k + 3u) * N4 + n];
    ${acc.map((r) => `{ let a = A[(m0 + ${r}u) * K4 + k]; c${r} += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3; }`).join('\n    ')}
  }
  ${acc.map((r) => `O[(m0 + ${r}u) * N4 + n] = c${r};`).join('\n  ')}
}`, groups: [N / 4 / WG, M / R] };
}
// current register kernel (8x8 threads, 4x4 each, vec4 A rows and B rows)
kernels['register 4x4'] = { src: hdr('vec4<f32>', 'vec4<f32>', 'vec4<f32>') + `
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let K = P.y; let N = P.z;
  let r0 = (wid.y * 8u + lid.y) * 4u; let c0 = (wid.x * 8u + lid.x) * 4u;
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  for (var k = 0u; k < K; k += 4u) {
    let a0 = A[(r0 * K + k) / 4u]; let a1 = A[((r0 + 1u) * K + k) / 4u]; let a2 = A[((r0 + 2u) * K + k) / 4u]; let a3 = A[((r0 + 3u) * K + k) / 4u];
    let b0 = B[(k * N + c0) / 4u]; let b1 = B[((k + 1u) * N + c0) / 4u]; let b2 = B[((k + 2u) * N + c0) / 4u]; let b3 = B[((k + 3u) * N + c0) / 4u];
    acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
  }
  O[(r0 * N + c0) / 4u] = acc0; O[((r0 + 1u) * N + c0) / 4u] = acc1; O[((r0 + 2u) * N + c0) / 4u] = acc2; O[((r0 + 3u) * N + c0) / 4u] = acc3;
}`, groups: [N / 32, M / 32] };
const only = process.argv[3];
// reference rows check
function check(out) {
  let maxErr = 0;
  for (let t = 0; t < 64; t++) { const m = (t * 37) % M, n = (t * 101) % N; let s = 0; for (let k = 0; k < K; k++) s += A[m * K + k] * B[k * N + n]; maxErr = Math.max(maxErr, Math.abs(s - out[m * N + n])); }
  return maxErr;
}
for (const [name, k] of Object.entries(kernels)) {
  if (only && !name.includes(only)) continue;
  const mod = device.createShaderModule({ code: k.src });
  const pipe = device.createComputePipeline({ layout: 'auto', compute: { module: mod, entryPoint: 'main' } });
  const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [uni, bA, bB, bO].map((b, i) => ({ binding: i, resource: { buffer: b } })) });
  const run = async (readback) => {
    const enc = device.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(...k.groups); pass.end();
    if (readback) enc.copyBufferToBuffer(bO, 0, rb, 0, M * N * 4);
    device.queue.submit([enc.finish()]);
    if (readback) { await rb.mapAsync(GPUMapMode.READ); const o = new Float32Array(rb.getMappedRange().slice(0)); rb.unmap(); return o; }
    await device.queue.onSubmittedWorkDone();
  };
  const out = await run(true); const err = check(out);
  const ts = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); await run(false); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b); const med = ts[2];
  console.log(`${name.padEnd(16)} ${med.toFixed(1).padStart(8)} ms  ${(2 * M * N * K / med / 1e6).toFixed(2)} GFLOP/s  err ${err.toExponential(1)}`);
}
process.exit(0);
