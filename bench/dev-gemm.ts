/** Dev harness: the CPU matmul at bert-tiny's step shapes and at n³, GFLOP/s by process CPU time (load-robust). */
import { matmul } from '../src/kernels/cpu/matmul.js';
import { setCpuThreads } from '../src/kernels/cpu/index.js';
import { median } from './timing.js';

type Case = [string, number[], number, number, number, boolean, boolean];
const cases: Case[] = [
  ['fwd qkvo', [], 768, 64, 64, false, true],
  ['fwd inter', [], 768, 64, 256, false, true],
  ['fwd out', [], 768, 256, 64, false, true],
  ['dX 64', [], 768, 64, 64, false, false],
  ['dX inter', [], 768, 256, 64, false, false],
  ['dX out', [], 768, 64, 256, false, false],
  ['dW 64', [], 64, 768, 64, true, false],
  ['dW inter', [], 256, 768, 64, true, false],
  ['dW out', [], 64, 768, 256, true, false],
  ['att qk', [64], 48, 16, 48, false, true],
  ['att pv', [64], 48, 48, 16, false, false],
  ['att dP', [64], 48, 16, 48, false, true],
  ['att dV', [64], 48, 48, 16, true, false],
  ['eval inter', [], 3072, 64, 256, false, true],
  ['256', [], 256, 256, 256, false, false],
  ['1024', [], 1024, 1024, 1024, false, false],
];

export function main(args: string[]): void {
  setCpuThreads(1);
  const only = args[0]?.split(',');
  const out: Record<string, number> = {};
  for (const [name, batch, M, K, N, transA, transB] of cases) {
    if (only && !only.some((o) => name.includes(o))) continue;
    const nb = batch.reduce((x, y) => x * y, 1);
    const a = Float32Array.from({ length: nb * M * K }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: nb * K * N }, (_, i) => Math.cos(i));
    const p = { batchA: batch, batchB: batch, batchOut: batch, M, K, N, transA, transB };
    const flop = 2 * nb * M * K * N;
    const reps = Math.max(1, Math.round(3e7 / flop));
    for (let w = 0; w < 3; w++) matmul(a, b, p, 'f32');
    const ts: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) matmul(a, b, p, 'f32');
      const d = process.cpuUsage(t0);
      ts.push((d.user + d.system) / 1000 / reps);
    }
    out[name] = Math.round(flop / median(ts) / 1e4) / 100;
  }
  console.log(JSON.stringify(out));
}
