/**
 * What the page runs, without the DOM (so the same code also runs under Node): acquire a backend exactly as the CLI
 * does (src/kernels/select.ts), check every op of the op table (gradcheckOp), and train a tiny GPT-2 with prompt tuning.
 */
// the page uses the library as a user does: the browser-safe entry, and the gradient-check harness's own entry
import {
  DIFFERENTIABLE_OPS, Gpt2, OP_LIST, PeftModel, baseOf, batchTensors, fullFineTuning, parseGpt2Config, promptTuning, selectBackend,
  trainLoop, type Backend, type BackendName, type Batch, type OpDef, type StepLog,
} from 'webpeft';
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

// ---- training

/** Printable ASCII (32..126) as ids 0..94: a character vocabulary, so no tokenizer files are needed. */
const VOCAB = 95;
const encode = (s: string): number[] => [...s].map((ch) => Math.min(VOCAB - 1, Math.max(0, ch.charCodeAt(0) - 32)));
const TEXT_A = 'the quick brown fox jumps over the lazy dog. ';
const TEXT_B = 'a soft prompt steers a frozen model to the task. ';

/** Rows of T characters, row i starting 5·i characters into its text (repeated). */
function batchOf(texts: string[], T: number): Batch {
  const rows = texts.map((t, i) => encode(t.repeat(Math.ceil((5 * i + T) / t.length) + 1)).slice(5 * i, 5 * i + T));
  const ids = Int32Array.from(rows.flat());
  return { ids, attentionMask: new Int32Array(ids.length).fill(1), labels: ids, shape: [texts.length, T], labelShape: [texts.length, T] };
}

export interface TrainSetup {
  /** Full fine-tuning steps that give the random-init base something to steer (0: prompt-tune the random model). */
  baseSteps: number; baseLr: number;
  steps: number; lr: number; virtualTokens: number;
  config: { vocab_size: number; n_positions: number; n_embd: number; n_head: number; n_layer: number };
  seqLen: number;
}

export const TRAIN: TrainSetup = {
  baseSteps: 20, baseLr: 1e-2, steps: 20, lr: 0.1, virtualTokens: 8,
  config: { vocab_size: VOCAB, n_positions: 64, n_embd: 32, n_head: 2, n_layer: 2 },
  seqLen: 24,
};

export interface TrainResult {
  baseLosses: number[]; baseSeconds: number;
  losses: number[]; seconds: number;
  trainable: number; base: number; percent: number;
}

/**
 * A tiny GPT-2 from random init (HF's initialisation, seed 1). Phase 1: a few full fine-tuning steps on a mix of two
 * texts (a random-init model's logits are ≈0, so a prompt has almost nothing to steer). Phase 2, prompt tuning: the
 * model frozen, only P soft-prompt embeddings train, on the second text. The loop is the CLI's (src/train/trainer.ts):
 * one queue submission and one readback (the loss) per step.
 */
export async function trainDemo(backend: Backend, onStep: (phase: 'base' | 'prompt', log: StepLog) => void | Promise<void>,
  setup: TrainSetup = TRAIN): Promise<TrainResult> {
  const model = Gpt2.init(parseGpt2Config(setup.config, 'tiny'), { seed: 1, backend });
  const pending: Promise<void>[] = [];
  const report = (phase: 'base' | 'prompt') => (log: StepLog) => { const p = onStep(phase, log); if (p) pending.push(p); };
  try {
    let base = { losses: [] as number[], seconds: 0 };
    if (setup.baseSteps > 0) {
      const full = new PeftModel(model, [fullFineTuning()]);
      const mix = batchOf([TEXT_A, TEXT_A, TEXT_B, TEXT_B], setup.seqLen);
      const r = await trainLoop({
        trainable: full.trainable(), batch: () => mix,
        loss: (b) => full.forward({ ...batchTensors(b, backend, model.dtype) }).loss!,
        config: { steps: setup.baseSteps, lr: setup.baseLr, warmup: 0 }, onStep: report('base'),
      });
      r.optimizer.dispose();
      base = r;
    }
    const method = await promptTuning(baseOf(model), { numVirtualTokens: setup.virtualTokens, seed: 2 });
    const peft = new PeftModel(model, [method]); // freezes every base parameter
    const task = batchOf([TEXT_B, TEXT_B, TEXT_B, TEXT_B], setup.seqLen);
    const r = await trainLoop({
      trainable: peft.trainable(), batch: () => task,
      loss: (b) => peft.forward({ ...batchTensors(b, backend, model.dtype) }).loss!,

      config: { steps: setup.steps, lr: setup.lr, warmup: 0, weightDecay: 0 }, onStep: report('prompt'),
    });
    await Promise.all(pending);
    const counts = peft.counts();
    r.optimizer.dispose();
    method.params.dispose();
    return { baseLosses: base.losses, baseSeconds: base.seconds, losses: r.losses, seconds: r.seconds, ...counts };
  } finally {
    model.dispose();
  }
}
