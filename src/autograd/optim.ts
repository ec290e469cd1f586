/**
 * Optimizers hold state only for the tensors they train (`requiresGrad`); a frozen tensor never gets
 * moment buffers. Updates run as one fused kernel per tensor, in place, on the tensor's backend.
 */
import type { FloatDType } from './dtype.js';
import type { Storage } from './backend.js';
import { noGrad } from './op.js';
import { keep, tidy, type Tensor } from './tensor.js';
import { add, div, minimum, mul, scalarLike, sqrt, sumSquares } from './functions.js';

export interface AdamWOptions {
  lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number;
  /** Which tensors decay (default all); HF's Trainer exempts biases and LayerNorm weights — see `decaysLikeHf`. */
  decays?: (t: Tensor) => boolean;
}

/** HF Trainer's rule: no weight decay on biases and LayerNorm weights. */
export const decaysLikeHf = (t: Tensor): boolean => !/(bias|LayerNorm\.weight|ln_\d\.weight|ln_f\.weight)$/.test(t.name ?? '');

abstract class Optimizer {
  readonly params: Tensor[];
  /** Multiplies the base learning rate (set by a schedule each step). */
  lrScale = 1;
  step_ = 0;

  constructor(params: Iterable<Tensor>) {
    this.params = [...params].filter((p) => p.requiresGrad);
    const seen = new Set<Tensor>();
    for (const p of this.params) {
      if (seen.has(p)) throw new Error(`optimizer: ${p.describe()} passed twice`);
      seen.add(p);
    }
  }

  zeroGrad(): void {
    for (const p of this.params) { p.grad?.dispose(); p.grad = null; }
  }

  /** Number of tensors (and elements) holding optimizer state — trainable ones only. */
  abstract stateSize(): { tensors: number; elements: number };
  abstract step(): void;
}

export class AdamW extends Optimizer {
  readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number;
  private readonly decays: (t: Tensor) => boolean;
  /** Per trainable tensor: first and second moments, created on first update. */
  private state = new Map<Tensor, { m: Storage; v: Storage }>();

  /** torch.optim.AdamW semantics (decoupled weight decay, bias-corrected moments; default wd 0.01). */
  constructor(params: Iterable<Tensor>, o: AdamWOptions = {}) {
    super(params);
    this.lr = o.lr ?? 1e-3;
    [this.beta1, this.beta2] = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0.01;
    this.decays = o.decays ?? (() => true);
  }

  step(): void {
    this.step_++;
    const bias1 = 1 - this.beta1 ** this.step_;
    const bias2 = 1 - this.beta2 ** this.step_;
    for (const p of this.params) {
      if (!p.grad) continue;
      let s = this.state.get(p);
      if (!s) {
        s = { m: p.backend.zeros(p.size, p.dtype), v: p.backend.zeros(p.size, p.dtype) };
        this.state.set(p, s);
      }
      p.backend.adamw(p.storage, p.grad.storage, s.m, s.v, p.size, {
        lr: this.lr * this.lrScale, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.decays(p) ? this.weightDecay : 0, bias1, bias2,
      }, p.dtype as FloatDType);
    }
  }

  stateSize() {
    let elements = 0;
    for (const p of this.state.keys()) elements += 2 * p.size;
    return { tensors: this.state.size, elements };
  }

  /** Moments as plain arrays, for checkpoints that resume training. */
  async exportState(): Promise<{ step: number; moments: Map<Tensor, { m: Float32Array | Float64Array; v: Float32Array | Float64Array }> }> {
    const moments = new Map();
    for (const [p, s] of this.state) {
      moments.set(p, { m: await p.backend.read(s.m, p.size, p.dtype), v: await p.backend.read(s.v, p.size, p.dtype) });
    }
    return { step: this.step_, moments };
  }

  importState(step: number, moments: Map<Tensor, { m: ArrayLike<number>; v: ArrayLike<number> }>): void {
    this.step_ = step;
    for (const [p, s] of moments) {
      const typed = (a: ArrayLike<number>) => (p.dtype === 'f64' ? Float64Array.from(a) : Float32Array.from(a));
      this.state.set(p, { m: p.backend.upload(typed(s.m), p.dtype), v: p.backend.upload(typed(s.v), p.dtype) });
    }
  }

  dispose(): void {
    for (const [p, s] of this.state) { p.backend.release(s.m); p.backend.release(s.v); }
    this.state.clear();
  }
}

export interface SgdOptions { lr?: number; momentum?: number; weightDecay?: number; dampening?: number; nesterov?: boolean }

/** torch.optim.SGD semantics; the momentum buffer exists only when momentum > 0. */
export class SGD extends Optimizer {
  readonly o: Required<SgdOptions>;
  private buffers = new Map<Tensor, Storage>();

  constructor(params: Iterable<Tensor>, o: SgdOptions = {}) {
    super(params);
    this.o = { lr: 1e-2, momentum: 0, weightDecay: 0, dampening: 0, nesterov: false, ...o };
  }

  step(): void {
    this.step_++;
    for (const p of this.params) {
      if (!p.grad) continue;
      let buf: Storage | null = null;
      if (this.o.momentum > 0) {
        buf = this.buffers.get(p) ?? null;
        if (!buf) { buf = p.backend.zeros(p.size, p.dtype); this.buffers.set(p, buf); }
      }
      // torch initialises the buffer with the first gradient (no dampening on step 1)
      const dampening = this.step_ === 1 ? 0 : this.o.dampening;
      p.backend.sgd(p.storage, p.grad.storage, buf, p.size, { ...this.o, dampening, lr: this.o.lr * this.lrScale }, p.dtype as FloatDType);
    }
  }

  stateSize() {
    let elements = 0;
    for (const p of this.buffers.keys()) elements += p.size;
    return { tensors: this.buffers.size, elements };
  }
}

/**
 * Scales all gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_).
 * Runs on the device: the norm is a scalar tensor, never read back. Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor | null {
  const withGrad = [...params].filter((p) => p.grad);
  if (withGrad.length === 0) return null;
  return noGrad(() => tidy(() => scaleToNorm(withGrad, withGrad.map((p) => sumSquares(p.grad!)), maxNorm)));
}

/**
 * The scaling step of clipGradNorm, for callers that already hold each gradient's Σg² (the trainer reads them back
 * to name a non-finite tensor): multiplies every gradient by min(1, maxNorm / (‖g‖ + 1e-6)); returns ‖g‖.
 * Call inside noGrad + tidy.
 */
export function scaleToNorm(withGrad: readonly Tensor[], squares: readonly Tensor[], maxNorm: number): Tensor {
  const total = sqrt(squares.reduce((a, b) => add(a, b)));
  const coef = minimum(div(scalarLike(total, maxNorm), add(total, 1e-6)), scalarLike(total, 1));
  for (const p of withGrad) {
    const scaled = keep(mul(p.grad!, coef));
    p.grad!.dispose();
    p.grad = scaled;
  }
  return total;
}

/** Linear warm-up from 0 over `warmup` steps, then linear decay to 0 at `total` (transformers' default). */
export function linearSchedule(warmup: number, total: number): (step: number) => number {
  return (step) => {
    if (step < warmup) return (step + 1) / Math.max(1, warmup);
    return Math.max(0, (total - step) / Math.max(1, total - warmup));
  };
}
