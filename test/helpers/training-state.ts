/** A current-version training state for tests that save adapters by hand (the base signature computed as train does). */
import type { BaseModel, PeftMethod } from '../../src/peft/method.js';
import { baseSignature } from '../../src/train/base-check.js';
import type { MethodSettings } from '../../src/train/methods.js';
import { TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION, type TrainingState } from '../../src/train/training-state.js';

export async function stateFor(base: BaseModel, method: PeftMethod, o: {
  method: TrainingState['method']; settings: MethodSettings; task: string; model: string; step: number; lr: number;
}): Promise<TrainingState> {
  return {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: o.method, settings: o.settings, task: o.task, model: o.model,
    step: o.step, optimizerStep: 0,
    schedule: { totalSteps: Math.max(o.step, 1), warmup: 0, lr: o.lr, weightDecay: 0.01, clip: 1, beta2: 0.999 },
    data: { batchSize: 8, maxLength: 32, seed: o.settings.seed ?? 0 },
    base: await baseSignature(base, method),
  };
}
