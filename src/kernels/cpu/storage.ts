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

export function floatArray(dtype: FloatDType, n: number): FloatArray {
  if (n >= SHARED_MIN_ELEMENTS && canShare) return sharedFloatArray(dtype, n);
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** A zeroed float array over a SharedArrayBuffer (plain where the platform has none). */
export function sharedFloatArray(dtype: FloatDType, n: number): FloatArray {
  if (!canShare) return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
  return dtype === 'f64' ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float32Array(new SharedArrayBuffer(4 * n));
}

/** arrayFor with the same sharing rule as floatArray (i32 storages stay plain: no threaded kernel writes them). */
export function storageArray(dtype: DType, n: number): TypedArray {
  return dtype === 'i32' ? new Int32Array(n) : floatArray(dtype, n);
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
