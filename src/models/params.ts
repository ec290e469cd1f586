/**
 * A model's parameters: a Map from HF key name (`h.0.attn.c_attn.weight`, `bert.pooler.dense.bias`) to its tensor,
 * each tensor named with its key. Built from a list of specs (name, shape, HF initializer), so a model can be
 * created from a config alone or filled from a checkpoint without drawing random numbers it would overwrite.
 */
import type { Backend } from '../autograd/backend.js';
import type { FloatDType } from '../autograd/dtype.js';
import { fmt, numel } from '../autograd/shape.js';
import { tensor, getDefaultBackend } from '../autograd/create.js';
import type { Tensor } from '../autograd/tensor.js';
import { keep } from '../autograd/tensor.js';
import { Rng, hash32 } from '../kernels/rng.js';

/** HF's `_init_weights`: normal(0, std) for weights and embeddings (a padding row zeroed), ones/zeros for LayerNorm and biases. */
export type Init = { kind: 'normal'; std: number; zeroRow?: number } | { kind: 'zeros' } | { kind: 'ones' };

export interface ParamSpec { name: string; shape: number[]; init: Init }

export type NamePredicate = (name: string) => boolean;

export interface Placement { backend?: Backend; dtype?: FloatDType }

export class Params extends Map<string, Tensor> {
  /** The tensor of `name`, or an error naming it. */
  tensor(name: string): Tensor {
    const t = this.get(name);
    if (!t) throw new Error(`no parameter named ${name}`);
    return t;
  }

  /** [name, tensor] pairs, in registration order, optionally filtered. */
  list(pred: NamePredicate = () => true): [string, Tensor][] {
    return [...this].filter(([name]) => pred(name));
  }

  /** Number of elements (HF's `num_parameters`), optionally of the matching tensors only. */
  count(pred: NamePredicate = () => true): number {
    let n = 0;
    for (const [name, t] of this) if (pred(name)) n += t.size;
    return n;
  }

  /** Elements that will receive gradients. */
  countTrainable(): number {
    let n = 0;
    for (const t of this.values()) if (t.requiresGrad) n += t.size;
    return n;
  }

  trainable(): Tensor[] { return [...this.values()].filter((t) => t.requiresGrad); }

  /** Stops gradients to the matching tensors (all when no predicate). */
  freeze(pred: NamePredicate = () => true): this {
    for (const [name, t] of this) if (pred(name)) t.requireGrad(false);
    return this;
  }

  unfreeze(pred: NamePredicate = () => true): this {
    for (const [name, t] of this) if (pred(name)) t.requireGrad(true);
    return this;
  }

  /**
   * Overwrites a tensor's values in place (same shape): the tensor object stays the same, so methods and
   * optimizers holding it see the new values.
   */
  assign(name: string, values: ArrayLike<number>): void { assignValues(this.tensor(name), values, name); }

  dispose(): void {
    for (const t of this.values()) { t.grad?.dispose(); t.dispose(); }
    this.clear();
  }
}

/** A per-tensor generator: a tensor's initial values depend only on (seed, name), not on what else was drawn. */
function rngFor(seed: number, name: string): Rng {
  let h = 0x811c9dc5; // FNV-1a of the name
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng(hash32((seed >>> 0) ^ h));
}

/** Overwrites a tensor's values in place (same shape, same tensor object: holders see the new values). */
export function assignValues(t: Tensor, values: ArrayLike<number>, name = t.name ?? t.describe()): void {
  if (values.length !== t.size) throw new Error(`${name}: ${values.length} values for shape ${fmt(t.shape)}`);
  const fresh = tensor(values, t.shape, { backend: t.backend, dtype: t.dtype });
  t.backend.writeRegion(t.storage, t.shape, fresh.storage, t.shape, t.shape.map(() => 0), t.dtype);
  fresh.dispose();
}

export function initValues(spec: ParamSpec, seed: number): Float64Array {
  const n = numel(spec.shape);
  const v = new Float64Array(n);
  const init = spec.init;
  if (init.kind === 'ones') v.fill(1);
  if (init.kind === 'normal') {
    const rng = rngFor(seed, spec.name);
    for (let i = 0; i < n; i++) v[i] = init.std * rng.normal();
    if (init.zeroRow !== undefined) {
      const width = spec.shape[spec.shape.length - 1];
      v.fill(0, init.zeroRow * width, (init.zeroRow + 1) * width);
    }
  }
  return v;
}

/**
 * Parameters for `specs`: values from `provided` where given (already shape-checked by the loader), HF's
 * initialization from `seed` otherwise. Every tensor trains until frozen.
 */
export function buildParams(specs: ParamSpec[], seed: number, where: Placement = {},
  provided: ReadonlyMap<string, ArrayLike<number>> = new Map()): Params {
  const backend = where.backend ?? getDefaultBackend();
  const dtype = where.dtype ?? 'f32';
  const params = new Params();
  for (const spec of specs) {
    const values = provided.get(spec.name) ?? initValues(spec, seed);
    params.set(spec.name, keep(tensor(values, spec.shape, { backend, dtype, name: spec.name, requiresGrad: true })));
  }
  return params;
}

/** Spec helpers, as HF's `_init_weights` treats each module. */
export const spec = {
  normal: (name: string, shape: number[], std: number, zeroRow?: number): ParamSpec =>
    ({ name, shape, init: zeroRow === undefined ? { kind: 'normal', std } : { kind: 'normal', std, zeroRow } }),
  zeros: (name: string, shape: number[]): ParamSpec => ({ name, shape, init: { kind: 'zeros' } }),
  /** LayerNorm: weight 1, bias 0. */
  layerNorm: (prefix: string, d: number): ParamSpec[] =>
    [{ name: `${prefix}.weight`, shape: [d], init: { kind: 'ones' } }, { name: `${prefix}.bias`, shape: [d], init: { kind: 'zeros' } }],
  /** A Linear/Conv1D: weight normal(0, std) of `shape`, bias 0 of `biasSize`. */
  linear: (prefix: string, shape: number[], biasSize: number, std: number): ParamSpec[] =>
    [spec.normal(`${prefix}.weight`, shape, std), spec.zeros(`${prefix}.bias`, [biasSize])],
};
