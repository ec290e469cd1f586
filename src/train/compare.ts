/**
 * The main job: every method on one task, same data, same steps, same seed — trainable share, validation and
 * test metric, time and memory per method, loss curves, BitFit's per-layer × bias-type ‖Δb‖, and optionally the
 * seed's ablations (prompt length; reparameterisation).
 */
import type { Backend } from '../autograd/backend.js';
import type { BiasType } from '../peft/bitfit.js';
import { PeftModel } from '../peft/peft-model.js';
import { buildMethod, defaultLr, methodLabel, methodSpec, parseMethodList } from '../peft/registry.js';
import type { MethodAnalysis, MethodSettings } from '../peft/spec.js';
import { Bert } from '../models/bert.js';
import type { Gpt2 } from '../models/gpt2.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { makeTask, TASK_INFO, type TaskInfo, type TaskName } from './tasks.js';
import { baseOf } from '../peft/base.js';
import { loadBert, loadGpt2 } from './model-dir.js';
import { trainLoop, type StepLog } from './trainer.js';
import type { AblationResult, CompareResult, MethodResult } from '../report/results.js';

export interface CompareOptions {
  task: TaskName;
  /** Model name or folder; default the embedded tiny model of the task's family. */
  model?: string;
  /** Method names or compositions ('bitfit+prompt'). */
  methods: string[];
  backend: Backend;
  steps: number;
  batchSize: number;
  maxLength: number;
  seed: number;
  /** The methods' shared settings; absent ones take each method's defaults (src/peft/registry.ts). */
  virtualTokens?: number;
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
  lr?: Partial<Record<string, number>>;
  evalLimit?: number;
  ablations: ('prompt-length' | 'reparam')[];
  /** Progress: which run, and the step log. */
  onStep?: (run: string, log: StepLog, steps: number) => void;
  onRunDone?: (r: MethodResult) => void;
}

interface RunSpec { label: string; method: string; settings: MethodSettings; evalTest: boolean }

/** Host and device bytes held now (array buffers + the WebGPU pool). */
function memoryBytes(backend: Backend): number {
  const gpu = (backend as { rt?: { bytesAllocated?: number } }).rt?.bytesAllocated ?? 0;
  return process.memoryUsage().arrayBuffers + gpu;
}

async function loadFor(task: TaskInfo, o: CompareOptions): Promise<{ model: Gpt2 | Bert; tokenizer: TextTokenizer }> {
  const where = { backend: o.backend, seed: o.seed };
  if (task.family === 'gpt2') return loadGpt2(o.model ?? 'gpt2-tiny', where);
  return loadBert(o.model ?? 'bert-tiny', { ...where, head: task.head as 'sequence-classification', numLabels: task.numLabels });
}

async function runOne(spec: RunSpec, o: CompareOptions, tokenizer: TextTokenizer): Promise<{ result: MethodResult; deltas?: ReturnType<MethodAnalysis['compare']> }> {
  const task = makeTask(o.task, tokenizer, o);
  const { model } = await loadFor(task, o);
  const method = await buildMethod(spec.method, baseOf(model), spec.settings);
  const peft = new PeftModel(model, [method]);
  const counts = peft.counts();
  // a method's analysis hook (BitFit: which biases moved) sees its base parameters before and after training
  const analysis: MethodAnalysis | undefined = parseMethodList(spec.method).map((p) => methodSpec(p).analysis).find((a) => a);
  const before = analysis ? await analysis.capture(model.params) : null;
  let peak = memoryBytes(o.backend);
  // a method with nothing to train here (Frozen on GPT-2, which has no separate head) is evaluated as it is
  const trained = peft.trainable().length === 0 ? { losses: [], seconds: 0, optimizer: null } : await trainLoop({
    trainable: peft.trainable(),
    batch: (step) => task.batch(step),
    loss: (b, step) => task.loss(peft, b, step),
    config: { steps: o.steps, lr: o.lr?.[spec.method] ?? defaultLr(spec.method), seed: o.seed },
    onStep: (log) => {
      peak = Math.max(peak, memoryBytes(o.backend));
      o.onStep?.(spec.label, log, o.steps);
    },
  });
  trained.optimizer?.dispose();
  const validation = await task.evaluate(peft, 'validation');
  const test = spec.evalTest ? await task.evaluate(peft, 'test') : { metric: NaN, extra: {} };
  const deltas = analysis && before ? analysis.compare(before, await analysis.capture(model.params)) : undefined;
  const extra: Record<string, number> = {};
  for (const [k, v] of Object.entries(validation.extra)) extra[`validation ${k}`] = v;
  for (const [k, v] of Object.entries(test.extra)) extra[`test ${k}`] = v;
  const result: MethodResult = {
    method: spec.method, label: spec.label, trainable: counts.trainable, percent: counts.percent,
    validation: validation.metric, test: test.metric, extra, trainSeconds: trained.seconds,
    peakMB: peak / 2 ** 20, losses: trained.losses,
  };
  for (const m of peft.adapters.flat()) m.params.dispose();
  model.dispose();
  return { result, deltas };
}

