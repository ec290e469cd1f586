/**
 * The page's gradient-check panel without the DOM (so the same code also runs under Node): acquire a backend exactly
 * as the CLI does (src/kernels/select.ts) and check every op of the op table (gradcheckOp).
 */
// the page uses the library as a user does: the browser-safe entry, and the gradient-check harness's own entry
import { DIFFERENTIABLE_OPS, OP_LIST, selectBackend, type Backend, type BackendName, type OpDef } from 'webpeft';
import { gradcheckOp } from 'webpeft/gradcheck';

export interface ParityRow { op: string; cases: number; maxRelErr: number; tolerance: number; ok: boolean; counterexample?: string }

/** The backend by name, acquired as the CLI acquires it, and one line naming it (the adapter, for WebGPU). */
export async function acquire(name: BackendName): Promise<{ backend: Backend; adapter: string }> {
  const backend = await selectBackend(name);
  return { backend, adapter: backend.describe() };
}

/**
 * The ops a backend is checked on, and what the check compares. WebGPU: every op of the table (the comparison and
 * gradient-helper kernels too), f32 forward values and gradients against the CPU's f64 autograd. CPU: the
 * differentiable ops, f64 autograd against float64 central differences.
 */
export function parityPlan(backend: Backend): { ops: OpDef[]; what: string } {
  return backend.name === 'cpu'
    ? { ops: DIFFERENTIABLE_OPS, what: 'CPU f64 autograd vs float64 central differences' }
    : { ops: OP_LIST, what: `${backend.name} f32 forward + gradients vs CPU f64 autograd` };
}

/** A few fast-check cases per op (fixed seed; shrinking on failure); `onRow` after each op. */
export async function parity(backend: Backend, casesPerOp: number, onRow: (r: ParityRow) => void | Promise<void>,
  ops = parityPlan(backend).ops): Promise<ParityRow[]> {
  const rows: ParityRow[] = [];
  for (const op of ops) {
    let r: ParityRow;
    try {
      const g = await gradcheckOp(op, { backend, cases: casesPerOp, seed: 7 });
      r = { op: g.op, cases: g.cases, maxRelErr: g.maxRelErr, tolerance: g.tolerance, ok: g.ok, counterexample: g.counterexample };
    } catch (e) {
      r = { op: op.name, cases: 0, maxRelErr: Infinity, tolerance: 0, ok: false, counterexample: String((e as Error)?.stack ?? e) };
    }
    rows.push(r);
    await onRow(r);
  }
  return rows;
}
