/**
 * The training loop every command uses: one tidy scope per step (forward, backward, gradient masks,
 * clipping, AdamW with a linear warm-up/decay schedule); the loss is the only value read back.
 */
import type { Backend } from '../autograd/backend.js';
import { tensor } from '../autograd/create.js';
import type { FloatDType } from '../autograd/dtype.js';
import { AdamW, clipGradNorm, decaysLikeHf, linearSchedule } from '../autograd/optim.js';
import { backward } from '../autograd/tape.js';
import { keep, tidy, type Tensor } from '../autograd/tensor.js';
import type { Batch } from '../data/datasets.js';

export interface TrainConfig {
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
  onStep?: (log: StepLog) => void;
  /** Continue a saved run: AdamW's step count and moments (see train/adapter-dir.ts). */
  resume?: { step: number; moments: Map<Tensor, { m: ArrayLike<number>; v: ArrayLike<number> }> };
}

export interface TrainResult { losses: number[]; seconds: number; optimizer: AdamW }

export async function trainLoop(job: TrainJob): Promise<TrainResult> {
  const c = job.config;
  if (job.trainable.length === 0) throw new Error('nothing to train: every parameter is frozen');
  const opt = new AdamW(job.trainable, { lr: c.lr, betas: [0.9, c.beta2 ?? 0.999], weightDecay: c.weightDecay ?? 0.01, decays: decaysLikeHf });
  if (job.resume) opt.importState(job.resume.step, job.resume.moments);
  const schedule = linearSchedule(c.warmup ?? Math.round(0.06 * c.steps), c.steps);
  const losses: number[] = [];
  const start = performance.now();
  for (let step = 0; step < c.steps; step++) {
    const batch = job.batch(step);
    const loss = tidy(() => {
      const l = job.loss(batch, step);
      backward(l);
      return keep(l.detach());
    });
    job.afterBackward?.();
    if ((c.clip ?? 1) > 0) clipGradNorm(job.trainable, c.clip ?? 1)?.dispose();
    opt.lrScale = schedule(step);
    opt.step();
    opt.zeroGrad();
    const value = await loss.item();
    loss.dispose();
    if (!Number.isFinite(value)) throw new Error(`training diverged at step ${step} (loss ${value}); lower the learning rate`);
    losses.push(value);
    job.onStep?.({ step, loss: value, lr: c.lr * opt.lrScale, seconds: (performance.now() - start) / 1000 });
  }
  return { losses, seconds: (performance.now() - start) / 1000, optimizer: opt };
}

/** A data batch as tensors on a backend: ids and labels i32, the mask in the model's float dtype. */
export function batchTensors(b: Batch, backend: Backend, dtype: FloatDType): { ids: Tensor; attentionMask: Tensor; labels: Tensor } {
  return {
    ids: tensor(b.ids, b.shape, { backend, dtype: 'i32' }),
    attentionMask: tensor(b.attentionMask, b.shape, { backend, dtype }),
    labels: tensor(b.labels, b.labelShape, { backend, dtype: 'i32' }),
  };
}
