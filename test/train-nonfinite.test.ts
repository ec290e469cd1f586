/**
 * Training stops at the first non-finite loss or gradient, naming the step and the tensor (found in the step's
 * one readback, so the check costs no extra synchronisation).
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { add, log, mul, sqrt, sum } from '../src/autograd/functions.js';
import { NonFiniteError, trainLoop } from '../src/train/trainer.js';
import { withAnomalyDetection } from '../src/autograd/anomaly.js';

const param = (values: number[], name: string) => tensor(values, [values.length], { requiresGrad: true, name });
const batch = { ids: [], attentionMask: [], labels: [], shape: [0, 0], labelShape: [0] } as never;

describe('non-finite values stop training', () => {
  it('a NaN loss at step 2 stops there, naming the step; steps 0 and 1 ran', async () => {
    const a = param([1, 2, 3], 'a');
    const seen: number[][] = [];
    const run = trainLoop({
      trainable: [a], batch: () => batch, config: { steps: 5, lr: 0.1, warmup: 0 },
      // log of a negative number at step 2
      loss: (_b, step) => sum(log(step === 2 ? mul(a, tensor([-1], [1])) : mul(a, a))),
      onStep: () => seen.push(Array.from(a.dataSync())),
    });
    await expect(run).rejects.toThrow(/^step 2: the loss is NaN; training stopped/);
    await expect(run).rejects.toBeInstanceOf(NonFiniteError);
    expect(seen).toHaveLength(2);
  });

  it('an infinite gradient with a finite loss names the tensor that holds it (clipping on or off)', async () => {
    const a = param([1, 2], 'a');
    const b = param([0, 4], 'b'); // d sqrt(b)/db = ∞ at 0, while sqrt(0) = 0 is finite
    const err = await trainLoop({
      trainable: [a, b], batch: () => batch, config: { steps: 3, lr: 0.1, warmup: 0, clip: 0 },
      loss: () => add(sum(mul(a, a)), sum(sqrt(b))),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as NonFiniteError).message).toMatch(/^step 0: the gradient of b is not finite \(Σg² = Infinity\); training stopped/);
    expect((err as NonFiniteError).what).toBe('b');
  });

  it('--detect-anomaly names the op whose backward first made the Inf', async () => {
    const b = param([0, 4], 'b');
    const c = param([1, 1], 'c');
    const err = await withAnomalyDetection(() => trainLoop({
      trainable: [b, c], batch: () => batch, config: { steps: 3, lr: 0.1, warmup: 0 },
      loss: () => sum(mul(sqrt(b), c)),
    })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    // sqrt's backward is g / (2√b): the div inside it is where ∞ first appears
    expect((err as Error).message).toMatch(/^step 0: backward of sqrt: forward of div \(inputs \[2\], \[2\]\) produced Infinity at element 0/);
  });

  it('--detect-anomaly names the op whose forward first made the NaN', async () => {
    const a = param([1, 2], 'a');
    const err = await withAnomalyDetection(() => trainLoop({
      trainable: [a], batch: () => batch, config: { steps: 3, lr: 0.1, warmup: 0 },
      loss: () => sum(mul(log(mul(a, tensor([-1], [1]))), a)),
    })).catch((e: unknown) => e);
    expect((err as NonFiniteError).what).toBe('forward of log (inputs [2])');
    expect((err as Error).message).toMatch(/^step 0: forward of log \(inputs \[2\]\) produced NaN at element 0/);
  });
});
