import { describe, expect, it } from 'vitest';
import { DIFFERENTIABLE_OPS, OP_LIST, OPS } from '../src/autograd/ops/index.js';
import { gradcheckOp } from '../src/autograd/gradcheck.js';
import { mul, mulScalar } from '../src/autograd/functions.js';
import type { OpDef } from '../src/autograd/op.js';

/** Every op the engine promises (issue A); each must be in the table with a gradient check. */
const REQUIRED = [
  'add', 'sub', 'mul', 'div', 'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'pow', 'tanh', 'sigmoid', 'relu', 'gelu_tanh', 'gelu_erf',
  'sum', 'mean', 'max', 'matmul', 'reshape', 'permute', 'slice', 'concat', 'embedding', 'where', 'softmax', 'log_softmax',
  'layernorm', 'cross_entropy', 'dropout', 'lstm_cell',
];

const CASES = Number(process.env.GRADCHECK_CASES ?? 100);

describe('op table', () => {
  it('holds every required op, each with a gradient check', () => {
    for (const name of REQUIRED) {
      expect(OPS[name], `op ${name} missing from the table`).toBeDefined();
      expect(DIFFERENTIABLE_OPS).toContain(OPS[name]);
    }
    for (const op of OP_LIST) expect(typeof op.check.cases, `${op.name} has no check`).toBe('function');
  });

  it('names each op once', () => {
    expect(new Set(OP_LIST.map((o) => o.name)).size).toBe(OP_LIST.length);
  });
});

describe('gradient checks: float64 autograd equals central differences (CPU)', () => {
  for (const op of DIFFERENTIABLE_OPS) {
    it(`${op.name}`, async () => {
      const r = await gradcheckOp(op, { cases: CASES, seed: 7 });
      expect(r.ok, `${op.name}: max rel err ${r.maxRelErr} > ${r.tolerance}\n${r.counterexample}`).toBe(true);
      expect(r.cases).toBeGreaterThanOrEqual(CASES);
    }, 60_000);
  }
});

describe('the gradient check can fail', () => {
  it('catches a backward that is off by 1 % and reports a shrunk counter-example', async () => {
    const wrong: OpDef = { ...OPS.exp, name: 'exp_wrong', backward: ({ output }, g) => [mulScalar(mul(g, output), 1.01)] };
    const r = await gradcheckOp(wrong, { cases: 20, seed: 1 });
    expect(r.ok).toBe(false);
    expect(r.maxRelErr).toBeGreaterThan(1e-3);
    expect(r.counterexample).toMatch(/inputs: float\[/);
  });

  it('catches a backward that drops the broadcast reduction sign (sub)', async () => {
    const wrong: OpDef = { ...OPS.sub, name: 'sub_wrong', backward: OPS.add.backward };
    const r = await gradcheckOp(wrong, { cases: 20, seed: 1 });
    expect(r.ok).toBe(false);
  });
});
