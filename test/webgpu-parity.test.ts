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
