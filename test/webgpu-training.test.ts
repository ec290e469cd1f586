/**
 * Training on WebGPU: a step is one queue submission and one readback (the loss), however deep the model;
 * frozen parameters stay bit-identical on the GPU too; and the PEFT methods train (loss falls) on real text.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseGpt2Config } from '../src/io/config.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { bitFit } from '../src/peft/bitfit.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { trainLoop, batchTensors } from '../src/train/trainer.js';
import type { Batch } from '../src/data/datasets.js';
import { acquireGpu } from './helpers/gpu.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());

const config = (layers: number) => parseGpt2Config({ vocab_size: 50, n_positions: 32, n_embd: 16, n_head: 2, n_layer: layers }, 'tiny');

function batchOf(rows: number[][]): Batch {
  const B = rows.length;
  const T = rows[0].length;
  return { ids: Int32Array.from(rows.flat()), attentionMask: new Int32Array(B * T).fill(1), labels: Int32Array.from(rows.flat()), shape: [B, T], labelShape: [B, T] };
}
const batch = batchOf([[1, 5, 9, 13, 2, 7, 30, 4], [8, 8, 1, 40, 3, 3, 22, 11]]);

describe.runIf(gpu)('training on WebGPU', () => {
  it('issues one queue submission and one readback (the loss) per step, for 2 and 4 layers', async () => {
    for (const layers of [2, 4]) {
      const model = Gpt2.init(config(layers), { seed: 1, backend: gpu! });
      const peft = new PeftModel(model, [prefixTuning(baseOf(model), { numVirtualTokens: 4, projection: { hidden: 8 } }), bitFit(baseOf(model))]);
      const job = {
        trainable: peft.trainable(),
        batch: () => batch,
        loss: (b: Batch) => { const t = batchTensors(b, gpu!, 'f32'); return peft.forward({ ...t }).loss!; },
        config: { steps: 1, lr: 1e-2 },
      };
      await trainLoop(job); // warm-up: pipelines compiled, pool filled
      gpu!.flush();
      const [s0, r0] = [gpu!.stats.submits, gpu!.stats.readbacks];
      await trainLoop({ ...job, config: { steps: 3, lr: 1e-2 } });
      expect((gpu!.stats.submits - s0) / 3, `${layers} layers: submits per step`).toBe(1);
      expect((gpu!.stats.readbacks - r0) / 3, `${layers} layers: readbacks per step`).toBe(1);
      model.dispose();
    }
  });

  it('keeps frozen parameters bit-identical and moves the trainable ones', async () => {
    const model = Gpt2.init(config(2), { seed: 2, backend: gpu! });
    const peft = new PeftModel(model, [bitFit(baseOf(model), { types: ['query', 'intermediate'] })]);
    const before = new Map(await Promise.all([...model.params].map(async ([n, t]) => [n, Float32Array.from(await t.data())] as const)));
    await trainLoop({
      trainable: peft.trainable(), batch: () => batch,
      loss: (b) => peft.forward({ ...batchTensors(b, gpu!, 'f32') }).loss!,
      config: { steps: 3, lr: 5e-2, weightDecay: 0 },
    });
    const D = 16;
    for (const [n, t] of model.params) {
      const now = Float32Array.from(await t.data());
      const same = Buffer.from(now.buffer).equals(Buffer.from(before.get(n)!.buffer));
      if (n.endsWith('attn.c_attn.bias')) {
        expect(Buffer.from(now.subarray(D).buffer.slice(D * 4)).equals(Buffer.from(before.get(n)!.buffer.slice(D * 4))), `${n} k/v part`).toBe(true);
        expect(same, `${n} query part moved`).toBe(false);
      } else if (n.endsWith('mlp.c_fc.bias')) {
        expect(same, `${n} should move`).toBe(false);
      } else {
        expect(same, `${n} is frozen`).toBe(true);
      }
    }
  });

  it('prompt tuning on the GPU follows the CPU run step for step', async () => {
    const cpuModel = Gpt2.init(config(2), { seed: 3 });
    const gpuModel = Gpt2.init(config(2), { seed: 3, backend: gpu! });
    const losses: number[][] = [];
    for (const model of [cpuModel, gpuModel]) {
      const peft = new PeftModel(model, [await promptTuning(baseOf(model), { numVirtualTokens: 3, seed: 4 })]);
      const r = await trainLoop({
        trainable: peft.trainable(), batch: () => batch,
        loss: (b) => peft.forward({ ...batchTensors(b, model.backend, 'f32') }).loss!, config: { steps: 8, lr: 5e-2 },
      });
      losses.push(r.losses);
    }
    expect(losses[1][7]).toBeLessThan(losses[1][0]);
    losses[0].forEach((l, i) => expect(Math.abs(l - losses[1][i]) / l).toBeLessThan(1e-4));
  });
});
