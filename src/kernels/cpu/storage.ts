import { BackendError, type Storage } from '../../autograd/backend.js';
import type { DType, FloatDType, TypedArray } from '../../autograd/dtype.js';

/** On the CPU a storage is the typed array itself: Float32Array (f32), Float64Array (f64), Int32Array (i32). */
export type FloatArray = Float32Array | Float64Array;

const ARRAY_NAME: Record<DType, string> = { f32: 'Float32Array', f64: 'Float64Array', i32: 'Int32Array' };

/**
 * Storages of at least this many elements live on a SharedArrayBuffer, so the worker pool (pool.ts) can run
 * kernels on them without copies; smaller ones stay plain (cheaper to allocate, never threaded).
 */
export const SHARED_MIN_ELEMENTS = 1 << 14;
const canShare = typeof SharedArrayBuffer !== 'undefined';

/**
 * A zeroed float storage of n elements (shared from SHARED_MIN_ELEMENTS on), reused from the pool when one is free.
 * `zeroed: false` is for a kernel that writes every element: a reused array then keeps its old values, which saves
 * a pass over memory (a fresh one is zero anyway).
 */
export function floatArray(dtype: FloatDType, n: number, zeroed = true): FloatArray {
  if (n >= SHARED_MIN_ELEMENTS && canShare) return sharedFloatArray(dtype, n, zeroed);
  return (reuse(dtype === 'f64' ? F64 : F32, n, zeroed) as FloatArray | null) ?? (dtype === 'f64' ? new Float64Array(n) : new Float32Array(n));
}

/** A zeroed float array over a SharedArrayBuffer (plain where the platform has none); `zeroed` as for floatArray. */
export function sharedFloatArray(dtype: FloatDType, n: number, zeroed = true): FloatArray {
  if (!canShare) return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  const pooled = reuse(dtype === 'f64' ? F64_SHARED : F32_SHARED, n, zeroed) as FloatArray | null;
  if (pooled) return pooled;
  return dtype === 'f64' ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float32Array(new SharedArrayBuffer(4 * n));
}

/** arrayFor with the same sharing rule as floatArray (i32 storages stay plain: no threaded kernel writes them). */
export function storageArray(dtype: DType, n: number, zeroed = true): TypedArray {
  return dtype === 'i32' ? (reuse(I32, n, zeroed) as Int32Array | null) ?? new Int32Array(n) : floatArray(dtype, n, zeroed);
}

/*
 * The storage pool. The tensor layer calls `release` when the last tensor viewing a storage is disposed (or
 * collected); released arrays of at least POOL_MIN_BYTES wait here, by kind and length, and the next allocation of
 * the same kind and length takes one, zeroed. A training step allocates the same shapes every step, so after the
 * first step almost nothing is freshly allocated: a fresh large typed array costs the page faults of its first
 * touch (measured here: a 768 KB add into a fresh array took about twice as long as into a reused one) and
 * external-memory pressure that triggers garbage collections. At most the pool's limit waits; beyond that a released
 * array is left to the garbage collector — which frees big (Shared)ArrayBuffers late: a pass whose working set
 * exceeds the limit leaves the excess as garbage every pass (measured: 192-row evaluation passes of bert-tiny, a
 * 3-prompt ensemble's, ≈ 400 MB each, grew the process's array buffers to 1.1 GB in 9 passes under a 192 MB limit,
 * and stayed at 360–400 MB under 1 GiB). So the limit is 1 GiB in Node and 256 MB in a browser;
 * `setStoragePoolLimit` changes it.
 */
const F32 = 0, F64 = 1, F32_SHARED = 2, F64_SHARED = 3, I32 = 4;
// 256 bytes (64 floats), not 16 KB: P-tuning's LSTM encoder runs ≈ 1,100 kernels a step on (2, 256)-sized arrays, and a
// fresh typed array each time (allocation, then its garbage) was 7 % of the encoder's time; pooled, the encoder's
// forward + backward is 6 % cheaper and a P-tuning step 4 % (bench/results/2026-12-05T0010-pool-small-ab-cpu-time-t1.json)
const POOL_MIN_BYTES = 256;
const inNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
let poolMaxBytes = (inNode ? 1024 : 256) * 1024 * 1024;

