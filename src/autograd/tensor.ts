import type { Backend, Storage } from './backend.js';
import { type DType, type TypedArray } from './dtype.js';
import { type Shape, numel, fmt } from './shape.js';
import type { OpDef } from './op.js';

/** A storage shared by every tensor that views it (reshape and detach share, they never copy). */
class StorageRef {
  refs = 1;
  constructor(readonly backend: Backend, public storage: Storage | null) {}
  retain(): this { this.refs++; return this; }
  drop(): void {
    if (--this.refs === 0 && this.storage !== null) {
      this.backend.release(this.storage);
      this.storage = null;
    }
  }
}

/** The tape entry of a tensor produced by a differentiable op. */
export interface Node {
  op: OpDef;
  inputs: Tensor[];
  attrs: unknown;
  /** Extra tensors the op saved for its backward (e.g. layernorm's mean and rstd). */
  saved: Tensor[];
  /** needs[i]: does input i need a gradient? Backward computes nothing for the others. */
  needs: boolean[];
}

/** Tensors still alive inside `tidy` scopes (innermost last). */
const scopes: Set<Tensor>[] = [];
const finalizer = new FinalizationRegistry<StorageRef>((ref) => ref.drop());

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** Set for leaf tensors the user wants gradients for (parameters) and for outputs of ops on them. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf, after `backward`. */
  grad: Tensor | null = null;
  /**
   * Applied by `backward` to every gradient arriving at this leaf, before it accumulates into `.grad` (as PyTorch's
   * `register_hook`). PEFT sets it to multiply by an element mask (BitFit's query third of GPT-2's fused bias), so
   * no caller can forget the mask. Returns a fresh tensor; the input gradient is disposed by `backward`.
   */
  gradHook: ((grad: Tensor) => Tensor) | null = null;
  /** How this tensor was computed (null for leaves and for results computed without gradient). */
  node: Node | null = null;
  /** Optional name (parameters carry their HF key). */
  name?: string;
  /** The values of an i32 tensor made from host numbers (ids, positions), so inputs are checked without a readback. */
  hostInts?: Int32Array;
  private ref: StorageRef | null;

  constructor(readonly backend: Backend, storage: Storage, shape: Shape, readonly dtype: DType, shareWith?: Tensor) {
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.ref = shareWith ? shareWith.liveRef().retain() : new StorageRef(backend, storage);
    finalizer.register(this, this.ref, this);
    scopes[scopes.length - 1]?.add(this);
  }

  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.ref === null; }
  get isLeaf(): boolean { return this.node === null; }

  private liveRef(): StorageRef {
    if (this.ref === null || this.ref.storage === null) {
      throw new Error(`tensor ${this.describe()} was used after dispose()`);
    }
    return this.ref;
  }

  /** The backend storage (for kernels). */
  get storage(): Storage { return this.liveRef().storage!; }

  /** Frees the storage once no other tensor views it. Safe to call twice. */
  dispose(): void {
    if (this.ref === null) return;
    finalizer.unregister(this);
    this.ref.drop();
    this.ref = null;
    // the tape entry stays: a backward that reaches a disposed tensor fails loudly instead of treating it as a leaf
    for (const s of scopes) s.delete(this);
  }

  /** Another tensor over the same storage with a new shape (no copy, no tape entry). */
  view(shape: Shape): Tensor {
    if (numel(shape) !== this.size) throw new Error(`cannot view ${fmt(this.shape)} as ${fmt(shape)}`);
    return new Tensor(this.backend, null, shape, this.dtype, this);
  }

  /** The same values, cut from the tape. */
  detach(): Tensor { return this.view(this.shape); }

  /** Marks a leaf as a parameter that wants gradients. */
  requireGrad(on = true): this {
    if (on && this.dtype === 'i32') throw new Error('integer tensors cannot require gradients');
    this.requiresGrad = on;
    return this;
  }

  async data(): Promise<TypedArray> { return this.backend.read(this.storage, this.size, this.dtype); }
  /** Synchronous read: CPU backend only. */
  dataSync(): TypedArray { return this.backend.readSync(this.storage, this.size, this.dtype); }
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() needs one element, tensor has shape ${fmt(this.shape)}`);
    return (await this.data())[0];
  }

  describe(): string {
    return `${this.name ?? `#${this.id}`} ${this.dtype}${fmt(this.shape)} on ${this.backend.name}`;
  }
  toString(): string { return `Tensor(${this.describe()})`; }
}

/**
 * Runs `fn` and disposes every tensor created inside it, except what it returns (a tensor, or an array
 * or object holding tensors) and what `keep` marked. Parameters live outside scopes.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  closeScope(scope, result);
  return result;
}

/** Async variant of `tidy` (the scope covers tensors created until the promise settles). */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = await fn();
  } finally {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
  }
  closeScope(scope, result);
  return result;
}

/** Takes a tensor out of every enclosing scope: it lives until disposed by hand. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Disposes a closed scope's tensors except those in `result`, which move to the enclosing scope. */
function closeScope(scope: Set<Tensor>, result: unknown): void {
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) {
    if (kept.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (value instanceof Tensor) { into.add(value); return; }
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Map) { for (const v of value.values()) collectTensors(v, into, depth + 1); return; }
  for (const v of Object.values(value as object)) collectTensors(v, into, depth + 1);
}