export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  const start = performance.now();
  const probeTask = TASK_INFO[o.task];
  const { model: first, tokenizer } = await loadFor(probeTask, o);
  const baseParams = first.params.count();
  const modelName = o.model ?? (probeTask.family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny');
  first.dispose();
  const settings: MethodSettings = { virtualTokens: o.virtualTokens, hidden: o.hidden, encoder: o.encoder, biasTypes: o.biasTypes, seed: o.seed };
  const methods: MethodResult[] = [];
  let bitfitDeltas: CompareResult['bitfitDeltas'];
  for (const m of o.methods) {
    const label = methodLabel(m, settings);
    const { result, deltas } = await runOne({ label, method: m, settings, evalTest: true }, o, tokenizer);
    methods.push(result);
    o.onRunDone?.(result);
    if (deltas) bitfitDeltas = deltas.map((d) => ({ ...d }));
  }
  const ablations: AblationResult[] = [];
  if (o.ablations.includes('prompt-length')) {
    const rows: AblationResult['rows'] = [];
    for (const method of ['prompt', 'ptuning-v2'] as const) {
      for (const P of [1, 5, 10, 20]) {
        const { result } = await runOne({ label: `${method} P=${P}`, method, settings: { ...settings, virtualTokens: P }, evalTest: false }, o, tokenizer);
        o.onRunDone?.(result);
        rows.push({ label: result.label, method, x: P, validation: result.validation });
      }
    }
    ablations.push({ kind: 'prompt-length', title: 'Prompt length: input-only prompts vs deep prompts', rows });
  }
  if (o.ablations.includes('reparam')) {
    const variants: RunSpec[] = [
      { label: 'prefix, MLP reparam', method: 'prefix', settings: { ...settings, hidden: o.hidden === undefined ? undefined : Math.max(o.hidden, 32) }, evalTest: false },
      { label: 'prefix, direct', method: 'prefix', settings: { ...settings, hidden: 0 }, evalTest: false },
      { label: 'ptuning, LSTM', method: 'ptuning', settings: { ...settings, encoder: 'lstm' }, evalTest: false },
      { label: 'ptuning, MLP', method: 'ptuning', settings: { ...settings, encoder: 'mlp' }, evalTest: false },
      { label: 'prompt, no encoder', method: 'prompt', settings, evalTest: false },
    ];
    const rows: AblationResult['rows'] = [];
    for (const [i, v] of variants.entries()) {
      const { result } = await runOne(v, o, tokenizer);
      o.onRunDone?.(result);
      rows.push({ label: v.label, method: v.method, x: i, validation: result.validation });
    }
    ablations.push({ kind: 'reparam', title: 'Reparameterisation: MLP / LSTM encoders vs training the prompt directly', rows });
  }
  return {
    task: o.task, taskDescription: probeTask.description, metric: probeTask.metric, model: modelName,
    backend: o.backend.name, device: o.backend.describe(), steps: o.steps, seed: o.seed, baseParams,
    methods, bitfitDeltas, ablations, totalSeconds: (performance.now() - start) / 1000, date: new Date().toISOString(),
  };
}
