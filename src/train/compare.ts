/**
 * The main job: every method on one task, the same data and seeds, a fair protocol — each method with its own
 * learning rate (its spec's default, `--lr`, or chosen on the validation split by `--grid`), its own number of steps
 * by early stopping on validation within one budget of steps, several seeds reported as mean ± standard error, the
 * test split scored once per seed at the kept checkpoint and never used to choose anything. Plus trainable share,
 * time and memory, loss curves, BitFit's per-layer × bias-type mean |Δb|, and the seed's ablations on request.
 */
import type { Backend } from '../autograd/backend.js';
import type { Tensor } from '../autograd/tensor.js';
import type { BiasType } from '../peft/bitfit.js';
import { PeftModel } from '../peft/peft-model.js';
import { buildMethod, defaultLr, methodLabel, methodSpec, parseMethodList } from '../peft/registry.js';
import type { MethodAnalysis, MethodSettings } from '../peft/spec.js';
import { Bert } from '../models/bert.js';
import type { Gpt2 } from '../models/gpt2.js';
import { assignValues } from '../models/params.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { makeTask, TASK_INFO, type Evaluation, type TaskInfo, type TaskName } from './tasks.js';
import { baseOf } from '../peft/base.js';
import { loadBert, loadGpt2 } from './model-dir.js';
import { trainLoop, type StepLog } from './trainer.js';
import { meanSe } from './stats.js';
import type { AblationKind, AblationResult, BiasDeltaRow, CompareResult, MethodResult, SeedRun } from '../report/results.js';

export const ABLATIONS: AblationKind[] = ['prompt-length', 'reparam', 'bitfit-subset', 'prefix-placement'];

export interface CompareOptions {
  task: TaskName;
  /** Model name or folder; default the embedded tiny model of the task's family. */
  model?: string;
  /** Method names or compositions ('bitfit+prompt'). */
  methods: string[];
  backend: Backend;
  /** The budget: at most this many steps per run. */
  steps: number;
  /** Early stopping: score validation every `evalEvery` steps, stop after `patience` scores without a gain. */
  evalEvery: number;
  patience: number;
  /** One run per seed and method (data order, head and prompt initialisation, dropout). */
  seeds: number[];
  batchSize: number;
  maxLength: number;
  /** The methods' shared settings; absent ones take each method's defaults (src/peft/registry.ts). */
  virtualTokens?: number;
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
  /** Learning rate per method; absent ones take the method's default (or `grid`'s choice). */
  lr?: Partial<Record<string, number>>;
  /** Choose each method's learning rate from its grid by the first seed's best validation metric. */
  grid?: boolean;
  evalLimit?: number;
  ablations: AblationKind[];
  /** Progress: which run, and the step log. */
  onStep?: (run: string, log: StepLog, steps: number) => void;
  onRunDone?: (label: string, run: SeedRun) => void;
}

interface RunSpec { label: string; method: string; settings: MethodSettings; evalTest: boolean }

/** The learning rates `--grid` tries for a method: its default × {1/10, 1/3, 1, 3}. */
export function lrGrid(method: string): number[] {
  const lr = defaultLr(method);
  return [lr / 10, lr / 3, lr, lr * 3].map((x) => Number(x.toPrecision(2)));
}

/** Host and device bytes held now (array buffers + the WebGPU pool). */
function memoryBytes(backend: Backend): number {
  const gpu = (backend as { rt?: { bytesAllocated?: number } }).rt?.bytesAllocated ?? 0;
  return process.memoryUsage().arrayBuffers + gpu;
}

async function loadFor(task: TaskInfo, o: CompareOptions, seed: number): Promise<{ model: Gpt2 | Bert; tokenizer: TextTokenizer }> {
  const where = { backend: o.backend, seed };
  if (task.family === 'gpt2') return loadGpt2(o.model ?? 'gpt2-tiny', where);
  return loadBert(o.model ?? 'bert-tiny', { ...where, head: task.head as 'sequence-classification', numLabels: task.numLabels });
}

interface OneRun {
  run: SeedRun;
  validation: Evaluation;
  test: Evaluation;
  trainable: number;
  percent: number;
  losses: number[];
  peakMB: number;
  deltas?: BiasDeltaRow[];
}

/**
 * One method, one seed, one learning rate: train up to `steps`, score validation every `evalEvery` steps and at the
 * end, keep the trainable values of the best score, stop after `patience` scores without a gain; restore the kept
 * values, then score test once.
 */
