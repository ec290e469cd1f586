/**
 * compare's queue and learning rates: runs start longest-running method first (QUEUE_ORDER) while the rows keep the
 * methods' order; each method's rate is --lr, else the task's validated choice (TASK_LR), else the method's default.
 */
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { defaultLr } from '../src/peft/registry.js';
import { QUEUE_ORDER, runCompare, type RunRunner } from '../src/train/compare.js';
import { TASK_LR, taskDefaultLr } from '../src/train/tasks.js';
import type { OneRun } from '../src/train/compare-run.js';

const fake = (seed: number, lr: number): OneRun => ({
  run: { seed, validation: 0.5 + lr, test: 0.5, stepsRun: 1, stepsKept: 1, curve: [[1, 0.5 + lr]], trainSeconds: 0 },
  validation: { metric: 0.5 + lr, extra: {} }, test: { metric: 0.5, extra: {} }, trainable: 1, percent: 1, losses: [1], peakMB: 1,
});

describe('compare: queue order and per-task learning rates', () => {
  it('starts the longest methods first, keeps the rows in the order asked, and uses TASK_LR on its task only', async () => {
    const started: [string, number, number][] = [];
    const runner: RunRunner = async (spec, seed, lr) => { started.push([spec.method, seed, lr]); return fake(seed, lr); };
    const methods = ['full', 'frozen', 'bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2'];
    const r = await runCompare({ task: 'spam', backend: cpu, steps: 2, evalEvery: 1, patience: 1, batchSize: 2, maxLength: 8, evalLimit: 4,
      methods, seeds: [1, 2], ablations: [], runner, concurrency: 1, lr: { bitfit: 0.02 } });
    expect(r.methods.map((m) => m.method)).toEqual(methods);
    // one slot: runs execute in the order queued, method by method in QUEUE_ORDER, seeds in order
    expect(started.map(([m, s]) => `${m}/${s}`)).toEqual(QUEUE_ORDER.flatMap((m) => [`${m}/1`, `${m}/2`]));
    const lrOf = Object.fromEntries(started.map(([m, , lr]) => [m, lr]));
    expect(lrOf.prefix).toBe(TASK_LR.spam!.prefix);
    expect(TASK_LR.spam!.prefix).not.toBe(defaultLr('prefix'));
    expect(lrOf.bitfit).toBe(0.02); // --lr wins over every default
    expect(lrOf.full).toBe(defaultLr('full'));
    expect(r.methods.find((m) => m.method === 'prefix')!.lr).toBe(TASK_LR.spam!.prefix);
    // other tasks keep the method's default
    expect(taskDefaultLr('tokens', 'prefix')).toBe(defaultLr('prefix'));
  }, 120_000);

  it('queues methods QUEUE_ORDER does not list after the listed ones, in the order given', async () => {
    const started: string[] = [];
    const runner: RunRunner = async (spec, seed, lr) => { started.push(spec.method); return fake(seed, lr); };
    await runCompare({ task: 'spam', backend: cpu, steps: 2, evalEvery: 1, patience: 1, batchSize: 2, maxLength: 8, evalLimit: 4,
      methods: ['bitfit+prompt', 'frozen', 'ptuning'], seeds: [1], ablations: [], runner, concurrency: 1 });
    expect(started).toEqual(['ptuning', 'frozen', 'bitfit+prompt']);
  }, 120_000);
});
