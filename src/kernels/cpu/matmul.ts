import { BackendError, type MatmulParams } from '../../autograd/backend.js';
import type { FloatDType } from '../../autograd/dtype.js';
import { broadcastStrides, fmt, numel } from '../../autograd/shape.js';
import { type FloatArray, floatArray } from './storage.js';

/**
 * out (…batchOut, M, N) = op(A) @ op(B) with the batch dims of A and B broadcast to batchOut.
 * A is stored (…, M, K), or (…, K, M) when transA; B is stored (…, K, N), or (…, N, K) when transB.
 * Transposed operands are read in place (no transposed copies of the inputs). Without transB the sums are
 * accumulated in the output array itself (the storage dtype, rounded every four k); with transB each dot
 * product is summed in a local and rounded once. Aᵀ·Bᵀ goes through an (N, M) scratch output.
 */
export function matmul(a: FloatArray, b: FloatArray, p: MatmulParams, dtype: FloatDType): FloatArray {
  const { M, K, N } = p;
  const batch = numel(p.batchOut);
  const out = floatArray(dtype, batch * M * N);
  const needA = numel(p.batchA) * M * K;
  const needB = numel(p.batchB) * K * N;
  if (a.length < needA || b.length < needB) {
    throw new BackendError(`cpu matmul: operands hold ${a.length} and ${b.length} elements; batch ${fmt(p.batchA)} × (${M}, ${K}) needs ${needA}, batch ${fmt(p.batchB)} × (${K}, ${N}) needs ${needB}`);
  }
  if (out.length === 0) return out;
  const stridesA = broadcastStrides(p.batchA, p.batchOut);
  const stridesB = broadcastStrides(p.batchB, p.batchOut);
  const rank = p.batchOut.length;
  const index = new Array<number>(rank).fill(0);
  const scratch = p.transA && p.transB ? floatArray(dtype, N * M) : null;
  let batchA = 0;
  let batchB = 0;
  for (let t = 0; t < batch; t++) {
    const oa = batchA * M * K;
    const ob = batchB * K * N;
    const oc = t * M * N;
    if (!p.transB) {
      gemmNN(a, oa, p.transA ? 1 : K, p.transA ? M : 1, b, ob, out, oc, M, K, N);
    } else if (!p.transA) {
      gemmNT(a, oa, b, ob, out, oc, M, K, N);
    } else {
      // Aᵀ Bᵀ = (B A)ᵀ: B stored (N, K) times A stored (K, M) is an ordinary (N, M) product, then transposed out.
      scratch!.fill(0);
      gemmNN(b, ob, K, 1, a, oa, scratch!, 0, N, K, M);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[oc + i * N + j] = scratch![j * M + i];
    }
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      batchA += stridesA[d];
      batchB += stridesB[d];
      if (index[d] < p.batchOut[d]) break;
      batchA -= stridesA[d] * p.batchOut[d];
      batchB -= stridesB[d] * p.batchOut[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * c (M, N) += A (M, K) @ b (K, N), b row-major, A(i, k) = a[oa + i·rsA + k·csA] (so a transposed A is just other
 * strides). Loop order i-k-j, register-blocked 4 rows × 4 k: the inner loop streams four rows of b into four rows
 * of c, 16 multiply-adds per 4 loads of b and 4 load/stores of c. Leftover rows and k run unblocked.
 */
function gemmNN(
  a: FloatArray, oa: number, rsA: number, csA: number, b: FloatArray, ob: number, c: FloatArray, oc: number,
  M: number, K: number, N: number,
): void {
  const M4 = M - (M % 4);
  const K4 = K - (K % 4);
  let i = 0;
  for (; i < M4; i += 4) {
    const c0 = oc + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    const r0 = oa + i * rsA, r1 = r0 + rsA, r2 = r1 + rsA, r3 = r2 + rsA;
    let k = 0;
    for (; k < K4; k += 4) {
      const k0 = k * csA, k1 = k0 + csA, k2 = k1 + csA, k3 = k2 + csA;
      const a00 = a[r0 + k0], a01 = a[r0 + k1], a02 = a[r0 + k2], a03 = a[r0 + k3];
      const a10 = a[r1 + k0], a11 = a[r1 + k1], a12 = a[r1 + k2], a13 = a[r1 + k3];
      const a20 = a[r2 + k0], a21 = a[r2 + k1], a22 = a[r2 + k2], a23 = a[r2 + k3];
      const a30 = a[r3 + k0], a31 = a[r3 + k1], a32 = a[r3 + k2], a33 = a[r3 + k3];
      const b0 = ob + k * N, b1 = b0 + N, b2 = b1 + N, b3 = b2 + N;
      for (let j = 0; j < N; j++) {
        const x0 = b[b0 + j], x1 = b[b1 + j], x2 = b[b2 + j], x3 = b[b3 + j];
        c[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        c[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
        c[c2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
        c[c3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
      }
    }
    for (; k < K; k++) {
      const kk = k * csA;
      const a0 = a[r0 + kk], a1 = a[r1 + kk], a2 = a[r2 + kk], a3 = a[r3 + kk];
      const bk = ob + k * N;
      for (let j = 0; j < N; j++) {
        const x = b[bk + j];
        c[c0 + j] += a0 * x;
        c[c1 + j] += a1 * x;
        c[c2 + j] += a2 * x;
        c[c3 + j] += a3 * x;
      }
    }
  }
  for (; i < M; i++) {
    const ci = oc + i * N;
    const ai = oa + i * rsA;
    for (let k = 0; k < K; k++) {
      const aik = a[ai + k * csA];
      const bk = ob + k * N;
      for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/**
 * c (M, N) = a (M, K) @ bᵀ with b stored (N, K): dot products of contiguous rows, blocked 2 rows of a × 4 rows of
 * b (eight running sums, six loads per eight multiply-adds). Leftover rows and columns run unblocked.
 */
function gemmNT(a: FloatArray, oa: number, b: FloatArray, ob: number, c: FloatArray, oc: number, M: number, K: number, N: number): void {
  const M2 = M - (M % 2);
  const N4 = N - (N % 4);
  let i = 0;
  for (; i < M2; i += 2) {
    const a0 = oa + i * K, a1 = a0 + K;
    const c0 = oc + i * N, c1 = c0 + N;
    let j = 0;
    for (; j < N4; j += 4) {
      const b0 = ob + j * K, b1 = b0 + K, b2 = b1 + K, b3 = b2 + K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      for (let k = 0; k < K; k++) {
        const x = a[a0 + k], y = a[a1 + k];
        const y0 = b[b0 + k], y1 = b[b1 + k], y2 = b[b2 + k], y3 = b[b3 + k];
        s0 += x * y0; s1 += x * y1; s2 += x * y2; s3 += x * y3;
        t0 += y * y0; t1 += y * y1; t2 += y * y2; t3 += y * y3;
      }
      c[c0 + j] = s0; c[c0 + j + 1] = s1; c[c0 + j + 2] = s2; c[c0 + j + 3] = s3;
      c[c1 + j] = t0; c[c1 + j + 1] = t1; c[c1 + j + 2] = t2; c[c1 + j + 3] = t3;
    }
    for (; j < N; j++) {
      const bj = ob + j * K;
      let s = 0, t = 0;
      for (let k = 0; k < K; k++) { const y = b[bj + k]; s += a[a0 + k] * y; t += a[a1 + k] * y; }
      c[c0 + j] = s;
      c[c1 + j] = t;
    }
  }
  for (; i < M; i++) {
    const ai = oa + i * K;
    const ci = oc + i * N;
    for (let j = 0; j < N; j++) {
      const bj = ob + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ai + k] * b[bj + k];
      c[ci + j] = s;
    }
  }
}
