/**
 * The WebGPU backend: the `Backend` kernel interface on WGSL compute shaders (Dawn in Node, navigator.gpu in
 * the browser). Tensors stay on the GPU; only `read` copies back. Kernels are encoded into one command encoder
 * and submitted on `flush`, on `read`, or every 256 dispatches (see runtime.ts). Computes in f32 (i32 for ids).
 */
import { envVar } from '../env.js';
import {
  BackendError, countLaunch, newStats, type AdamWParams, type AttentionProbsParams, type Backend, type BinaryOp, type KernelStats,
  type LinearParams, type LstmScanParams, type MatmulParams, type ReduceOp, type SgdParams, type Storage, type UnaryOp,
} from '../../autograd/backend.js';
import type { DType, FloatDType, TypedArray } from '../../autograd/dtype.js';
import type { Shape } from '../../autograd/shape.js';
import { binary } from './binary.js';
import { cast } from './cast.js';
import { crossEntropy, crossEntropyBackward } from './cross-entropy.js';
import { requestGpu, type GpuContext, type GpuOptions } from './device.js';
import { dropout } from './dropout.js';
import { embedding, embeddingBackward } from './embedding.js';
import { layernorm, layernormBackward } from './layernorm.js';
import { linear } from './linear.js';
import { attentionProbs, attentionProbsBackward } from './attention-probs.js';
import { lstmScan, lstmScanBackward } from './lstm.js';
import { sumSquares } from './sum-squares.js';
import { matmul, type MatmulKernel } from './matmul.js';
import { adamw, sgd } from './optim.js';
import { permute } from './permute.js';
import { reduce } from './reduce.js';
import { GpuRuntime, GpuStorage } from './runtime.js';
import type { RowKernel } from './shader.js';
import { slice, writeRegion } from './slice.js';
import { softmax } from './softmax.js';
import { geluWithGrad, unary } from './unary.js';
import { where } from './where.js';

export { GpuUnavailableError, GpuDeviceError, requestGpu, type GpuOptions } from './device.js';
export { GpuStorage } from './runtime.js';
export type { MatmulKernel } from './matmul.js';
export type { RowKernel } from './shader.js';

export interface WebGpuBackendOptions extends GpuOptions {
  /** 'register' (4×4 blocks in registers, best on software adapters) or 'tiled' (workgroup memory). */
  matmul?: MatmulKernel;
  /** Row kernels (softmax, layernorm): 'thread' (a row per thread, software adapters) or 'workgroup' (a row per workgroup). */
  rows?: RowKernel;
}

/**
 * Kernel variants by adapter kind, each overridable by option or by the environment (WEBPEFT_MATMUL, WEBPEFT_ROWS)
 * so a bench can compare them. Software adapters run workgroups as CPU threads, where barriers and workgroup
 * memory cost more than they save: no-barrier variants there.
 */
