/**
 * Prompt ensembling in one batch (Lester et al., "The Power of Scale for Parameter-Efficient Prompt Tuning", §3
 * and "Prompt Ensembling"): K prompts for one task share one frozen model; each example is replicated K times
 * (row j·B + b is example b under prompt j, `ensembleRows`) and the K·B rows run as one mixed-adapter batch
 * (`new PeftModel(model, [[prompt₁], …, [prompt_K]])`, row r under adapter adapterIds[r]). At evaluation the K
 * predictions of each example are averaged as probabilities (`averageEnsemble`).
 *
 * Training in one batch equals K separate runs. The step's loss is Σ_j L_j, where L_j is the mean loss of the
 * batch under prompt j (K · the mean over the K·B rows — every replica has the same rows, so the same count of
 * targets), so prompt j's gradient is ∇L_j, exactly what a run of prompt j alone computes. AdamW is elementwise,
 * and gradient clipping is applied to each adapter's own tensors (a separate run clips its prompt alone), so with
 * the same seeds, data and schedule each prompt follows its separate run up to floating-point rounding. Two
 * things would couple the prompts and are left out of that statement: a base tensor that trains (a task head) is
 * shared by the K prompts, and dropout masks are drawn per row, so `train` (dropout) is off by default.
 */
import { mul } from '../autograd/functions.js';
import { noGrad } from '../autograd/op.js';
import { clipGradNorm } from '../autograd/optim.js';
import { tidy, type Tensor } from '../autograd/tensor.js';
import type { Batch } from '../data/datasets.js';
import type { PeftModel } from '../peft/peft-model.js';
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { averageEnsemble, ensembleRows, promptTuning, type PromptTuningConfig } from '../peft/prompt-tuning.js';
import { pooled } from './task-build.js';
import { batchTensors, type TrainConfig, type TrainResult, type StepLog, trainLoop } from './trainer.js';

/** Each example K times, prompt-major (row j·B + b = example b for prompt j), with the adapter id of every row. */
export function replicateBatch<B extends Batch>(batch: B, K: number): Batch & { adapterIds: Int32Array } {
  if (!Number.isInteger(K) || K < 1) throw new Error(`prompt ensemble: K must be a positive integer, got ${K}`);
  const [rows, T] = batch.shape;
  const times = <A extends Int32Array>(a: A): Int32Array => {
    const out = new Int32Array(a.length * K);
    for (let j = 0; j < K; j++) out.set(a, j * a.length);
    return out;
  };
  return {
    ids: times(batch.ids), attentionMask: times(batch.attentionMask), labels: times(batch.labels),
    shape: [rows * K, T], labelShape: batch.labelShape.length === 1 ? [rows * K] : [rows * K, batch.labelShape[1]],
    adapterIds: ensembleRows(rows, K),
  };
}

/** K prompts of one config, prompt j drawn with seed (c.seed ?? 0) + j: the adapters of a PeftModel ensemble. */
export async function ensemblePrompts(base: BaseModel, c: PromptTuningConfig, K: number): Promise<PeftMethod[][]> {
  const out: PeftMethod[][] = [];
  for (let j = 0; j < K; j++) out.push([await promptTuning(base, { ...c, seed: (c.seed ?? 0) + j })]);
  return out;
}

export interface EnsembleJob {
  /** K adapters on one base model, one prompt each: `new PeftModel(model, [[p₁], …, [p_K]])`. */
  peft: PeftModel;
  batch: (step: number) => Batch;
  /** The schedule of every prompt; `clip` (default 1) bounds each adapter's own gradient norm. */
  config: TrainConfig;
  /** Dropout on (masks then differ between the replicas of a row); default off. */
  train?: boolean;
  onStep?: (log: StepLog) => void;
  /** The training loop's hook after each step (early stopping: true stops the run). */
  after?: (stepsDone: number) => Promise<boolean> | boolean;
}

/** Trains the K prompts of `peft` in one batch per step (see the file comment for what it equals). */
export function trainEnsemble(job: EnsembleJob): Promise<TrainResult> {
  const { peft } = job;
  const K = peft.adapters.length;
  const { backend, dtype } = peft.base.wordEmbeddings;
  const own = peft.adapters.map((methods) => methods.flatMap((m) => m.params.trainable()));
  const shared = peft.base.params.trainable();
  const clip = job.config.clip ?? 1;
  return trainLoop({
    trainable: peft.trainable(), batch: job.batch, onStep: job.onStep, after: job.after,
    // Σ_j L_j = K · mean over the K·B rows
    loss: (b, step) => {
      const rows = replicateBatch(b, K);
      const t = batchTensors(rows, backend, dtype as 'f32' | 'f64');
      const out = peft.forward({ ids: t.ids, attentionMask: t.attentionMask, labels: t.labels, adapterIds: rows.adapterIds, train: job.train ?? false, seed: step, ...pooled(peft) });
      return mul((out as { loss: Tensor }).loss, K);
    },
    // each prompt clipped by its own norm, as its separate run would clip it; the loop itself does not clip again
    afterBackward: () => {
      if (clip <= 0) return;
      for (const tensors of [...own, shared]) if (tensors.some((x) => x.grad)) clipGradNorm(tensors, clip)?.dispose();
    },
    config: { ...job.config, clip: 0 },
  });
}

/**
 * The ensemble's prediction for a batch: softmax of each replica's logits (over the last axis), averaged over the
 * K prompts — (B, …, C) probabilities, in f64.
 */
export async function ensembleProbabilities(peft: PeftModel, batch: Batch): Promise<{ probs: Float64Array; shape: number[] }> {
  const K = peft.adapters.length;
  const rows = replicateBatch(batch, K);
  const { backend, dtype } = peft.base.wordEmbeddings;
  const logits = noGrad(() => tidy(() => {
    const t = batchTensors(rows, backend, dtype as 'f32' | 'f64');
    return (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, adapterIds: rows.adapterIds, ...pooled(peft) }) as { logits: Tensor }).logits;
  }));
  const values = await logits.data();
  const shape = [...logits.shape];
  logits.dispose();
  const C = shape[shape.length - 1];
  const probs = softmaxRows(values, C);
  const perPrompt = probs.length / K / C; // B × inner positions
  return { probs: averageEnsemble(probs, perPrompt, K, C), shape: [shape[0] / K, ...shape.slice(1)] };
}

/** Softmax over consecutive runs of C values, in f64. */
export function softmaxRows(values: ArrayLike<number>, C: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < values.length; r += C) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, values[r + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += (out[r + c] = Math.exp(values[r + c] - max));
    for (let c = 0; c < C; c++) out[r + c] /= sum;
  }
  return out;
}
