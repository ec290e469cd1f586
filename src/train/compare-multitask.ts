/**
 * `webpeft compare --ablation multitask`: P-tuning v2's multi-task prompt pretraining (Liu et al., "P-Tuning v2",
 * "multi-task learning": the deep prompt pretrained on several datasets' training sets together, then fine-tuned on
 * the target), under the compare protocol. Per seed s:
 *
 *   from scratch        P-tuning v2 on the target, its prompt from seed s (the main ptuning-v2 row when it ran)
 *   multi-task prompt   stage 1: ONE prompt, shared, with a head per task (each task's own BERT head) trained on the
 *                       training splits of --tasks for --pretrain-steps steps, batches of one task at a time in a
 *                       seeded order (every cycle of n steps visits each of the n tasks once); no validation, no test,
 *                       a fixed budget. Stage 2: the target run of "from scratch" — same head initialisation, data
 *                       order, budget and early stopping on the target's validation split — but its prompt starts at
 *                       stage 1's prompt, and its head is fresh (stage 1's heads are dropped)
 *   target-only prompt  stage 1 on the target alone for as many steps, then stage 2 as above: the control for the
 *                       extra training steps and the head reset (left out when --tasks is the target alone)
 *
 * Stage 1 starts from the same prompt seed as "from scratch" and uses the run's learning rate (so --grid chooses one
 * rate for both stages on the target's validation split). The stage-1 heads start from seed s as well.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { baseOf } from '../peft/base.js';
import { isTaskHead } from '../peft/baselines.js';
import type { PeftMethod } from '../peft/method.js';
import { PeftModel } from '../peft/peft-model.js';
import { buildMethod } from '../peft/registry.js';
import type { MethodSettings } from '../peft/spec.js';
import type { AblationResult, MethodResult } from '../report/results.js';
import { loadFor, memoryBytes, runOne, type OneRun, type RunOptions, type RunSpec, type RunStart } from './compare-run.js';
import { makeTask, TASK_INFO, TASK_NAMES, type Task, type TaskName } from './tasks.js';
import { trainLoop, type StepLog } from './trainer.js';
import { Rng } from '../kernels/rng.js';

const FAMILY_NAME: Record<string, string> = { bert: 'BERT', gpt2: 'GPT-2' };


/** The tasks whose base model is the target's: the ones a prompt shared with the target can be pretrained on. */
export const sameBaseTasks = (target: TaskName): TaskName[] => TASK_NAMES.filter((t) => TASK_INFO[t].family === TASK_INFO[target].family);

/**
 * `--tasks` checked against the target (one line naming the bad task otherwise): known, listed once, on the target's
 * base model (one prompt needs one model shape). Default: every BERT task. The target must be a BERT task.
 */
export function resolvePretrainTasks(tasks: readonly string[] | undefined, target: string): TaskName[] {
  const bert = TASK_NAMES.filter((t) => TASK_INFO[t].family === 'bert');
  const info = TASK_INFO[target as TaskName];
  if (!info || info.family !== 'bert') {
    const on = info ? ` (${FAMILY_NAME[info.family]})` : target === 'subject-seq2seq' ? ' (BART)' : '';
    throw new Error(`--ablation multitask: P-tuning v2 multi-task pretraining runs on the BERT tasks (${bert.join(', ')}), not --task ${target}${on}`);
  }
  const list = tasks ?? bert;
  if (!list.length) throw new Error('--tasks: expected at least one task');
  const out: TaskName[] = [];
  for (const t of list) {
    const ti = TASK_INFO[t as TaskName];
    if (!ti && t === 'subject-seq2seq') throw new Error(`--tasks: '${t}' runs on BART, the target ${target} on BERT; one shared prompt needs one base model (${bert.join(', ')})`);
    if (!ti) throw new Error(`--tasks: unknown task '${t}' (the BERT tasks: ${bert.join(', ')})`);
    if (ti.family !== info.family) {
      throw new Error(`--tasks: '${t}' runs on ${FAMILY_NAME[ti.family]}, the target ${target} on ${FAMILY_NAME[info.family]}; one shared prompt needs one base model (${sameBaseTasks(target as TaskName).join(', ')})`);
    }
    if (out.includes(t as TaskName)) throw new Error(`--tasks: '${t}' is listed twice in ${list.join(',')}`);
    out.push(t as TaskName);
  }
  return out;
}

