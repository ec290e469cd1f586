/**
 * lstm_scan on WebGPU (LstmScanParams): one workgroup per sequence (N·B groups) runs all T steps, the state and the
 * step's gates in workgroup memory and a barrier between the gate products and the state update, instead of a
 * dozen dispatches per step. The state width H is part of the shader (its workgroup arrays). Forward: gates
 * z_j = gx_j + (Σ_k W_hh[j, k]·h_k + b_hh[j]), acts = σ/σ/tanh/σ, c = f·c' + i·g, h = o·tanh(c). Backward, t from
 * T − 1 down: dz from ∂L/∂h_t (g plus the later step's share) and ∂L/∂c_t, then ∂L/∂h_{t−1} = dzᵀ W_hh.
 * tanh and σ are WGSL_MATH's (tanh_f, sigmoid_f), as in the unary kernels.
 */
import { BackendError, type LstmScanParams } from '../../autograd/backend.js';
import type { GpuRuntime, GpuStorage } from './runtime.js';
import { grid, header, ro, rw } from './shader.js';
import { WGSL_MATH } from './unary.js';

const WG = 64;

/** Workgroup floats a scan of width H holds (state, cell gradient and the step's 4H gates). */
function checkWidth(rt: GpuRuntime, H: number): void {
  const bytes = 6 * H * 4;
  if (bytes > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new BackendError(`webgpu: lstm_scan of width ${H} needs ${bytes} bytes of workgroup memory, this adapter has ${rt.limits.maxComputeWorkgroupStorageSize}`);
  }
}

const entry = (H: number, body: string): string => /* wgsl */ `
const H: u32 = ${H}u;
const G: u32 = ${4 * H}u;
var<workgroup> st: array<f32, ${H}>;
var<workgroup> cs: array<f32, ${H}>;
var<workgroup> zs: array<f32, ${4 * H}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let seq = wid.y * nwg.x + wid.x;
  if (seq >= p(0u)) { return; }
  let T = p(2u);
  let w = (seq / p(1u)) * G * H;
  let bias = (seq / p(1u)) * G;
  for (var k = lid; k < H; k += ${WG}u) { st[k] = 0.0; cs[k] = 0.0; }
  workgroupBarrier();
  ${body}
}`;

export function lstmScan(rt: GpuRuntime, gx: GpuStorage, whh: GpuStorage, bhh: GpuStorage, p: LstmScanParams):
  { h: GpuStorage; c: GpuStorage; acts: GpuStorage } {
  const { N, B, T, H } = p;
  checkWidth(rt, H);
  const h = rt.alloc(N * B * T * H * 4);
  const c = rt.alloc(N * B * T * H * 4);
  const acts = rt.alloc(N * B * T * 4 * H * 4);
  rt.dispatch({
    key: `lstmScan:${H}`,
    source: () => header([ro('gx'), ro('whh'), ro('bhh'), rw('h'), rw('c'), rw('acts')]) + WGSL_MATH + entry(H, /* wgsl */ `
  for (var t = 0u; t < T; t = t + 1u) {
    let ga = (seq * T + t) * G;
    for (var j = lid; j < G; j += ${WG}u) {
      var r = 0.0;
      for (var k = 0u; k < H; k = k + 1u) { r += whh[w + j * H + k] * st[k]; }
      let z = gx[ga + j] + (r + bhh[bias + j]);
      let a = select(sigmoid_f(z), tanh_f(z), j >= 2u * H && j < 3u * H);
      zs[j] = a;
      acts[ga + j] = a;
    }
    workgroupBarrier();
    let at = (seq * T + t) * H;
    for (var k = lid; k < H; k += ${WG}u) {
      let cc = zs[H + k] * cs[k] + zs[k] * zs[2u * H + k];
      let hh = zs[3u * H + k] * tanh_f(cc);
      c[at + k] = cc;
      h[at + k] = hh;
      cs[k] = cc;
      st[k] = hh;
    }
    workgroupBarrier();
  }`),
    bindings: [gx, whh, bhh, h, c, acts],
    meta: [N * B, B, T],
    groups: grid(N * B),
  });
  return { h, c, acts };
}

export function lstmScanBackward(rt: GpuRuntime, g: GpuStorage, c: GpuStorage, acts: GpuStorage, whh: GpuStorage,
  p: LstmScanParams): GpuStorage {
  const { N, B, T, H } = p;
  checkWidth(rt, H);
  const dz = rt.alloc(N * B * T * 4 * H * 4);
  // st: ∂L/∂h_t from step t + 1; cs: ∂L/∂c_t from step t + 1; zs: this step's dz
  rt.dispatch({
    key: `lstmScanBackward:${H}`,
    source: () => header([ro('g'), ro('c'), ro('acts'), ro('whh'), rw('dz')]) + WGSL_MATH + entry(H, /* wgsl */ `
  for (var s = 0u; s < T; s = s + 1u) {
    let t = T - 1u - s;
    let ga = (seq * T + t) * G;
    let at = (seq * T + t) * H;
    for (var k = lid; k < H; k += ${WG}u) {
      let i = acts[ga + k];
      let f = acts[ga + H + k];
      let gg = acts[ga + 2u * H + k];
      let o = acts[ga + 3u * H + k];
      let tc = tanh_f(c[at + k]);
      let dh = g[at + k] + st[k];
      let dc = dh * o * (1.0 - tc * tc) + cs[k];
      var cPrev = 0.0;
      if (t > 0u) { cPrev = c[at - H + k]; }
      zs[k] = dc * gg * i * (1.0 - i);
      zs[H + k] = dc * cPrev * f * (1.0 - f);
      zs[2u * H + k] = dc * i * (1.0 - gg * gg);
      zs[3u * H + k] = dh * tc * o * (1.0 - o);
      cs[k] = dc * f;
    }
    workgroupBarrier();
    for (var j = lid; j < G; j += ${WG}u) { dz[ga + j] = zs[j]; }
    for (var k = lid; k < H; k += ${WG}u) {
      var r = 0.0;
      for (var j = 0u; j < G; j = j + 1u) { r += zs[j] * whh[w + j * H + k]; }
      st[k] = r;
    }
    workgroupBarrier();
  }`),
    bindings: [g, c, acts, whh, dz],
    meta: [N * B, B, T],
    groups: grid(N * B),
  });
  return dz;
}
