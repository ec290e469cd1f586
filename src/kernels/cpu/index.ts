import {
  type AdamWParams, type AttentionProbsParams, type Backend, BackendError, type BinaryOp, type KernelStats, type LinearParams, type LstmScanParams, type MatmulParams, type ReduceOp,
  type SgdParams, type Storage, type UnaryOp, countLaunch, newStats,
} from '../../autograd/backend.js';
import type { DType, FloatDType, TypedArray } from '../../autograd/dtype.js';
import { type Shape, numel } from '../../autograd/shape.js';
import { binary } from './binary.js';
import { cast } from './cast.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { dropout } from './dropout.js';
import { embedding, embeddingBackward } from './embedding.js';
import { layernorm, layernormBackward } from './layernorm.js';
import { cpuMatmulKernel, matmul } from './matmul.js';
import { linear } from './linear.js';
import { attentionProbs, attentionProbsBackward } from './attention-probs.js';
import { lstmScan, lstmScanBackward } from './lstm.js';
import { sumSquares } from './sum-squares.js';
import { adamw, sgd } from './optim.js';
import { permute } from './permute.js';
import { reduce } from './reduce.js';
import { slice, writeRegion } from './slice.js';
import { softmax } from './softmax.js';
import { registerThreadedKernels } from './pool.js';
import { threadedHelpers, threadedKernels } from './threaded-kernels.js';
import { floats, ints, releaseStorage, storageArray, typed } from './storage.js';
import { geluWithGrad, unary } from './unary.js';
import { where } from './where.js';

registerThreadedKernels(threadedKernels(), threadedHelpers);

