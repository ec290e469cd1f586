import type { Backend } from './backend.js';
import { type DType, type TypedArray, toTypedArray } from './dtype.js';
import { type Shape, fmt, numel } from './shape.js';
import { Tensor } from './tensor.js';
import { Rng } from '../kernels/rng.js';
import { cpu } from '../kernels/cpu/index.js';

let defaultBackend: Backend = cpu;

/** The backend new tensors go to when none is named (the CPU backend until set). */
export function getDefaultBackend(): Backend { return defaultBackend; }
export function setDefaultBackend(b: Backend): void { defaultBackend = b; }

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
  requiresGrad?: boolean;
  name?: string;
}

function finish(t: Tensor, o: CreateOptions): Tensor {
  if (o.requiresGrad) t.requireGrad();
  if (o.name) t.name = o.name;
  return t;
}

/** A tensor from values (row-major) and a shape. */
export function tensor(values: ArrayLike<number> | TypedArray, shape: Shape, o: CreateOptions = {}): Tensor {
  const dtype = o.dtype ?? 'f32';
  const backend = o.backend ?? defaultBackend;
  if (values.length !== numel(shape)) {
    throw new Error(`tensor: ${values.length} values do not fill shape ${fmt(shape)}`);
  }
  if (!backend.dtypes.includes(dtype)) {
    throw new Error(`tensor: the ${backend.name} backend has no ${dtype} (it has ${backend.dtypes.join(', ')})`);
  }
  const typed = toTypedArray(dtype, values);
  const t = new Tensor(backend, backend.upload(typed, dtype), shape, dtype);
  if (dtype === 'i32') t.hostInts = typed as Int32Array;
  return finish(t, o);
}

export function zeros(shape: Shape, o: CreateOptions = {}): Tensor {
  const dtype = o.dtype ?? 'f32';
  const backend = o.backend ?? defaultBackend;
  return finish(new Tensor(backend, backend.zeros(numel(shape), dtype), shape, dtype), o);
}

export function full(shape: Shape, value: number, o: CreateOptions = {}): Tensor {
  return tensor(new Array<number>(numel(shape)).fill(value), shape, o);
}

export function ones(shape: Shape, o: CreateOptions = {}): Tensor { return full(shape, 1, o); }

/** Normal(mean, std) values from a seeded generator (initialisation is reproducible across backends). */
export function randn(shape: Shape, rng: Rng, o: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  const n = numel(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = (o.mean ?? 0) + (o.std ?? 1) * rng.normal();
  return tensor(v, shape, o);
}

export function randUniform(shape: Shape, rng: Rng, lo: number, hi: number, o: CreateOptions = {}): Tensor {
  const n = numel(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(lo, hi);
  return tensor(v, shape, o);
}

/** The same values on another backend (or in another float dtype). */
export async function to(t: Tensor, backend: Backend, dtype: DType = t.dtype): Promise<Tensor> {
  const data = await t.data();
  const out = tensor(data, t.shape, { backend, dtype });
  if (t.name) out.name = t.name;
  return out;
}
