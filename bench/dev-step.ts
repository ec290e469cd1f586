/**
 * A quick A/B harness for the CPU backend's bert-tiny step (not a bench row): the steps `webpeft compare` trains
 * (full, bitfit, ptuning-v2; B16 T48) and its evaluation forward pass (B64 T48, no tape), interleaved, median of N
 * of the process's CPU time (user + system: robust to the other processes on a shared machine).
 *   node bench/dev-step.mjs [runs] [methods,…]
 */
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { cpu, setCpuThreads } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/train/methods.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { batchTensors } from '../src/train/trainer.js';
import { AdamW, clipGradNorm, decaysLikeHf } from '../src/autograd/optim.js';
import { backward } from '../src/autograd/tape.js';
import { keep } from '../src/autograd/tensor.js';
import type { MethodName } from '../src/peft/counts.js';
import { median } from './timing.js';

export interface Job { name: string; run: () => Promise<void> }

/** One job per method (and 'eval': the B64 forward pass), warmed up by the caller. */
export async function makeJobs(methods: string[], printLosses = false): Promise<Job[]> {
  setCpuThreads(Number(process.env.DEV_STEP_THREADS ?? 1)); // DEV_STEP_THREADS=2: the pool too (wall time then matters more than CPU time)
  const jobs: Job[] = [];
  for (const m of methods) {
    const method = (m === 'eval' ? 'full' : m) as MethodName;
    const loaded = await loadBert('bert-tiny', { backend: cpu, head: 'sequence-classification', numLabels: 2, seed: 1 });
    const peft = new PeftModel(loaded.model, [await buildMethod(method, baseOf(loaded.model), { virtualTokens: 10, hidden: 64, encoder: 'lstm', seed: 1 })]);
    const task = makeTask('spam', loaded.tokenizer, { batchSize: m === 'eval' ? 64 : 16, maxLength: 48, seed: 1 });
    const batch = task.batch(0);
    if (m === 'eval') {
      jobs.push({ name: 'eval B64', run: async () => {
        // the forward pass compare scores validation with: no tape, logits read back
        const logits = noGrad(() => tidy(() => {
          const t = batchTensors(batch, cpu, 'f32');
          return peft.forward({ ids: t.ids, attentionMask: t.attentionMask, poolerOnly: true }).logits!; // as compare scores it
        }));
        const values = await logits.data();
        if (printLosses) console.log('eval', Array.from(values.slice(0, 6)).join(' '));
        logits.dispose();
      } });
      continue;
    }
    const trainable = peft.trainable();
    const opt = new AdamW(trainable, { lr: 1e-4, weightDecay: 0.01, decays: decaysLikeHf });
    let step = 0;
    jobs.push({ name: m, run: async () => {
      const loss = tidy(() => { const l = task.loss(peft, batch, step++); backward(l); return keep(l.detach()); });
      clipGradNorm(trainable, 1)?.dispose();
      opt.step();
      opt.zeroGrad();
      const value = await loss.item();
      if (printLosses) console.log(m, step, value);
      loss.dispose();
    } });
  }
  return jobs;
}

export async function main(args: string[]): Promise<void> {
  const printLosses = args[2] === 'losses';
  const runs = Number(args[0] ?? 7);
  const jobs = await makeJobs((args[1] ?? 'full,bitfit,ptuning-v2,eval').split(','), printLosses);
  for (const j of jobs) { await j.run(); await j.run(); }
  const times = jobs.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < jobs.length; k++) {
      const t0 = process.cpuUsage();
      await jobs[k].run();
      const d = process.cpuUsage(t0);
      times[k].push((d.user + d.system) / 1000);
    }
  }
  const out: Record<string, number> = {};
  jobs.forEach((j, k) => { out[j.name] = Math.round(median(times[k]) * 10) / 10; });
  console.log(JSON.stringify(out));
}
