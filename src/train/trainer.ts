/**
 * The training loop every command uses: one tidy scope per step (forward, backward, gradient masks,
 * clipping, AdamW with a linear warm-up/decay schedule); the loss and the gradient norm are the only values
 * read back (one readback, one queue submission per step), so a non-finite one stops training at its step.
 *
 * Steps are absolute: a resumed run continues at `resume.step` with the schedule built over the whole run's
 * `config.steps`, the batch and dropout seeds of step s, and AdamW's saved step count and moments — so k steps
 * and a resume for the rest equal one uninterrupted run bit for bit (test/train-resume.test.ts).
 */
import type { Backend } from '../autograd/backend.js';
import { tensor } from '../autograd/create.js';
import type { FloatDType } from '../autograd/dtype.js';
import { AdamW, decaysLikeHf, linearSchedule, scaleToNorm } from '../autograd/optim.js';
import { concat, reshape, sumSquares } from '../autograd/functions.js';
import { noGrad } from '../autograd/op.js';
import { AnomalyError } from '../autograd/anomaly.js';
import { backward } from '../autograd/tape.js';
import { keep, tidy, type Tensor } from '../autograd/tensor.js';
import type { Batch } from '../data/datasets.js';

export interface TrainConfig {
  /** Total steps of the run (the schedule decays to 0 at the last one), including steps done before a resume. */
  steps: number;
  lr: number;
  /** Warm-up steps (default 6 % of steps). */
  warmup?: number;
  weightDecay?: number;
  /** Max global gradient norm (default 1, as HF's Trainer; 0 = off). */
  clip?: number;
  /** AdamW's second-moment decay (default 0.999). */
  beta2?: number;
  seed?: number;
}

export interface StepLog { step: number; loss: number; lr: number; seconds: number }

export interface TrainJob {
  trainable: Tensor[];
  /** The batch of step s. */
  batch: (step: number) => Batch;
  /** Builds the loss of a batch (a fresh graph each call). */
  loss: (batch: Batch, step: number) => Tensor;
  /** After backward, before clipping. (PEFT's gradient masks need nothing here: PeftModel sets them as tensor hooks.) */
  afterBackward?: () => void;
  config: TrainConfig;
  /** After each step; a returned promise is awaited before the next (a page paints there; nothing numeric changes). */
  onStep?: (log: StepLog) => unknown;
  /** Continue a saved run at `step`: AdamW's step count and moments (see train/adapter-dir.ts). */
  resume?: { step: number; optimizerStep: number; moments: Map<Tensor, { m: ArrayLike<number>; v: ArrayLike<number> }> };
  /** Stop before this step (a checkpoint to resume from later); default config.steps. */
  stopAt?: number;
  /**
   * Awaited after each step with the number of steps done; returning true stops the run there (early stopping: the
   * schedule still spans config.steps, as with HF's EarlyStoppingCallback).
   */
  after?: (stepsDone: number) => Promise<boolean> | boolean;
  /** Save the run every `every` steps (steps done, the optimizer); a step that then fails names the last save. */
  checkpoint?: { every: number; save: (stepsDone: number, optimizer: AdamW) => Promise<void> };
}

/** A step failed (a lost device, …) after checkpoints were being written: the step, the last saved step, the cause. */
export class TrainingInterruptedError extends Error {
  override name = 'TrainingInterruptedError';
  constructor(readonly step: number, readonly lastSaved: number | null, readonly failure: Error) {
    super(`step ${step}: ${failure.message}`);
  }
}

/** Training met a NaN or ±Inf: the step and what held it (the loss, or the gradient of a named tensor). */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  constructor(readonly step: number, readonly what: string, message: string) { super(message); }
}

export interface TrainResult { losses: number[]; seconds: number; optimizer: AdamW }

