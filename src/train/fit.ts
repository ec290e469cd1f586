/**
 * Training a PEFT model on batches of token ids in one call: the batch's tensors are made on the model's backend
 * and dtype, the loss is the model's own (dropout on, seeded by the step), and the loop is trainLoop's.
 */
import type { Batch } from '../data/datasets.js';
import type { PeftModel } from '../peft/peft-model.js';
import { batchTensors, trainLoop, type StepLog, type TrainConfig, type TrainResult } from './trainer.js';

export interface FitOptions extends TrainConfig {
  /** The batch of step s (a fixed Batch repeats). */
  batch: Batch | ((step: number) => Batch);
  onStep?: (log: StepLog) => void;
}

/** Trains `peft` for `steps` AdamW steps and returns the losses (the optimizer's moments are freed). */
export async function fit(peft: PeftModel, o: FitOptions): Promise<Omit<TrainResult, 'optimizer'>> {
  const { backend, dtype } = peft.model;
  const batchOf = typeof o.batch === 'function' ? o.batch : () => o.batch as Batch;
  const r = await trainLoop({
    trainable: peft.trainable(),
    batch: batchOf,
    loss: (b, step) => {
      const t = batchTensors(b, backend, dtype);
      const loss = peft.forward({ ...t, train: true, seed: step }).loss;
      if (!loss) throw new Error('fit: the model returned no loss (does the batch carry labels?)');
      return loss;
    },
    config: o, onStep: o.onStep,
  });
  r.optimizer.dispose();
  return { losses: r.losses, seconds: r.seconds };
}