/**
 * Which task each pretraining step trains on: cycles of n steps, each a seeded permutation of the n tasks (so over any
 * whole cycle every task gets one batch, and the order is a function of the seed alone).
 */
export function taskSchedule(n: number, steps: number, seed: number): Int32Array {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`task schedule: expected at least one task, got ${n}`);
  const out = new Int32Array(steps);
  const rng = new Rng((seed ^ 0x6d756c74) >>> 0);
  for (let c = 0; c * n < steps; c++) {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let i = 0; i < n && c * n + i < steps; i++) out[c * n + i] = order[i]!;
  }
  return out;
}

/** One pretraining task: its own model (the shared frozen body, its own head) under the shared method. */
export interface PretrainMember { task: TaskName; peft: PeftModel; data: Task; head: Tensor[] }

/** The shared method and one member per task. `trainable`: the method's tensors, then each member's head. */
export interface MultitaskSetup { method: PeftMethod; members: PretrainMember[]; trainable: Tensor[]; dispose(): void }

/**
 * One instance of `method` (its tensors from `settings`' seed) used by one PeftModel per task, each on its own copy of
 * the base model with that task's head (seeded by `seed`). Only the method's own tensors may be shared: a method that
 * trains base weights other than the heads (BitFit, full) is refused.
 */
export async function multitaskSetup(tasks: readonly TaskName[], method: string, settings: MethodSettings & { seed: number }, seed: number,
  o: Pick<RunOptions, 'backend' | 'model' | 'batchSize' | 'maxLength'>, tokenizer: TextTokenizer): Promise<MultitaskSetup> {
  const members: PretrainMember[] = [];
  let shared: PeftMethod | null = null;
  try {
    for (const task of tasks) {
      const { model } = await loadFor(TASK_INFO[task], o, seed);
      shared ??= await buildMethod(method, baseOf(model), settings);
      const peft = new PeftModel(model, [shared]);
      const base = [...peft.base.params].filter(([, t]) => t.requiresGrad);
      const notHead = base.find(([name]) => !isTaskHead(name));
      if (notHead) {
        model.dispose();
        throw new Error(`multi-task pretraining shares the method's own tensors across tasks; ${method} trains the base weight ${notHead[0]}`);
      }
      const data = makeTask(task, tokenizer, { batchSize: o.batchSize, maxLength: o.maxLength, seed });
      members.push({ task, peft, data, head: base.map(([, t]) => t) });
    }
  } catch (e) {
    for (const m of members) m.peft.model.dispose();
    shared?.params.dispose();
    throw e;
  }
  const method_ = shared!;
  return {
    method: method_, members,
    trainable: [...method_.params.trainable(), ...members.flatMap((m) => m.head)],
    dispose() {
      method_.params.dispose();
      for (const m of members) m.peft.model.dispose();
    },
  };
}

/**
 * Stage 1: `steps` steps of trainLoop over the members' training batches in `taskSchedule` order (member i's k-th batch
 * is its task's batch k: each task walks its own epochs), the loss that task's under its own PeftModel. Nothing is
 * evaluated. Returns the step order and the losses.
 */
export async function pretrainShared(setup: MultitaskSetup, c: { steps: number; lr: number; seed: number; onStep?: (log: StepLog, task: TaskName) => unknown }) {
  const schedule = taskSchedule(setup.members.length, c.steps, c.seed);
  const nth = new Int32Array(c.steps);
  const seen = new Array<number>(setup.members.length).fill(0);
  schedule.forEach((t, s) => { nth[s] = seen[t]!++; });
  const member = (step: number) => setup.members[schedule[step]!]!;
  const trained = await trainLoop({
    trainable: setup.trainable,
    batch: (step) => member(step).data.batch(nth[step]!),
    loss: (b, step) => member(step).data.loss(member(step).peft, b, step),
    config: { steps: c.steps, lr: c.lr, seed: c.seed },
    onStep: (log) => c.onStep?.(log, member(log.step).task),
  });
  trained.optimizer.dispose();
  return { schedule, losses: trained.losses, seconds: trained.seconds };
}