async function runOne(spec: RunSpec, seed: number, lr: number, o: CompareOptions, tokenizer: TextTokenizer): Promise<OneRun> {
  const { model } = await loadFor(TASK_INFO[o.task], o, seed);
  const method = await buildMethod(spec.method, baseOf(model), { ...spec.settings, seed });
  // infix tuning's slots are part of the task's input layout (the subject task puts them after the body)
  const task = makeTask(o.task, tokenizer, { ...o, seed, infix: method.hidden?.numVirtualTokens });
  const peft = new PeftModel(model, [method]);
  const counts = peft.counts();
  // a method's analysis hook (BitFit: which biases moved) sees its base parameters before and after training
  const analysis: MethodAnalysis | undefined = parseMethodList(spec.method).map((p) => methodSpec(p).analysis).find((a) => a);
  const before = analysis ? await analysis.capture(model.params) : null;
  let peak = memoryBytes(o.backend);
  const trainable = peft.trainable();
  const curve: [number, number][] = [];
  let best: { metric: number; step: number; eval: Evaluation; values: Float32Array[] | Float64Array[] } | null = null;
  let sinceBest = 0;
  let stepsRun = 0;
  const score = async (done: number): Promise<boolean> => {
    stepsRun = done;
    if (done % o.evalEvery !== 0 && done !== o.steps) return false;
    const v = await task.evaluate(peft, 'validation');
    curve.push([done, v.metric]);
    if (!best || v.metric > best.metric) {
      const values = await Promise.all(trainable.map(async (t: Tensor) => (t.dtype === 'f64' ? Float64Array.from(await t.data()) : Float32Array.from(await t.data()))));
      best = { metric: v.metric, step: done, eval: v, values: values as Float32Array[] };
      sinceBest = 0;
    } else sinceBest++;
    return sinceBest >= o.patience;
  };
  let losses: number[] = [];
  let seconds = 0;
  if (trainable.length) {
    const trained = await trainLoop({
      trainable,
      batch: (step) => task.batch(step),
      loss: (b, step) => task.loss(peft, b, step),
      config: { steps: o.steps, lr, seed },
      onStep: (log) => {
        peak = Math.max(peak, memoryBytes(o.backend));
        o.onStep?.(spec.label, log, o.steps);
      },
      after: score,
    });
    trained.optimizer.dispose();
    losses = trained.losses;
    seconds = trained.seconds;
  }
  // a method with nothing to train here (Frozen on GPT-2, which has no separate head) is scored as it is
  const kept = best as { metric: number; step: number; eval: Evaluation; values: Float32Array[] } | null;
  if (kept && kept.step !== stepsRun) trainable.forEach((t, i) => assignValues(t, kept.values[i]!));
  const validation = kept?.eval ?? await task.evaluate(peft, 'validation');
  const test = spec.evalTest ? await task.evaluate(peft, 'test') : { metric: NaN, extra: {} };
  const deltas = analysis && before ? analysis.compare(before, await analysis.capture(model.params)) : undefined;
  for (const m of peft.adapters.flat()) m.params.dispose();
  model.dispose();
  return {
    run: { seed, validation: validation.metric, test: test.metric, stepsRun, stepsKept: kept?.step ?? 0, curve, trainSeconds: seconds },
    validation, test, trainable: counts.trainable, percent: counts.percent, losses, peakMB: peak / 2 ** 20,
    deltas: deltas?.map((d) => ({ ...d })),
  };
}

/** Every seed of one method (after choosing its learning rate), folded into one result row. */
async function runMethod(spec: RunSpec, o: CompareOptions, tokenizer: TextTokenizer): Promise<{ result: MethodResult; deltas?: BiasDeltaRow[] }> {
  const runs: OneRun[] = [];
  const done = (r: OneRun) => { runs.push(r); o.onRunDone?.(spec.label, r.run); };
  let lr = o.lr?.[spec.method] ?? defaultLr(spec.method);
  let grid: MethodResult['grid'];
  if (o.grid && o.lr?.[spec.method] === undefined) {
    // the grid runs on the first seed; the winner's run is that seed's run
    const tried: { lr: number; run: OneRun }[] = [];
    for (const x of lrGrid(spec.method)) {
      const r = await runOne({ ...spec, label: `${spec.label} lr=${x}` }, o.seeds[0]!, x, o, tokenizer);
      o.onRunDone?.(`${spec.label} lr=${x}`, r.run);
      tried.push({ lr: x, run: r });
    }
    const win = tried.reduce((a, b) => (b.run.run.validation > a.run.run.validation ? b : a));
    lr = win.lr;
    grid = tried.map((t) => ({ lr: t.lr, validation: t.run.run.validation }));
    runs.push(win.run);
  }
  for (const seed of o.seeds.slice(runs.length)) done(await runOne(spec, seed, lr, o, tokenizer));
  const first = runs[0]!;
  const val = meanSe(runs.map((r) => r.run.validation));
  const test = meanSe(runs.map((r) => r.run.test));
  const extra: Record<string, number> = {};
  for (const k of Object.keys(first.validation.extra)) extra[`validation ${k}`] = meanSe(runs.map((r) => r.validation.extra[k]!)).mean;
  for (const k of Object.keys(first.test.extra)) extra[`test ${k}`] = meanSe(runs.map((r) => r.test.extra[k]!)).mean;
  const result: MethodResult = {
    method: spec.method, label: spec.label, trainable: first.trainable, percent: first.percent,
    validation: val.mean, validationSe: val.se, test: test.mean, testSe: test.se, extra, lr,
    trainSeconds: meanSe(runs.map((r) => r.run.trainSeconds)).mean, peakMB: Math.max(...runs.map((r) => r.peakMB)),
    losses: first.losses, stepsKept: meanSe(runs.map((r) => r.run.stepsKept)).mean, runs: runs.map((r) => r.run), grid,
  };
  return { result, deltas: first.deltas };
}

