import { parseArgs } from 'node:util';
import { DIFFERENTIABLE_OPS } from '../autograd/ops/index.js';
import { gradcheckOp, type GradcheckReport } from '../autograd/gradcheck.js';
import { releaseBackend, selectBackend, type BackendName } from '../kernels/select.js';
import { formatTable, Progress } from './table.js';

export const gradcheckHelp = `webpeft gradcheck [--backend cpu|webgpu] [--cases N] [--seed S] [--op NAME,...]
  For every differentiable op: random shapes and values (fast-check), autograd vs float64 central
  differences (cpu) or vs the CPU f64 autograd (webgpu). Prints op | cases | max rel err | tolerance | ok;
  exits 1 on any failure and prints the shrunk counter-example.`;

export async function gradcheckCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'cpu' },
      cases: { type: 'string', default: '40' },
      seed: { type: 'string', default: '42' },
      op: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(gradcheckHelp); return 0; }
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`--cases must be a positive integer, got '${values.cases}'`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  const wanted = values.op?.split(',').map((s) => s.trim());
  const ops = DIFFERENTIABLE_OPS.filter((op) => !wanted || wanted.includes(op.name));
  if (wanted) {
    const unknown = wanted.filter((w) => !DIFFERENTIABLE_OPS.some((op) => op.name === w));
    if (unknown.length) throw new Error(`unknown op(s): ${unknown.join(', ')} (known: ${DIFFERENTIABLE_OPS.map((o) => o.name).join(', ')})`);
  }
  const backend = await selectBackend(values.backend as BackendName);
  console.log(`gradcheck on ${backend.name}: ${backend.describe()} — ${cases} cases per op, seed ${seed}`);
  const reports: GradcheckReport[] = [];
  const bar = new Progress('gradcheck', ops.length);
  try {
    for (const [i, op] of ops.entries()) {
      bar.tick(i, op.name);
      reports.push(await gradcheckOp(op, { cases, seed, backend }));
    }
  } finally {
    bar.done();
    releaseBackend(backend);
  }
  console.log(formatTable(['op', 'cases', 'max rel err', 'tolerance', 'ok'],
    reports.map((r) => [r.op, r.cases, r.maxRelErr.toExponential(2), r.tolerance.toExponential(1), r.ok ? 'ok' : 'FAIL'])));
  const failed = reports.filter((r) => !r.ok);
  for (const r of failed) console.log(`\n${r.op} FAILED (max rel err ${r.maxRelErr.toExponential(2)} > ${r.tolerance.toExponential(1)}); shrunk counter-example:\n  ${r.counterexample}`);
  console.log(failed.length ? `\n${failed.length} of ${reports.length} ops failed` : `\nall ${reports.length} ops passed`);
  return failed.length ? 1 : 0;
}
