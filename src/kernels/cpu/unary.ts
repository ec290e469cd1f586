import { BackendError, type UnaryOp } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { erf, erfc } from './erf.js';
import { type FloatArray, floatArray } from './storage.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_C = 0.044715;

/**
 * GPT-2's gelu_new: 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³). Written as x·σ(2u), the same function
 * (1 + tanh(u) = 2σ(2u)) without the cancellation of 1 + tanh(u) for negative x.
 */
export function geluTanh(x: number): number {
  const u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  return x / (1 + Math.exp(-2 * u));
}

/** d/dx gelu_tanh = 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²), with 0.5(1 + t) = s and 1 − t² = 4s(1 − s). */
export function geluTanhGrad(x: number): number {
  const u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  const s = 1 / (1 + Math.exp(-2 * u));
  const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
  return s + 2 * x * s * (1 - s) * du;
}

/** BERT's gelu: 0.5x(1 + erf(x/√2)) = 0.5x·erfc(−x/√2) (the erfc form keeps relative accuracy for negative x). */
export function geluErf(x: number): number {
  return 0.5 * x * erfc(-x * SQRT_HALF);
}

/** d/dx gelu_erf = Φ(x) + x·φ(x). */
export function geluErfGrad(x: number): number {
  return 0.5 * erfc(-x * SQRT_HALF) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** out[i] = op(x[i]) for i < n, in the storage dtype. `param` is the scalar of mul_scalar/add_scalar/pow_scalar. */
export function unary(op: UnaryOp, x: FloatArray, n: number, dtype: FloatDType, param = 0): FloatArray {
  const out = floatArray(dtype, n);
  switch (op) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; break;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); break;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]); break;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); break;
    case 'rsqrt': for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]); break;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]); break;
    case 'sigmoid': for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i])); break;
    case 'relu': for (let i = 0; i < n; i++) out[i] = x[i] < 0 ? 0 : x[i]; break; // NaN stays NaN
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]); break;
    case 'square': for (let i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case 'gelu_tanh': for (let i = 0; i < n; i++) out[i] = geluTanh(x[i]); break;
    case 'gelu_erf': for (let i = 0; i < n; i++) out[i] = geluErf(x[i]); break;
    case 'erf': for (let i = 0; i < n; i++) out[i] = erf(x[i]); break;
    case 'mul_scalar': for (let i = 0; i < n; i++) out[i] = x[i] * param; break;
    case 'add_scalar': for (let i = 0; i < n; i++) out[i] = x[i] + param; break;
    case 'pow_scalar': for (let i = 0; i < n; i++) out[i] = Math.pow(x[i], param); break;
    default: throw new BackendError(`cpu unary: unknown op '${op as string}'`);
  }
  return out;
}