export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  if (!o.seeds.length) throw new Error('compare: at least one seed');
  const start = performance.now();
  const probeTask = TASK_INFO[o.task];
  const { model: first, tokenizer } = await loadFor(probeTask, o, o.seeds[0]!);
  const baseParams = first.params.count();
  const modelName = o.model ?? (probeTask.family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny');
  first.dispose();
  const settings: MethodSettings = { virtualTokens: o.virtualTokens, hidden: o.hidden, encoder: o.encoder, biasTypes: o.biasTypes };
  const methods: MethodResult[] = [];
  let bitfitDeltas: CompareResult['bitfitDeltas'];
  for (const m of o.methods) {
    const { result, deltas } = await runMethod({ label: methodLabel(m, settings), method: m, settings, evalTest: true }, o, tokenizer);
    methods.push(result);
    if (deltas) bitfitDeltas = deltas;
  }
  const ablations: AblationResult[] = [];
  const row = (r: MethodResult, x: number): AblationResult['rows'][number] => ({ label: r.label, method: r.method, x, validation: r.validation,
    validationSe: r.validationSe, test: r.test, testSe: r.testSe, trainable: r.trainable });
  // an ablation's variants are chosen on validation like the main rows; their test scores are shown, never used
  const variant = async (label: string, method: string, s: MethodSettings) => (await runMethod({ label, method, settings: s, evalTest: true }, o, tokenizer)).result;
  for (const kind of o.ablations) {
    if (kind === 'prompt-length') {
      const rows: AblationResult['rows'] = [];
      for (const method of ['prompt', 'ptuning-v2'] as const) {
        for (const P of [1, 5, 10, 20]) rows.push(row(await variant(`${method} P=${P}`, method, { ...settings, virtualTokens: P }), P));
      }
      ablations.push({ kind, title: 'Prompt length: input-only prompts vs deep prompts', rows });
    } else if (kind === 'reparam') {
      const variants: [string, string, MethodSettings][] = [
        ['prefix, MLP reparam', 'prefix', { ...settings, hidden: o.hidden === undefined ? undefined : Math.max(o.hidden, 32) }],
        ['prefix, direct', 'prefix', { ...settings, hidden: 0 }],
        ['ptuning, LSTM', 'ptuning', { ...settings, encoder: 'lstm' }],
        ['ptuning, MLP', 'ptuning', { ...settings, encoder: 'mlp' }],
        ['prompt, no encoder', 'prompt', settings],
      ];
      const rows: AblationResult['rows'] = [];
      for (const [i, [label, method, s]] of variants.entries()) rows.push(row(await variant(label, method, s), i));
      ablations.push({ kind, title: 'Reparameterisation: MLP / LSTM encoders vs training the prompt directly', rows });
    } else if (kind === 'bitfit-subset') {
      // the seed (BitFit §4): training only the query and intermediate biases is nearly as good as all biases
      const rows = [
        row(await variant('bitfit, all biases', 'bitfit', { ...settings, biasTypes: undefined }), 0),
        row(await variant('bitfit, query + intermediate', 'bitfit', { ...settings, biasTypes: ['query', 'intermediate'] }), 1),
      ];
      ablations.push({ kind, title: 'BitFit: query + intermediate biases only vs all biases', rows });
    } else if (kind === 'prefix-placement') {
      throw new Error('--ablation prefix-placement is an ablation of --task subject-seq2seq (BART)');
    } else {
      const _: never = kind;
      throw new Error(`unknown ablation ${String(_)}`);
    }
  }
  const sizes = makeTask(o.task, tokenizer, { ...o, seed: o.seeds[0]! }).evalSizes;
  return {
    task: o.task, taskDescription: probeTask.description, metric: probeTask.metric, model: modelName,
    backend: o.backend.name, device: o.backend.describe(), steps: o.steps, seed: o.seeds[0]!, baseParams,
    methods, bitfitDeltas, ablations, totalSeconds: (performance.now() - start) / 1000, date: new Date().toISOString(),
    evalSizes: sizes,
  };
}
