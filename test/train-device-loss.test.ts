/**
 * A GPU lost mid-training (simulated with device.destroy()): the step fails with a clear error naming the last
 * checkpoint, that checkpoint is intact, and the run resumes from it on the CPU backend to its end.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import type { AdamW } from '../src/autograd/optim.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { loadAdapter, saveAdapter } from '../src/train/adapter-dir.js';
import { baseSignature } from '../src/train/base-check.js';
import { buildMethod, type MethodSettings } from '../src/train/methods.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { TrainingInterruptedError, trainLoop } from '../src/train/trainer.js';
import { TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION } from '../src/train/training-state.js';
import { acquireGpu } from './helpers/gpu.js';
import { tinyBertDir } from './helpers/model-dirs.js';

const gpu = await acquireGpu(); // this file's own device: the test destroys it
const dir = await tinyBertDir();
const settings: MethodSettings = { virtualTokens: 3, hidden: 8, encoder: 'lstm', seed: 1 };
const data = { batchSize: 4, maxLength: 24, seed: 1 };
const config = { steps: 8, lr: 3e-2, warmup: 1, weightDecay: 0.01, clip: 1, beta2: 0.999 };

async function setUp(backend: Backend) {
  const { model, tokenizer } = await loadBert(dir, { backend, head: 'sequence-classification', numLabels: 2, seed: 1 });
  const base = baseOf(model);
  return { model, base, task: makeTask('spam', tokenizer, data), method: await buildMethod('prompt', base, settings) };
}

describe.runIf(gpu)('device loss mid-training', () => {
  it('fails at the step naming the last checkpoint, which loads and resumes on the CPU', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'webpeft-lost-')), 'adapter');
    const g = await setUp(gpu!);
    const peft = new PeftModel(g.model, [g.method]);
    const save = async (k: number, opt: AdamW) => {
      await saveAdapter(out, g.base, g.method, {
        format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: 'prompt', settings, task: 'spam', model: dir, step: k,
        optimizerStep: opt.step_, schedule: { totalSteps: config.steps, ...config }, data, base: await baseSignature(g.base, g.method),
      }, opt, 'SEQ_CLS');
    };
    const failure = await trainLoop({
      trainable: peft.trainable(), batch: (i) => g.task.batch(i), config,
      loss: (b, i) => {
        if (i === 5) gpu!.ctx.device.destroy(); // the device goes away under the run
        return g.task.loss(peft, b, i);
      },
      checkpoint: { every: 2, save },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TrainingInterruptedError);
    const e = failure as TrainingInterruptedError;
    console.log(`device loss: ${e.message}`);
    expect(e.step).toBe(5);
    expect(e.lastSaved).toBe(4);
    expect(e.message.split("\n")).toHaveLength(1);
    expect(e.message).toMatch(/^step 5: the WebGPU device was lost \(destroyed/);

    const c = await setUp(cpu);
    const loaded = await loadAdapter(out, c.base);
    expect(loaded.state!.step).toBe(4);
    expect(loaded.optimizerStep).toBe(4);
    const peftCpu = new PeftModel(c.model, [loaded.method]);
    const rest = await trainLoop({
      trainable: peftCpu.trainable(), batch: (i) => c.task.batch(i), loss: (b, i) => c.task.loss(peftCpu, b, i),
      config,
      resume: { step: 4, optimizerStep: loaded.optimizerStep, moments: loaded.moments },
    });
    expect(rest.losses).toHaveLength(4);
    expect(rest.losses.every(Number.isFinite)).toBe(true);
    rest.optimizer.dispose();
    gpu!.destroy();
  }, 60_000);
});
