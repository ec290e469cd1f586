import { BackendError, type UnaryOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { cpuMatmulKernel } from './matmul.js';
import { runThreaded, threadsFor } from './pool.js';
import { type FloatArray, floatArray } from './storage.js';
import { geluWasm } from './wasm-gelu.js';

/** f32 gelu_erf in WebAssembly SIMD (wasm-gelu.ts) where the f32 kernels use it (matmul.ts's switch), else null. */
const geluSimd = (op: string, dtype: FloatDType): Uint8Array | null =>
  (op === 'gelu_erf' && dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd' ? geluWasm() : null);

/**
 * Work per element of each op, in the pool's units (about one multiply-add): what decides whether a kernel is split
 * across threads (threadsFor). The transcendental ops cost tens of operations; GELU's erf form, a rational function
 * and an exponential, the most.
 */
const UNARY_COST: Record<UnaryOp, number> = {
  neg: 1, exp: 16, log: 16, sqrt: 4, rsqrt: 4, tanh: 16, sigmoid: 16, relu: 1, abs: 1, square: 1,
  gelu_tanh: 24, gelu_erf: 32, erf: 32, mul_scalar: 1, add_scalar: 1, pow_scalar: 32,
};

/** out[i] = op(x[i]) for i < n, in the storage dtype. `param` is the scalar of mul_scalar/add_scalar/pow_scalar. */
export function unary(op: UnaryOp, x: FloatArray, n: number, dtype: FloatDType, param = 0): FloatArray {
  if (!Object.hasOwn(UNARY_COST, op)) throw new BackendError(`cpu unary: unknown op '${op as string}'`);
  const out = floatArray(dtype, n, false); // every element is written
  const wasm = geluSimd(op, dtype);
  if (wasm !== null) runThreaded('geluErfRangeF32x4', [wasm, x, out, null], n, threadsFor(UNARY_COST[op] * n), { writes: [2] });
  else runThreaded('unaryRange', [op, x, out, param], n, threadsFor(UNARY_COST[op] * n), { writes: [2] });
  return out;
}

/** y = gelu(x) and dydx = gelu′(x) in one pass (pointwise.ts: geluWithGradRange; f32 gelu_erf: wasm-gelu.ts). */
export function geluWithGrad(op: 'gelu_erf' | 'gelu_tanh', x: FloatArray, n: number, dtype: FloatDType): { y: FloatArray; dydx: FloatArray } {
  if (op !== 'gelu_erf' && op !== 'gelu_tanh') throw new BackendError(`cpu geluWithGrad: unknown op '${op as string}'`);
  const y = floatArray(dtype, n, false); // both written everywhere
  const dydx = floatArray(dtype, n, false);
  const wasm = geluSimd(op, dtype);
  if (wasm !== null) runThreaded('geluErfRangeF32x4', [wasm, x, y, dydx], n, threadsFor(40 * n), { writes: [2, 3] });
  else runThreaded('geluWithGradRange', [op, x, y, dydx], n, threadsFor(40 * n), { writes: [2, 3] });
  return { y, dydx };
}