export async function trainLoop(job: TrainJob): Promise<TrainResult> {
  const c = job.config;
  if (job.trainable.length === 0) throw new Error('nothing to train: every parameter is frozen');
  const opt = new AdamW(job.trainable, { lr: c.lr, betas: [0.9, c.beta2 ?? 0.999], weightDecay: c.weightDecay ?? 0.01, decays: decaysLikeHf });
  if (job.resume) opt.importState(job.resume.optimizerStep, job.resume.moments);
  const schedule = linearSchedule(warmupSteps(c), c.steps);
  const losses: number[] = [];
  const start = performance.now();
  const first = job.resume?.step ?? 0;
  const stopAt = Math.min(job.stopAt ?? c.steps, c.steps);
  let lastSaved: number | null = job.resume ? first : null;
  for (let step = first; step < stopAt; step++) {
    try {
      await runStep(step);
    } catch (e) {
      if (!job.checkpoint || e instanceof NonFiniteError) throw e;
      throw new TrainingInterruptedError(step, lastSaved, e as Error);
    }
    if (job.checkpoint && (step + 1) % job.checkpoint.every === 0 && step + 1 < stopAt) {
      await job.checkpoint.save(step + 1, opt);
      lastSaved = step + 1;
    }
    if (job.after && await job.after(step + 1)) break;
  }
  return { losses, seconds: (performance.now() - start) / 1000, optimizer: opt };

  async function runStep(step: number): Promise<void> {
    const batch = job.batch(step);
    let loss: Tensor;
    try {
      loss = tidy(() => {
        const l = job.loss(batch, step);
        backward(l);
        return keep(l.detach());
      });
    } catch (e) {
      opt.zeroGrad();
      if (e instanceof AnomalyError) throw new NonFiniteError(step, e.where, `step ${step}: ${e.message}`);
      throw e;
    }
    job.afterBackward?.();
    // one readback per step, after the update is queued: [loss, Σg² of each trainable tensor]
    const probe = clipAndProbe(job.trainable, loss, c.clip ?? 1);
    loss.dispose();
    opt.lrScale = schedule(step);
    opt.step();
    const values = await probe.tensor.data();
    probe.tensor.dispose();
    opt.zeroGrad();
    const value = values[0];
    const bad = probe.tensors.findIndex((_, i) => !Number.isFinite(values[i + 1]));
    if (!Number.isFinite(value)) {
      throw new NonFiniteError(step, 'loss', `step ${step}: the loss is ${value}; training stopped (the weights in memory took this step; nothing was saved). Lower the learning rate, or run with --detect-anomaly`);
    }
    if (bad >= 0) {
      const name = probe.tensors[bad].name ?? probe.tensors[bad].describe();
      throw new NonFiniteError(step, name, `step ${step}: the gradient of ${name} is not finite (Σg² = ${values[bad + 1]}); training stopped (the weights in memory took this step; nothing was saved)`);
    }
    losses.push(value);
    await job.onStep?.({ step, loss: value, lr: c.lr * opt.lrScale, seconds: (performance.now() - start) / 1000 });
  }
}

/** Warm-up steps of a run: `warmup`, default 6 % of all its steps. */
export const warmupSteps = (c: TrainConfig): number => c.warmup ?? Math.round(0.06 * c.steps);

/**
 * Clips the gradients to a global L2 norm of `clip` (torch.nn.utils.clip_grad_norm_, as `clipGradNorm`; 0 = off)
 * and returns, as one device tensor, the loss and each gradient's Σg² taken before clipping — so a NaN or ±Inf
 * is seen, and its tensor named, in the step's single readback.
 */
function clipAndProbe(trainable: Tensor[], loss: Tensor, clip: number): { tensor: Tensor; tensors: Tensor[] } {
  const withGrad = trainable.filter((t) => t.grad);
  const probe = noGrad(() => tidy(() => {
    // one pass per gradient (sum_squares), shared with clipGradNorm's scaling
    const squares = withGrad.map((t) => sumSquares(t.grad!));
    if (clip > 0 && squares.length > 0) scaleToNorm(withGrad, squares, clip);
    return concat([loss, ...squares].map((x) => reshape(x, [1])), 0);
  }));
  return { tensor: probe, tensors: withGrad };
}

/** A data batch as tensors on a backend: ids and labels i32, the mask in the model's float dtype. */
export function batchTensors(b: Batch, backend: Backend, dtype: FloatDType): { ids: Tensor; attentionMask: Tensor; labels: Tensor } {
  return {
    ids: tensor(b.ids, b.shape, { backend, dtype: 'i32' }),
    attentionMask: tensor(b.attentionMask, b.shape, { backend, dtype }),
    labels: tensor(b.labels, b.labelShape, { backend, dtype: 'i32' }),
  };
}