export function defaultVariants(software: boolean, opts: WebGpuBackendOptions = {}): { matmul: MatmulKernel; rows: RowKernel } {
  const matmul = opts.matmul ?? (envVar('WEBPEFT_MATMUL') as MatmulKernel | undefined) ?? 'register';
  const rows = opts.rows ?? (envVar('WEBPEFT_ROWS') as RowKernel | undefined) ?? (software ? 'thread' : 'workgroup');
  if (matmul !== 'register' && matmul !== 'tiled') throw new BackendError(`webgpu: unknown matmul kernel '${matmul as string}' (register or tiled)`);
  if (rows !== 'thread' && rows !== 'workgroup') throw new BackendError(`webgpu: unknown row kernel '${rows as string}' (thread or workgroup)`);
  return { matmul, rows };
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly dtypes: readonly DType[] = ['f32', 'i32'];
  readonly stats: KernelStats = newStats();
  /** Which matmul kernel runs; may be switched at any time. */
  matmulKernel: MatmulKernel;
  /** Which row kernel (softmax, layernorm) runs; may be switched at any time. */
  rowKernel: RowKernel;
  /** Optional adapter features, enabled when present (no kernel requires them). */
  readonly features: GpuContext['features'];
  readonly rt: GpuRuntime;
  private destroyed = false;

  private constructor(readonly ctx: GpuContext, opts: WebGpuBackendOptions) {
    this.rt = new GpuRuntime(ctx, this.stats);
    this.features = ctx.features;
    const variants = defaultVariants(ctx.software, opts);
    this.matmulKernel = variants.matmul;
    this.rowKernel = variants.rows;
  }

  /** Acquires a device (throws GpuUnavailableError when there is no adapter). */
  static async create(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(await requestGpu(opts), opts);
  }

  describe(): string { return `WebGPU: ${this.ctx.description}`; }

  /** Destroys the device (a Node process with a live device does not exit). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.rt.destroy();
  }

  // ---- memory

  zeros(n: number, dtype: DType): Storage {
    this.check(dtype);
    return this.rt.zeros(n * 4);
  }

  upload(data: TypedArray, dtype: DType): Storage {
    this.check(dtype);
    // like the CPU backend, upload converts to the storage dtype
    const typed = dtype === 'i32'
      ? (data instanceof Int32Array ? data : Int32Array.from(data))
      : (data instanceof Float32Array ? data : Float32Array.from(data));
    return this.rt.upload(typed);
  }

  async read(s: Storage, n: number, dtype: DType): Promise<TypedArray> {
    this.check(dtype, false); // rt.read checks the device once pending shader validation has reported
    const bytes = await this.rt.read(gpu(s), n * 4);
    return dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  readSync(_s: Storage, _n: number, _dtype: DType): TypedArray {
    throw new BackendError('webgpu: tensors cannot be read synchronously; use `await tensor.data()`');
  }

  release(s: Storage): void {
    if (!(s instanceof GpuStorage)) throw new BackendError('webgpu: expected a storage of the webgpu backend');
    if (!this.destroyed) this.rt.release(s);
  }

  flush(): void {
    this.check();
    this.rt.submit();
  }

  // ---- elementwise

  unary(op: UnaryOp, x: Storage, n: number, dtype: FloatDType, param?: number): Storage {
    this.launch(`unary:${op}`, dtype);
    return unary(this.rt, op, gpu(x), n, param);
  }

  geluWithGrad(op: 'gelu_erf' | 'gelu_tanh', x: Storage, n: number, dtype: FloatDType): { y: Storage; dydx: Storage } {
    this.launch(`unary:${op}+grad`, dtype);
    return geluWithGrad(this.rt, op, gpu(x), n);
  }

  binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: FloatDType): Storage {
    this.launch(`binary:${op}`, dtype);
    return binary(this.rt, op, gpu(a), aShape, gpu(b), bShape, outShape);
  }

  where(cond: Storage, cShape: Shape, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape,
    dtype: FloatDType): Storage {
    this.launch('where', dtype);
    return where(this.rt, gpu(cond), cShape, gpu(a), aShape, gpu(b), bShape, outShape);
  }

  cast(x: Storage, n: number, from: DType, to: DType): Storage {
    this.check(from);
    this.launch('cast', to);
    return cast(this.rt, gpu(x), n, from, to);
  }

  // ---- reductions

  reduce(op: ReduceOp, x: Storage, shape: Shape, axes: readonly number[], dtype: FloatDType): Storage {
    this.launch(`reduce:${op}`, dtype);
    return reduce(this.rt, op, gpu(x), shape, axes);
  }

  sumSquares(x: Storage, n: number, dtype: FloatDType): Storage {
    this.launch('sumSquares', dtype);
    return sumSquares(this.rt, gpu(x), n);
  }

  // ---- linear algebra and layout

  matmul(a: Storage, b: Storage, p: MatmulParams, dtype: FloatDType): Storage {
    this.launch('matmul', dtype);
    return matmul(this.rt, gpu(a), gpu(b), p, this.matmulKernel);
  }

  linear(x: Storage, w: Storage, bias: Storage, p: LinearParams, dtype: FloatDType): Storage {
    this.launch('linear', dtype);
    return linear(this.rt, gpu(x), gpu(w), gpu(bias), p, this.matmulKernel);
  }

  permute(x: Storage, shape: Shape, perm: readonly number[], dtype: DType): Storage {
    this.launch('permute', dtype);
    return permute(this.rt, gpu(x), shape, perm);
  }

  slice(x: Storage, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): Storage {
    this.launch('slice', dtype);
    return slice(this.rt, gpu(x), shape, begin, size);
  }

  writeRegion(dst: Storage, dstShape: Shape, src: Storage, srcShape: Shape, begin: readonly number[], dtype: DType): void {
    this.launch('writeRegion', dtype);
    writeRegion(this.rt, gpu(dst), dstShape, gpu(src), srcShape, begin);
  }

  // ---- indexing

  embedding(weight: Storage, V: number, D: number, ids: Storage, N: number, dtype: FloatDType): Storage {
    this.launch('embedding', dtype);
    return embedding(this.rt, gpu(weight), V, D, gpu(ids), N);
  }

  embeddingBackward(g: Storage, ids: Storage, N: number, V: number, D: number, dtype: FloatDType, skip = -1): Storage {
    this.launch('embeddingBackward', dtype);
    return embeddingBackward(this.rt, gpu(g), gpu(ids), N, V, D, skip);
  }

  // ---- fused neural-network kernels

  softmax(x: Storage, rows: number, cols: number, dtype: FloatDType, log: boolean): Storage {
    this.launch(log ? 'log_softmax' : 'softmax', dtype);
    return softmax(this.rt, gpu(x), rows, cols, log, this.rowKernel);
  }

  layernorm(x: Storage, gamma: Storage, beta: Storage, rows: number, cols: number, eps: number, dtype: FloatDType):
    { y: Storage; mean: Storage; rstd: Storage } {
    this.launch('layernorm', dtype);
    return layernorm(this.rt, gpu(x), gpu(gamma), gpu(beta), rows, cols, eps, this.rowKernel);
  }

  layernormBackward(x: Storage, g: Storage, gamma: Storage, mean: Storage, rstd: Storage, rows: number, cols: number,
    dtype: FloatDType, need: { dx: boolean; dgamma: boolean; dbeta: boolean }):
    { dx?: Storage; dgamma?: Storage; dbeta?: Storage } {
    this.launch('layernormBackward', dtype);
    return layernormBackward(this.rt, gpu(x), gpu(g), gpu(gamma), gpu(mean), gpu(rstd), rows, cols, need, this.rowKernel);
  }

  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, ignoreIndex: number, dtype: FloatDType):
    { loss: Storage; valid: Storage } {
    this.launch('crossEntropy', dtype);
    return crossEntropy(this.rt, gpu(logits), gpu(targets), rows, cols, ignoreIndex);
  }

  crossEntropyBackward(logits: Storage, targets: Storage, g: Storage, rows: number, cols: number, ignoreIndex: number,
    dtype: FloatDType): Storage {
    this.launch('crossEntropyBackward', dtype);
    return crossEntropyBackward(this.rt, gpu(logits), gpu(targets), gpu(g), rows, cols, ignoreIndex);
  }

  attentionProbs(scores: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): { probs: Storage; softmax?: Storage } {
    this.launch('attentionProbs', dtype);
    return attentionProbs(this.rt, gpu(scores), gpu(keyMask), p, this.rowKernel);
  }

  attentionProbsBackward(y: Storage, g: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): Storage {
    this.launch('attentionProbsBackward', dtype);
    return attentionProbsBackward(this.rt, gpu(y), gpu(g), gpu(keyMask), p, this.rowKernel);
  }

  lstmScan(gx: Storage, whh: Storage, bhh: Storage, p: LstmScanParams, dtype: FloatDType): { h: Storage; c: Storage; acts: Storage } {
    this.launch('lstmScan', dtype);
    return lstmScan(this.rt, gpu(gx), gpu(whh), gpu(bhh), p);
  }

  lstmScanBackward(g: Storage, c: Storage, acts: Storage, whh: Storage, p: LstmScanParams, dtype: FloatDType): Storage {
    this.launch('lstmScanBackward', dtype);
    return lstmScanBackward(this.rt, gpu(g), gpu(c), gpu(acts), gpu(whh), p);
  }

  dropout(x: Storage, n: number, p: number, seed: number, dtype: FloatDType): Storage {
    this.launch('dropout', dtype);
    return dropout(this.rt, gpu(x), n, p, seed);
  }

  // ---- optimizer updates

  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, n: number, p: AdamWParams, dtype: FloatDType): void {
    this.launch('adamw', dtype);
    adamw(this.rt, gpu(param), gpu(grad), gpu(m), gpu(v), n, p);
  }

  sgd(param: Storage, grad: Storage, buf: Storage | null, n: number, p: SgdParams, dtype: FloatDType): void {
    this.launch('sgd', dtype);
    sgd(this.rt, gpu(param), gpu(grad), buf === null ? null : gpu(buf), n, p);
  }

  // ---- helpers

  /** Counts a kernel call (one per backend call, as on the CPU; see rt.dispatches for GPU dispatches). */
  private launch(kernel: string, dtype: DType): void {
    this.check(dtype);
    countLaunch(this.stats, kernel);
  }

  private check(dtype?: DType, device = true): void {
    if (this.destroyed) throw new BackendError('webgpu: the backend was destroyed');
    if (dtype === 'f64') throw new BackendError('webgpu: f64 is not supported (the WebGPU backend computes in f32)');
    if (device) this.rt.check();
  }
}

function gpu(s: Storage): GpuStorage {
  if (!(s instanceof GpuStorage)) throw new BackendError('webgpu: expected a storage of the webgpu backend');
  if (s.released) throw new BackendError('webgpu: storage used after release');
  return s;
}
