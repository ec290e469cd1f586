/**
 * Every op of the table on WebGPU equals the CPU: forward values and gradients (f32 on the GPU against the
 * CPU's f64 autograd), on random shapes and values from each op's check domain (fast-check, shrinking on).
 * Tolerance: 256·2^-23 relative to max(1, |reference|) — a few hundred f32 roundings on these small shapes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { OP_LIST } from '../src/autograd/ops/index.js';
import { gradcheckOp } from '../src/autograd/gradcheck.js';
import { acquireGpu } from './helpers/gpu.js';
import type { MatmulKernel, RowKernel } from '../src/kernels/wgsl/index.js';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { lstmScan, mul, sum } from '../src/autograd/functions.js';
import { backward } from '../src/autograd/tape.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());

describe.runIf(gpu)('WebGPU equals CPU for every op (forward and gradients)', () => {
  for (const op of OP_LIST) {
    it(op.name, async () => {
      const r = await gradcheckOp(op, { backend: gpu!, cases: 25, seed: 11 });
      expect(r.ok, `${op.name}: max rel err ${r.maxRelErr} > ${r.tolerance}\n${r.counterexample}`).toBe(true);
    });
  }
});

/** Ops whose WGSL kernel has variants chosen by adapter kind: every variant must equal the CPU, not only the default. */
const VARIANTS: { ops: string[]; set: (kind: string) => void; get: () => string; kinds: string[] }[] = gpu ? [
  { ops: ['matmul', 'linear'], kinds: ['register', 'tiled'], get: () => gpu.matmulKernel, set: (k) => { gpu.matmulKernel = k as MatmulKernel; } },
  { ops: ['softmax', 'log_softmax', 'layernorm', 'attention_probs'], kinds: ['thread', 'workgroup'], get: () => gpu.rowKernel, set: (k) => { gpu.rowKernel = k as RowKernel; } },
] : [];

describe.runIf(gpu)('every WebGPU kernel variant equals the CPU', () => {
  for (const v of VARIANTS) {
    for (const kind of v.kinds) {
      for (const name of v.ops) {
        it(`${name} (${kind})`, async () => {
          const before = v.get();
          v.set(kind);
          try {
            const op = OP_LIST.find((o) => o.name === name)!;
            const r = await gradcheckOp(op, { backend: gpu!, cases: 25, seed: 12 });
            expect(r.ok, `${name} (${kind}): max rel err ${r.maxRelErr} > ${r.tolerance}\n${r.counterexample}`).toBe(true);
          } finally {
            v.set(before);
          }
        });
      }
    }
  }
});

describe.runIf(gpu)('lstm_scan on WebGPU at widths past one workgroup (several state elements per thread)', () => {
  it('H = 70 and 130: states and all three gradients equal the CPU in f64', async () => {
    for (const H of [70, 130]) {
      const [N, B, T] = [2, 2, 3];
      const rng = new Rng(H);
      const values = [[N, B, T, 4 * H], [N, 4 * H, H], [N, 4 * H]].map((shape) => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform(-0.3, 0.3)) }));
      const weights = Float64Array.from({ length: N * B * T * H }, () => rng.normal());
      const run = async (backend: Backend, dtype: 'f32' | 'f64') => {
        const xs = values.map((v) => tensor(v.data, v.shape, { backend, dtype }));
        for (const x of xs) x.requiresGrad = true;
        const y = lstmScan(xs[0]!, xs[1]!, xs[2]!);
        backward(sum(mul(y, tensor(weights, y.shape, { backend, dtype }))));
        return [Array.from(await y.data()), ...await Promise.all(xs.map(async (x) => Array.from(await x.grad!.data())))];
      };
      const [got, want] = [await run(gpu!, 'f32'), await run(cpu, 'f64')];
      got.forEach((g, i) => {
        const scale = want[i]!.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
        const worst = g.reduce((m, v, k) => Math.max(m, Math.abs(v - want[i]![k]!)), 0);
        expect(worst, `H ${H}, ${['h', 'dgx', 'dW_hh', 'db_hh'][i]}`).toBeLessThanOrEqual(256 * 2 ** -23 * scale);
      });
    }
  });
});