/**
 * The most bytes of released CPU storages kept for reuse (default 1 GiB in Node, 256 MB in a browser); lowering it
 * drops what is kept beyond the new limit.
 */
export function setStoragePoolLimit(bytes: number): void {
  if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new BackendError(`storage pool limit: expected a whole number of bytes ≥ 0, got ${bytes}`);
  poolMaxBytes = bytes;
  for (const [key, list] of free) {
    while (pooledBytes > poolMaxBytes && list.length) {
      const arr = list.pop()!;
      waiting.delete(arr);
      pooledBytes -= arr.byteLength;
    }
    if (!list.length) free.delete(key);
  }
}
const free = new Map<number, TypedArray[]>();
const waiting = new WeakSet<TypedArray>();
let pooledBytes = 0;

function reuse(kind: number, n: number, zeroed: boolean): TypedArray | null {
  const list = free.get(n * 8 + kind);
  const arr = list?.pop();
  if (arr === undefined) return null;
  waiting.delete(arr);
  pooledBytes -= arr.byteLength;
  return zeroed ? arr.fill(0) : arr;
}

function kindOf(s: TypedArray): number {
  const shared = typeof SharedArrayBuffer !== 'undefined' && s.buffer instanceof SharedArrayBuffer;
  if (s instanceof Float32Array) return shared ? F32_SHARED : F32;
  if (s instanceof Float64Array) return shared ? F64_SHARED : F64;
  return shared ? -1 : I32; // shared i32 storages are not made here
}

/**
 * Takes a storage nobody views any more into the pool. Only whole-buffer typed arrays of the kinds this file makes
 * are kept; releasing the same array twice keeps it once.
 */
export function releaseStorage(s: Storage): void {
  if (!(s instanceof Float32Array || s instanceof Float64Array || s instanceof Int32Array)) return;
  if (s.byteLength < POOL_MIN_BYTES || s.byteOffset !== 0 || s.buffer.byteLength !== s.byteLength) return;
  if (waiting.has(s) || pooledBytes + s.byteLength > poolMaxBytes) return;
  const kind = kindOf(s);
  if (kind < 0) return;
  const key = s.length * 8 + kind;
  let list = free.get(key);
  if (!list) { list = []; free.set(key, list); }
  list.push(s);
  waiting.add(s);
  pooledBytes += s.byteLength;
}

/** What the pool holds (tests, benches). */
export function storagePoolInfo(): { arrays: number; bytes: number } {
  let arrays = 0;
  for (const list of free.values()) arrays += list.length;
  return { arrays, bytes: pooledBytes };
}

function describe(s: Storage): string {
  if (s === null || s === undefined) return String(s);
  if (ArrayBuffer.isView(s)) return `${s.constructor.name}(${(s as TypedArray).length})`;
  return typeof s === 'object' ? (s.constructor?.name ?? 'object') : typeof s;
}

function isOf(s: Storage, dtype: DType): boolean {
  switch (dtype) {
    case 'f32': return s instanceof Float32Array;
    case 'f64': return s instanceof Float64Array;
    case 'i32': return s instanceof Int32Array;
  }
}

/** The storage as a typed array of `dtype` holding at least `n` elements, or a BackendError naming the operand. */
export function typed(s: Storage, dtype: DType, n: number, what: string): TypedArray {
  if (!isOf(s, dtype)) throw new BackendError(`cpu ${what}: expected a ${dtype} storage (${ARRAY_NAME[dtype]}), got ${describe(s)}`);
  const arr = s as TypedArray;
  if (arr.length < n) throw new BackendError(`cpu ${what}: storage holds ${arr.length} elements, the kernel needs ${n}`);
  return arr;
}

export function floats(s: Storage, dtype: FloatDType, n: number, what: string): FloatArray {
  return typed(s, dtype, n, what) as FloatArray;
}

export function ints(s: Storage, n: number, what: string): Int32Array {
  return typed(s, 'i32', n, what) as Int32Array;
}
