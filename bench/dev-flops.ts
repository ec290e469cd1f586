/**
 * Why a PEFT step cannot reach 0.6 of a full one on bert-tiny (issue F): the matmul work of one training step of
 * every method, counted at the kernels (2·M·N·K per product, batch dims included), with the number of kernel
 * launches. A method that trains something in every layer (BitFit's biases, P-tuning v2's prefixes) needs the
 * gradient of every layer's input, so of the forward product, dX and dW that full fine-tuning runs per weight it
 * skips only dW: its matmul work is ≥ 2/3 of full's. Not a bench row (no peer, no timing).
 *   node bench/dev-flops.mjs [methods,…]
 */
import { backward } from '../src/autograd/tape.js';
import { keep, tidy } from '../src/autograd/tensor.js';
import { cpu, setCpuThreads } from '../src/kernels/cpu/index.js';
import type { LinearParams, MatmulParams } from '../src/autograd/backend.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/train/methods.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export async function main(args: string[]): Promise<void> {
  setCpuThreads(1);
  const methods = (args[0] ?? 'full,frozen,bitfit,prefix,prompt,ptuning,ptuning-v2').split(',');
  let flops = 0;
  const b = cpu as unknown as Record<string, (...a: unknown[]) => unknown>;
  const mm = b.matmul!.bind(cpu);
  const lin = b.linear!.bind(cpu);
  b.matmul = (x: unknown, y: unknown, p: unknown, d: unknown) => {
    const q = p as MatmulParams;
    flops += 2 * q.M * q.N * q.K * numel(q.batchOut);
    return mm(x, y, p, d);
  };
  b.linear = (x: unknown, w: unknown, bias: unknown, p: unknown, d: unknown) => {
    const q = p as LinearParams;
    flops += 2 * q.rows * q.N * q.K;
    return lin(x, w, bias, p, d);
  };
  const rows: Record<string, { mflop: number; launches: number; ofFull?: number }> = {};
  for (const m of methods) {
    const loaded = await loadBert('bert-tiny', { backend: cpu, head: 'sequence-classification', numLabels: 2, seed: 1 });
    const peft = new PeftModel(loaded.model, [await buildMethod(m, baseOf(loaded.model), { seed: 1 })]);
    const task = makeTask('spam', loaded.tokenizer, { batchSize: 16, maxLength: 48, seed: 1 });
    const batch = task.batch(0);
    const count = (): number => [...cpu.stats.launches.values()].reduce((a, c) => a + c, 0);
    flops = 0;
    const l0 = count();
    const loss = tidy(() => { const l = task.loss(peft, batch, 0); backward(l); return keep(l.detach()); });
    await loss.item();
    rows[m] = { mflop: Math.round(flops / 1e5) / 10, launches: count() - l0 };
    loss.dispose();
  }
  const full = rows.full?.mflop;
  if (full) for (const r of Object.values(rows)) r.ofFull = Math.round((r.mflop / full) * 1000) / 1000;
  console.log(JSON.stringify(rows, null, 1));
}