/** Copies of the method's own tensors by key (what stage 2 starts from). */
export async function methodValues(method: PeftMethod): Promise<Map<string, Float32Array | Float64Array>> {
  const out = new Map<string, Float32Array | Float64Array>();
  for (const [k, t] of method.params) out.set(k, t.dtype === 'f64' ? Float64Array.from(await t.data()) : Float32Array.from(await t.data()));
  return out;
}

/**
 * A run with spec.pretrain: stage 1 on spec.pretrain.tasks, then runOne on the target from its prompt (fresh head). The
 * run's time is both stages'; its peak memory the larger; its steps, curve and scores stage 2's.
 */
export async function runPretrained(spec: RunSpec, seed: number, lr: number, o: RunOptions, tokenizer: TextTokenizer, start: RunStart = {}): Promise<OneRun> {
  const { tasks, steps } = spec.pretrain!;
  if (!Number.isSafeInteger(steps) || steps < 1) throw new Error(`${spec.label}: pretraining steps must be an integer ≥ 1, got ${steps}`);
  const total = steps + o.steps;
  let peak = memoryBytes(o.backend);
  const setup = await multitaskSetup(tasks, spec.method, { ...spec.settings, seed: spec.methodSeed ?? seed }, seed, o, tokenizer);
  let pretrained: Awaited<ReturnType<typeof pretrainShared>>;
  let values: Map<string, Float32Array | Float64Array>;
  try {
    pretrained = await pretrainShared(setup, {
      steps, lr, seed,
      onStep: (log) => {
        peak = Math.max(peak, memoryBytes(o.backend));
        o.onStep?.(`${spec.label} (pretraining)`, log, total);
      },
    });
    values = await methodValues(setup.method);
  } finally {
    setup.dispose();
  }
  const onStep = o.onStep;
  const run = await runOne({ ...spec, pretrain: undefined }, seed, lr, { ...o, onStep: onStep && ((label, log) => onStep(label, { ...log, step: log.step + steps }, total)) },
    tokenizer, { ...start, values });
  return { ...run, run: { ...run.run, trainSeconds: run.run.trainSeconds + pretrained.seconds }, peakMB: Math.max(run.peakMB, peak / 2 ** 20) };
}

export interface MultitaskAblationOptions {
  target: TaskName;
  tasks: TaskName[];
  pretrainSteps: number;
  settings: MethodSettings;
  /** The main table's ptuning-v2 row on these settings, when it ran (the same runs "from scratch" would repeat). */
  scratch?: MethodResult;
  /** One row's runs under the compare protocol (its learning rate, its seeds), as compare.ts's other ablations. */
  variant: (label: string, method: string, s: MethodSettings, spec?: Partial<RunSpec>) => Promise<MethodResult>;
}

/** The rows above, mean ± standard error over the seeds, with each row's train time (both stages) and peak memory. */
export async function multitaskAblation(a: MultitaskAblationOptions): Promise<AblationResult> {
  const names = a.tasks.join('+');
  const onlyTarget = a.tasks.length === 1 && a.tasks[0] === a.target;
  const specs: [string, Partial<RunSpec> | null][] = [
    ['P-tuning v2 from scratch', null],
    [`prompt pretrained on ${names}`, { pretrain: { tasks: a.tasks, steps: a.pretrainSteps } }],
    ...(onlyTarget ? [] : [[`prompt pretrained on ${a.target} alone`, { pretrain: { tasks: [a.target], steps: a.pretrainSteps } }] as [string, Partial<RunSpec>]]),
  ];
  const results = await Promise.all(specs.map(([label, spec]) => (spec === null && a.scratch ? a.scratch : a.variant(label, 'ptuning-v2', a.settings, spec ?? {}))));
  const rows = results.map((r, x) => ({
    label: specs[x]![0], method: r.method, x, validation: r.validation, validationSe: r.validationSe, test: r.test, testSe: r.testSe,
    trainable: r.trainable, trainSeconds: r.trainSeconds, peakMB: r.peakMB, lr: r.lr, stepsKept: r.stepsKept,
  }));
  return { kind: 'multitask', title: `P-tuning v2 on ${a.target}: a prompt pretrained on ${names} vs from scratch`, rows, tasks: a.tasks, pretrainSteps: a.pretrainSteps };
}
