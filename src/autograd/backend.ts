import type { DType, FloatDType, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';

/**
 * The kernel interface every backend implements (src/kernels/cpu, src/kernels/wgsl).
 * Kernels take contiguous row-major storages plus the metadata they need and return new storages;
 * the few in-place kernels (writeRegion, optimizer updates) say so. Same names, same semantics on
 * every backend: the CPU backend is the reference the WebGPU backend is tested against.
 *
 * A Storage is opaque to the engine (a typed array on the CPU, a GPUBuffer on WebGPU); the tensor
 * layer counts references and calls `release` when the last tensor viewing it is disposed.
 */
export type Storage = unknown;

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'square'
  | 'gelu_tanh' // GPT-2's gelu_new: 0.5x(1+tanh(√(2/π)(x+0.044715x³)))
  | 'gelu_erf' // BERT's gelu: 0.5x(1+erf(x/√2))
  | 'erf'
  | 'mul_scalar' | 'add_scalar' | 'pow_scalar'; // x·p, x+p, x^p with the scalar `param`

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'gt' | 'lt' // comparisons give 1 or 0 in the float dtype
  // gradient helpers: first operand is the saved forward value, second the incoming gradient
  | 'relu_grad' // g·[x>0]
  | 'gelu_tanh_grad' | 'gelu_erf_grad' // g·gelu'(x)
  | 'tanh_grad' // y=tanh(x): g·(1−y²)
  | 'sigmoid_grad'; // y=σ(x): g·y(1−y)

export type ReduceOp = 'sum' | 'max';

export interface MatmulParams {
  /** Batch dims of each operand (broadcast against each other) and of the output. */
  batchA: Shape; batchB: Shape; batchOut: Shape;
  /** out (…, M, N) = op(A) (…, M, K) @ op(B) (…, K, N); A is stored (…, K, M) when transA, B (…, N, K) when transB. */
  M: number; K: number; N: number;
  transA: boolean; transB: boolean;
}

/** out (rows, N) = x (rows, K) @ op(W) + bias (N); W is stored (K, N), or (N, K) when transW (nn.Linear's layout). */
export interface LinearParams { rows: number; K: number; N: number; transW: boolean }

/**
 * Attention probabilities over scores (B, H, T, S): probs = dropout(softmax(v)) with v = fill where key j is
 * blocked for query i (keyMask[b, j] = 0, or with `causal` j > S − T + i), else scores · scale; the dropout mask
 * is the one `dropout` draws for the (B, H, T, S) tensor from `seed`.
 */
export interface AttentionProbsParams {
  B: number; H: number; T: number; S: number;
  scale: number; causal: boolean; p: number; seed: number;
  /** What blocked scores become (the dtype's most negative finite value, as HF). */
  fill: number;
}

/**
 * An LSTM recurrence (lstm_scan): N independent recurrences (the two directions of a bidirectional layer, say),
 * each with its own W_hh (4H, H) and b_hh (4H), over B sequences of T steps, from h₀ = c₀ = 0. PyTorch's gate order
 * i, f, g, o; gates_t = gx_t + (h_{t−1} W_hhᵀ + b_hh), gx the input products x W_ihᵀ + b_ih computed before.
 */
export interface LstmScanParams { N: number; B: number; T: number; H: number }

export interface AdamWParams {
  lr: number; beta1: number; beta2: number; eps: number; weightDecay: number;
  /** 1 − β1^t and 1 − β2^t for bias correction at this step. */
  bias1: number; bias2: number;
}

export interface SgdParams { lr: number; momentum: number; weightDecay: number; dampening: number; nesterov: boolean }

export interface KernelStats {
  /** Kernel launches by kernel name (a CPU call or a GPU dispatch). */
  launches: Map<string, number>;
  /** Queue submissions (WebGPU) — the CPU backend leaves it at 0. */
  submits: number;
  /** Reads of data back to the host. */
  readbacks: number;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu';
  /** Float dtypes this backend computes in. */
  readonly dtypes: readonly DType[];
  readonly stats: KernelStats;
  /** A human-readable description of the device (adapter name on WebGPU). */
  describe(): string;

  // ---- memory
  zeros(n: number, dtype: DType): Storage;
  upload(data: TypedArray, dtype: DType): Storage;
  read(s: Storage, n: number, dtype: DType): Promise<TypedArray>;
  /** Synchronous read; backends that cannot (WebGPU) throw. */
  readSync(s: Storage, n: number, dtype: DType): TypedArray;
  release(s: Storage): void;
  /** Finish queued work (submit on WebGPU). */
  flush(): void;

  // ---- elementwise
  unary(op: UnaryOp, x: Storage, n: number, dtype: FloatDType, param?: number): Storage;
  /**
   * A GELU and its derivative in one pass, for a forward that the tape records: y = unary(op, x) exactly, and
   * dydx = gelu′(x) as stored in the dtype (the backward then multiplies g by it instead of evaluating gelu′ again).
   */
  geluWithGrad(op: 'gelu_erf' | 'gelu_tanh', x: Storage, n: number, dtype: FloatDType): { y: Storage; dydx: Storage };
  binary(op: BinaryOp, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: FloatDType): Storage;
  /** out = cond ≠ 0 ? a : b, all three broadcast to outShape; cond has the float dtype. */
  where(cond: Storage, cShape: Shape, a: Storage, aShape: Shape, b: Storage, bShape: Shape, outShape: Shape, dtype: FloatDType): Storage;
  cast(x: Storage, n: number, from: DType, to: DType): Storage;

  // ---- reductions: output has `shape` with every axis in `axes` set to 1
  reduce(op: ReduceOp, x: Storage, shape: Shape, axes: readonly number[], dtype: FloatDType): Storage;

  /** Σ x² over all n elements, as a one-element storage (gradient norms without a squared copy). */
  sumSquares(x: Storage, n: number, dtype: FloatDType): Storage;

  // ---- linear algebra and layout
  matmul(a: Storage, b: Storage, p: MatmulParams, dtype: FloatDType): Storage;
  /** A matmul with the bias added as it is stored: one pass over the output instead of two. */
  linear(x: Storage, w: Storage, bias: Storage, p: LinearParams, dtype: FloatDType): Storage;
  /** out = x with axes permuted: out.shape[i] = shape[perm[i]]. */
  permute(x: Storage, shape: Shape, perm: readonly number[], dtype: DType): Storage;
  slice(x: Storage, shape: Shape, begin: readonly number[], size: readonly number[], dtype: DType): Storage;
  /** In place: dst[begin + i] = src[i] for every index i of srcShape. */
  writeRegion(dst: Storage, dstShape: Shape, src: Storage, srcShape: Shape, begin: readonly number[], dtype: DType): void;

  // ---- indexing
  /** out (N, D) = weight (V, D) rows at ids (N) i32. An id outside [0, V) is an error on the CPU, zeros on WebGPU. */
  embedding(weight: Storage, V: number, D: number, ids: Storage, N: number, dtype: FloatDType): Storage;
  /** Scatter-add: out (V, D) with out[ids[n]] += g[n]. */
  /** dweight (V, D) = Σ_n g[n] at row ids[n]; positions with id `skip` (a padding row; −1: none) add nothing. */
  embeddingBackward(g: Storage, ids: Storage, N: number, V: number, D: number, dtype: FloatDType, skip?: number): Storage;

  // ---- fused neural-network kernels (over the last axis, `rows` × `cols`)
  softmax(x: Storage, rows: number, cols: number, dtype: FloatDType, log: boolean): Storage;
  layernorm(x: Storage, gamma: Storage, beta: Storage, rows: number, cols: number, eps: number, dtype: FloatDType):
    { y: Storage; mean: Storage; rstd: Storage };
  layernormBackward(x: Storage, g: Storage, gamma: Storage, mean: Storage, rstd: Storage, rows: number, cols: number,
    dtype: FloatDType, need: { dx: boolean; dgamma: boolean; dbeta: boolean }):
    { dx?: Storage; dgamma?: Storage; dbeta?: Storage };
  /** Per-row −log softmax(logits)[target]; rows whose target is ignoreIndex get loss 0 and valid 0, others valid 1. */
  crossEntropy(logits: Storage, targets: Storage, rows: number, cols: number, ignoreIndex: number, dtype: FloatDType):
    { loss: Storage; valid: Storage };
  /** dlogits = g[row] · (softmax(logits) − onehot(target)), zero on ignored rows. */
  crossEntropyBackward(logits: Storage, targets: Storage, g: Storage, rows: number, cols: number, ignoreIndex: number,
    dtype: FloatDType): Storage;
  /** probs and, when p > 0, the softmax before dropout (backward's y); see AttentionProbsParams. One pass. */
  attentionProbs(scores: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): { probs: Storage; softmax?: Storage };
  /** dscores = scale·y⊙(gd − Σ gd⊙y), gd = dropout(g) with the forward's mask, 0 at blocked keys; y = softmax. */
  attentionProbsBackward(y: Storage, g: Storage, keyMask: Storage, p: AttentionProbsParams, dtype: FloatDType): Storage;
  /**
   * The recurrence of LstmScanParams, one launch for all T steps: h (N, B, T, H), and for backward the cell states
   * c (N, B, T, H) and the gate activations acts (N, B, T, 4H) = σ(i), σ(f), tanh(g), σ(o).
   */
  lstmScan(gx: Storage, whh: Storage, bhh: Storage, p: LstmScanParams, dtype: FloatDType): { h: Storage; c: Storage; acts: Storage };
  /**
   * Backpropagation through the recurrence, T steps back in one launch: dgates (N, B, T, 4H) = ∂L/∂gates_t (which is
   * ∂L/∂gx; dW_hh and db_hh follow from it by a matmul and a sum) from g = ∂L/∂h (N, B, T, H) and the forward's c, acts.
   */
  lstmScanBackward(g: Storage, c: Storage, acts: Storage, whh: Storage, p: LstmScanParams, dtype: FloatDType): Storage;
  /** x · keep / (1 − p) with keep = hash(seed, index) ≥ p — the same mask on every backend (see kernels/rng). */
  dropout(x: Storage, n: number, p: number, seed: number, dtype: FloatDType): Storage;

  // ---- optimizer updates, in place on param/m/v (or param/buf)
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, n: number, p: AdamWParams, dtype: FloatDType): void;
  sgd(param: Storage, grad: Storage, buf: Storage | null, n: number, p: SgdParams, dtype: FloatDType): void;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

export function countLaunch(stats: KernelStats, kernel: string): void {
  stats.launches.set(kernel, (stats.launches.get(kernel) ?? 0) + 1);
}

export function newStats(): KernelStats {
  return { launches: new Map(), submits: 0, readbacks: 0 };
}
