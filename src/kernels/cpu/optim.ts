import type { AdamWParams, SgdParams } from '../../autograd/backend.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import type { FloatArray } from './storage.js';
import { adamwWasm } from './wasm-adamw.js';

/**
 * One AdamW step in place, as torch.optim.AdamW (single-tensor path), for i < n:
 *   param ← param·(1 − lr·wd)                                  decoupled weight decay
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   param ← param − (lr / bias1)·m / (√v / √bias2 + eps)       bias1 = 1 − β1^t, bias2 = 1 − β2^t
 */
export function adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, n: number, p: AdamWParams): void {
  const decay = 1 - p.lr * p.weightDecay;
  const stepSize = p.lr / p.bias1;
  const sqrtBias2 = Math.sqrt(p.bias2);
  // elementwise, so any split between threads gives the same bits; on f32 storages in WebAssembly SIMD where the f32
  // kernels use it (wasm-adamw.ts: the same operations, the same bits)
  const f32 = param instanceof Float32Array && grad instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array;
  const wasm = f32 && cpuMatmulKernel() === 'wasm-simd' ? adamwWasm() : null;
  if (wasm !== null) {
    runThreaded('adamwRangeF32x4', [wasm, param, grad, m, v, decay, stepSize, sqrtBias2, p.beta1, p.beta2, p.eps], n, threadsFor(4 * n),
      { align: 1024, writes: [1, 3, 4] });
  } else {
    runThreaded('adamwRange', [param, grad, m, v, decay, stepSize, sqrtBias2, p.beta1, p.beta2, p.eps], n, threadsFor(4 * n),
      { align: 1024, writes: [0, 2, 3] });
  }
}

/** AdamW on elements [i0, i1). SELF-CONTAINED: a pool worker runs its source text (see pool.ts). */
export function adamwRange(
  param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray,
  decay: number, stepSize: number, sqrtBias2: number, b1: number, b2: number, eps: number, i0: number, i1: number,
): void {
  for (let i = i0; i < i1; i++) {
    const g = grad[i];
    const mi = b1 * m[i] + (1 - b1) * g;
    const vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    // read param, m and v back so f32 storages use the stored (rounded) values, as PyTorch's in-place ops do
    param[i] *= decay;
    param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBias2 + eps);
  }
}

/**
 * One SGD step in place, as torch.optim.SGD, for i < n:
 *   d ← g + wd·param
 *   with momentum: buf ← momentum·buf + (1 − dampening)·d;  d ← nesterov ? d + momentum·buf : buf
 *   param ← param − lr·d
 * PyTorch sets buf ← d (no dampening) on the first step; a caller gets exactly that by passing a zero buffer
 * and dampening 0 on the first step. With momentum 0, buf may be null and is not touched.
 */
export function sgd(param: FloatArray, grad: FloatArray, buf: FloatArray | null, n: number, p: SgdParams): void {
  const { lr, momentum, weightDecay, dampening, nesterov } = p;
  for (let i = 0; i < n; i++) {
    let d = grad[i];
    if (weightDecay !== 0) d += weightDecay * param[i];
    if (momentum !== 0 && buf) {
      buf[i] = momentum * buf[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    param[i] -= lr * d;
  }
}