/**
 * The reference backend: every storage is a plain typed array (Float32Array, Float64Array, Int32Array) and every
 * kernel a synchronous loop in the file named after it. This class only checks storages, counts launches and
 * dispatches; the arithmetic lives in the kernel files.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly dtypes: readonly DType[] = ['f32', 'f64', 'i32'];
  readonly stats: KernelStats = newStats();

  describe(): string {
    return `CPU (JavaScript typed arrays; f32 matmul and elementwise kernels in ${cpuMatmulKernel() === 'wasm-simd' ? 'WebAssembly SIMD' : 'TypeScript'})`;
  }

  // ---- memory
  zeros(n: number, dtype: DType): Storage {
    return storageArray(dtype, n);
  }

  /** Copies `data` (converting its element type if needed), so later writes to `data` do not reach the storage. */
  upload(data: TypedArray, dtype: DType): Storage {
    const out = storageArray(dtype, data.length);
    out.set(data);
    return out;
  }

  read(s: Storage, n: number, dtype: DType): Promise<TypedArray> {
    return Promise.resolve(this.readSync(s, n, dtype));
  }

  readSync(s: Storage, n: number, dtype: DType): TypedArray {
    this.stats.readbacks++;
    return typed(s, dtype, n, 'read').slice(0, n);
  }

  /** The storage goes back to the pool (storage.ts), for the next allocation of its kind and length. */
  release(s: Storage): void { releaseStorage(s); }
  flush(): void {}

  // ---- elementwise
  unary(op: UnaryOp, x: Storage, n: number, dtype: FloatDType, param?: number): Storage {
    countLaunch(this.stats, `unary:${op}`);
    if ((op === 'mul_scalar' || op === 'add_scalar' || op === 'pow_scalar') && param === undefined) {
      throw new BackendError(`cpu unary:${op}: needs the scalar param`);
    }
    return unary(op, floats(x, dtype, n, `unary:${op} x`), n, dtype, param);
  }

  geluWithGrad(op: 'gelu_erf' | 'gelu_tanh', x: Storage, n: number, dtype: FloatDType): { y: Storage; dydx: Storage } {
    countLaunch(this.stats, `unary:${op}+grad`);
    return geluWithGrad(op, floats(x, dtype, n, `unary:${op} x`), n, dtype);
  }

  binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: FloatDType): Storage {
    countLaunch(this.stats, `binary:${op}`);
    const av = floats(a, dtype, numel(aShape), `binary:${op} a`);
    const bv = floats(b, dtype, numel(bShape), `binary:${op} b`);
    return binary(op, av, aShape, bv, bShape, outShape, dtype);
  }

  where(cond: Storage, cShape: Shape, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'where');
    return where(
      floats(cond, dtype, numel(cShape), 'where cond'), cShape,
      floats(a, dtype, numel(aShape), 'where a'), aShape,
      floats(b, dtype, numel(bShape), 'where b'), bShape, outShape, dtype,
    );
  }

  cast(x: Storage, n: number, from: DType, to: DType): Storage {
    countLaunch(this.stats, 'cast');
    return cast(typed(x, from, n, 'cast x'), n, to);
  }

  // ---- reductions
  reduce(op: ReduceOp, x: Storage, shape: Shape, axes: readonly number[], dtype: FloatDType): Storage {
    countLaunch(this.stats, `reduce:${op}`);
    return reduce(op, floats(x, dtype, numel(shape), `reduce:${op} x`), shape, axes, dtype);
  }

  sumSquares(x: Storage, n: number, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'sumSquares');
    return sumSquares(floats(x, dtype, n, 'sumSquares x'), n, dtype);
  }

  // ---- linear algebra and layout
  matmul(a: Storage, b: Storage, p: MatmulParams, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'matmul');
    return matmul(floats(a, dtype, 0, 'matmul a'), floats(b, dtype, 0, 'matmul b'), p, dtype);
  }

  linear(x: Storage, w: Storage, bias: Storage, p: LinearParams, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'linear');
    return linear(floats(x, dtype, p.rows * p.K, 'linear x'), floats(w, dtype, p.K * p.N, 'linear w'), floats(bias, dtype, p.N, 'linear bias'), p, dtype);
  }

  permute(x: Storage, shape: Shape, perm: readonly number[], dtype: DType): Storage {
    countLaunch(this.stats, 'permute');
    return permute(typed(x, dtype, numel(shape), 'permute x'), shape, perm, dtype);
  }

  slice(x: Storage, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): Storage {
    countLaunch(this.stats, 'slice');
    return slice(typed(x, dtype, numel(shape), 'slice x'), shape, begin, size, dtype);
  }

  writeRegion(dst: Storage, dstShape: Shape, src: Storage, srcShape: Shape, begin: readonly number[], dtype: DType): void {
    countLaunch(this.stats, 'writeRegion');
    writeRegion(typed(dst, dtype, numel(dstShape), 'writeRegion dst'), dstShape, typed(src, dtype, numel(srcShape), 'writeRegion src'), srcShape, begin);
  }

  // ---- indexing
  embedding(weight: Storage, V: number, D: number, ids: Storage, N: number, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'embedding');
    return embedding(floats(weight, dtype, V * D, 'embedding weight'), V, D, ints(ids, N, 'embedding ids'), N, dtype);
  }

  embeddingBackward(g: Storage, ids: Storage, N: number, V: number, D: number, dtype: FloatDType, skip = -1): Storage {
    countLaunch(this.stats, 'embeddingBackward');
    return embeddingBackward(floats(g, dtype, N * D, 'embeddingBackward g'), ints(ids, N, 'embeddingBackward ids'), N, V, D, dtype, skip);
  }

  // ---- fused neural-network kernels
  softmax(x: Storage, rows: number, cols: number, dtype: FloatDType, log: boolean): Storage {
    const kernel = log ? 'log_softmax' : 'softmax';
    countLaunch(this.stats, kernel);
    return softmax(floats(x, dtype, rows * cols, `${kernel} x`), rows, cols, dtype, log);
  }

  layernorm(x: Storage, gamma: Storage, beta: Storage, rows: number, cols: number, eps: number, dtype: FloatDType):
    { y: Storage; mean: Storage; rstd: Storage } {
    countLaunch(this.stats, 'layernorm');
    return layernorm(
      floats(x, dtype, rows * cols, 'layernorm x'), floats(gamma, dtype, cols, 'layernorm gamma'),
      floats(beta, dtype, cols, 'layernorm beta'), rows, cols, eps, dtype,
    );
  }

  layernormBackward(x: Storage, g: Storage, gamma: Storage, mean: Storage, rstd: Storage, rows: number, cols: number,
    dtype: FloatDType, need: { dx: boolean; dgamma: boolean; dbeta: boolean }): { dx?: Storage; dgamma?: Storage; dbeta?: Storage } {
    countLaunch(this.stats, 'layernormBackward');
    return layernormBackward(
      floats(x, dtype, rows * cols, 'layernormBackward x'), floats(g, dtype, rows * cols, 'layernormBackward g'),
      floats(gamma, dtype, cols, 'layernormBackward gamma'), floats(mean, dtype, rows, 'layernormBackward mean'),
      floats(rstd, dtype, rows, 'layernormBackward rstd'), rows, cols, dtype, need,
    );
  }

  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, ignoreIndex: number, dtype: FloatDType):
    { loss: Storage; valid: Storage } {
    countLaunch(this.stats, 'crossEntropy');
    return crossEntropy(
      floats(logits, dtype, rows * cols, 'crossEntropy logits'), ints(targets, rows, 'crossEntropy targets'),
      rows, cols, ignoreIndex, dtype,
    );
  }

  crossEntropyBackward(logits: Storage, targets: Storage, g: Storage, rows: number, cols: number, ignoreIndex: number,
    dtype: FloatDType): Storage {
    countLaunch(this.stats, 'crossEntropyBackward');
    return crossEntropyBackward(
      floats(logits, dtype, rows * cols, 'crossEntropyBackward logits'), ints(targets, rows, 'crossEntropyBackward targets'),
      floats(g, dtype, rows, 'crossEntropyBackward g'), rows, cols, ignoreIndex, dtype,
    );
  }

  attentionProbs(scores: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): { probs: Storage; softmax?: Storage } {
    countLaunch(this.stats, 'attentionProbs');
    const n = p.B * p.H * p.T * p.S;
    return attentionProbs(floats(scores, dtype, n, 'attentionProbs scores'), floats(keyMask, dtype, p.B * p.S, 'attentionProbs keyMask'), p, dtype);
  }

  attentionProbsBackward(y: Storage, g: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'attentionProbsBackward');
    const n = p.B * p.H * p.T * p.S;
    return attentionProbsBackward(floats(y, dtype, n, 'attentionProbsBackward y'), floats(g, dtype, n, 'attentionProbsBackward g'),
      floats(keyMask, dtype, p.B * p.S, 'attentionProbsBackward keyMask'), p, dtype);
  }

  lstmScan(gx: Storage, whh: Storage, bhh: Storage, p: LstmScanParams, dtype: FloatDType): { h: Storage; c: Storage; acts: Storage } {
    countLaunch(this.stats, 'lstmScan');
    const G = 4 * p.H;
    return lstmScan(floats(gx, dtype, p.N * p.B * p.T * G, 'lstmScan gx'), floats(whh, dtype, p.N * G * p.H, 'lstmScan whh'),
      floats(bhh, dtype, p.N * G, 'lstmScan bhh'), p, dtype);
  }

  lstmScanBackward(g: Storage, c: Storage, acts: Storage, whh: Storage, p: LstmScanParams, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'lstmScanBackward');
    const n = p.N * p.B * p.T;
    return lstmScanBackward(floats(g, dtype, n * p.H, 'lstmScanBackward g'), floats(c, dtype, n * p.H, 'lstmScanBackward c'),
      floats(acts, dtype, n * 4 * p.H, 'lstmScanBackward acts'), floats(whh, dtype, p.N * 4 * p.H * p.H, 'lstmScanBackward whh'), p, dtype);
  }

  dropout(x: Storage, n: number, p: number, seed: number, dtype: FloatDType): Storage {
    countLaunch(this.stats, 'dropout');
    if (!(p >= 0 && p <= 1)) throw new BackendError(`cpu dropout: p = ${p} is outside [0, 1]`);
    return dropout(floats(x, dtype, n, 'dropout x'), n, p, seed, dtype);
  }

  // ---- optimizer updates, in place
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, n: number, p: AdamWParams, dtype: FloatDType): void {
    countLaunch(this.stats, 'adamw');
    adamw(floats(param, dtype, n, 'adamw param'), floats(grad, dtype, n, 'adamw grad'), floats(m, dtype, n, 'adamw m'),
      floats(v, dtype, n, 'adamw v'), n, p);
  }

  sgd(param: Storage, grad: Storage, buf: Storage | null, n: number, p: SgdParams, dtype: FloatDType): void {
    countLaunch(this.stats, 'sgd');
    if (p.momentum !== 0 && buf === null) throw new BackendError('cpu sgd: momentum ≠ 0 needs a momentum buffer (buf is null)');
    sgd(floats(param, dtype, n, 'sgd param'), floats(grad, dtype, n, 'sgd grad'),
      buf === null ? null : floats(buf, dtype, n, 'sgd buf'), n, p);
  }
}

/** The process-wide CPU backend. */
export const cpu = new CpuBackend();
export { setCpuThreads, cpuThreads } from "./pool.js";
export { setStoragePoolLimit, storagePoolInfo } from "./storage.js";
export { cpuMatmulKernel, setCpuMatmulKernel, type CpuMatmulKernel } from "./matmul.js";
