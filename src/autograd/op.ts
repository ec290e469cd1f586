import type { Backend } from './backend.js';
import type { DType } from './dtype.js';
import { type Shape, fmt } from './shape.js';
import { Tensor, tidy } from './tensor.js';
import type { CheckSpec } from './check-spec.js';
import { anomalyDetection, checkFinite } from './anomaly.js';

/** What an op's backward sees. `needs[i]` false means: return null for input i, compute nothing for it. */
export interface BackwardCtx<A> {
  inputs: Tensor[];
  output: Tensor;
  attrs: A;
  saved: Tensor[];
  needs: boolean[];
}

/**
 * One entry of the op table: everything about an op in one place.
 * - `shape`: the output shape (and validation of the inputs, with a clear error).
 * - `forward`: computes the output through the backend's kernels; may return tensors to save for backward.
 * - `backward`: the input gradients, written with other ops (so every backend can train); null where not needed.
 *   Ops without a backward are not differentiable (comparisons, casts).
 * - `check`: where its gradient check samples shapes, attributes and values.
 * A composite op (`composite: true`) is a function of other ops; the tape records its parts, and its gradient
 * check tests the composition.
 */
export interface OpDef<A = any> {
  name: string;
  /** Number of tensor inputs (-1: variadic). */
  arity: number;
  shape(shapes: Shape[], attrs: A, dtypes: DType[]): Shape;
  /** `recording`: the tape will record this call, so its backward will run (an op may save more for it). */
  forward(inputs: Tensor[], attrs: A, outShape: Shape, recording: boolean): { out: Tensor; saved?: Tensor[] } | Tensor;
  backward?(ctx: BackwardCtx<A>, grad: Tensor): (Tensor | null)[];
  /** Indices of inputs that never get gradients (ids, masks, targets). */
  nondiff?: number[];
  composite?: boolean;
  check: CheckSpec<A>;
}

let gradEnabled = true;

export function isGradEnabled(): boolean { return gradEnabled; }

/** Runs `fn` without recording a tape (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}

export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return await fn(); } finally { gradEnabled = prev; }
}

export class OpError extends Error {
  override name = 'OpError';
}

/** Wraps a storage the backend returned into a tensor. */
export function wrap(backend: Backend, storage: unknown, shape: Shape, dtype: DType): Tensor {
  return new Tensor(backend, storage, shape, dtype);
}

/** Runs an op: checks inputs, computes the output, records the tape entry when a gradient may be needed. */
export function apply<A>(op: OpDef<A>, inputs: Tensor[], attrs: A): Tensor {
  if (op.arity >= 0 && inputs.length !== op.arity) {
    throw new OpError(`${op.name}: expected ${op.arity} inputs, got ${inputs.length}`);
  }
  const backend = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== backend) {
      throw new OpError(`${op.name}: inputs live on different backends (${backend.name} and ${t.backend.name}); move them first`);
    }
  }
  let outShape: Shape;
  try {
    outShape = op.shape(inputs.map((t) => t.shape), attrs, inputs.map((t) => t.dtype));
  } catch (e) {
    throw new OpError(`${op.name}: ${(e as Error).message} (inputs ${inputs.map((t) => fmt(t.shape)).join(', ')})`);
  }
  const nondiff = op.nondiff ?? [];
  const needs = inputs.map((t, i) => t.requiresGrad && !nondiff.includes(i));
  const record = gradEnabled && !op.composite && op.backward !== undefined && needs.some(Boolean);
  // a primitive's temporaries die here; a composite's parts are the tape and must live
  const res = op.composite ? op.forward(inputs, attrs, outShape, record) : tidy(() => op.forward(inputs, attrs, outShape, record));
  const out = res instanceof Tensor ? res : res.out;
  const saved = res instanceof Tensor ? [] : (res.saved ?? []);
  if (anomalyDetection() && !op.composite) checkFinite(() => `forward of ${op.name} (inputs ${inputs.map((t) => fmt(t.shape)).join(', ')})`, out);
  if (record) {
    out.requiresGrad = true;
    out.node = { op, inputs, attrs, saved, needs };
  } else if (!op.composite) {
    for (const s of saved) s.dispose();
  }
  return out;
}
