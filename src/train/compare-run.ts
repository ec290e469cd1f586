/**
 * One run of the main job: one method, one seed, one learning rate, trained with early stopping on validation and
 * scored on test once at the kept checkpoint. compare.ts schedules these runs (in this thread, or several at a time
 * in worker threads: compare-workers.ts); a run depends on nothing but its arguments, so where it runs does not
 * change its numbers.
 */
import type { Backend } from '../autograd/backend.js';
import type { Tensor } from '../autograd/tensor.js';
import { PeftModel } from '../peft/peft-model.js';
import { buildMethod, methodSpec, parseMethodList } from '../peft/registry.js';
import type { MethodAnalysis, MethodSettings } from '../peft/spec.js';
import type { Bert } from '../models/bert.js';
import type { Gpt2 } from '../models/gpt2.js';
import { assignValues } from '../models/params.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { frozenBodyCache, makeTask, type Evaluation, type TaskInfo, type TaskName, TASK_INFO } from './tasks.js';
import { baseOf } from '../peft/base.js';
import { parseTemplate, templateLength, virtualCount } from '../peft/template.js';
import { loadBert, loadGpt2 } from './model-dir.js';
import { trainLoop, type StepLog } from './trainer.js';
import { ensembleProbabilities } from './ensemble.js';
import type { Batch } from '../data/datasets.js';
import type { BiasDeltaRow, SeedRun } from '../report/results.js';

/** What a run needs besides its method, seed and learning rate (all plain data but the backend and the callback). */
export interface RunOptions {
  task: TaskName;
  /** Model name or folder; default the embedded tiny model of the task's family. */
  model?: string;
  backend: Backend;
  /** The budget: at most this many steps per run. */
  steps: number;
  /** Early stopping: score validation every `evalEvery` steps, stop after `patience` scores without a gain. */
  evalEvery: number;
  patience: number;
  /**
   * Early stopping never ends a run before this step (default 0): a run whose validation score sits on a plateau
   * for its first hundred steps before it climbs (P-tuning v2 on spam: 0.60–0.62 at steps 50–150, then 0.79 at 200)
   * is not cut off during the plateau. compare's default is a third of `steps`.
   */
  minSteps?: number;
  batchSize: number;
  maxLength: number;
  evalLimit?: number;
  /** Progress: which run, and the step log. */
  onStep?: (run: string, log: StepLog, steps: number) => void;
}

export interface RunSpec {
  label: string;
  method: string;
  settings: MethodSettings;
  evalTest: boolean;
  /** The data-size ablation: train on the first N of the seed's shuffled training split (TaskOptions.trainSize). */
  trainSize?: number;
  /** P-tuning's template (CompareOptions.template): the virtual tokens at its slots, the mail at {x}, [CLS] first. */
  template?: string;
  /** Seed of the method's own tensors (a prompt's initial values); default the run's seed. */
  methodSeed?: number;
  /** Prompt ensembling: K prompts of `method` in one batch, seeds methodSeed + j (./compare-ensemble.ts). */
  ensemble?: number;
  /** Also return the kept checkpoint's class probabilities on validation and test (to average runs afterwards). */
  keepProbabilities?: boolean;
  /**
   * Read the class from a pretrained LM head through a verbalizer instead of the task's classifier (the gpt-vs-bert
   * ablation; TaskOptions.verbalizer): `model` loads with its LM head (GPT-2's, or BERT's masked-LM head), its own
   * tokenizer, and the mail in `template`.
   */
  lm?: LmReadout;
  /**
   * The multitask ablation: first train the method's own tensors (P-tuning v2's deep prompt) on these tasks' training
   * splits for `steps` steps, shared, with a head per task; then this run starts from them with a fresh head
   * (./compare-multitask.ts).
   */
  pretrain?: { tasks: TaskName[]; steps: number };
}

/** Where a run starts besides its seed: the method's own tensors by key (a pretrained prompt), and a look before step 0. */
export interface RunStart {
  values?: ReadonlyMap<string, ArrayLike<number>>;
  /** Awaited once the run's model is built and `values` are in place, before the first step. */
  ready?: (peft: PeftModel) => unknown;
}

/** A run's model read through its LM head: which model, the template with its slot, one word per class. */
export interface LmReadout { family: 'gpt2' | 'bert'; model: string; template: string; words: string[] }

/** Host and device bytes held now (array buffers + the WebGPU pool). */
export function memoryBytes(backend: Backend): number {
  const gpu = (backend as { rt?: { bytesAllocated?: number } }).rt?.bytesAllocated ?? 0;
  return process.memoryUsage().arrayBuffers + gpu;
}

export async function loadFor(task: TaskInfo, o: Pick<RunOptions, 'backend' | 'model'>, seed: number, lm?: LmReadout): Promise<{ model: Gpt2 | Bert; tokenizer: TextTokenizer }> {
  const where = { backend: o.backend, seed };
  if (lm?.family === 'gpt2') return loadGpt2(lm.model, where);
  if (lm) {
    const loaded = await loadBert(lm.model, { ...where, head: 'masked-lm' });
    const fresh = loaded.model.loadReport?.initialized.filter((n) => n.startsWith('cls.predictions.')) ?? [];
    if (fresh.length) {
      loaded.model.dispose();
      throw new Error(`${lm.model}: its checkpoint has no masked-LM head (${fresh.join(', ')} missing), so a verbalizer has nothing pretrained to read`);
    }
    return loaded;
  }
  if (task.family === 'gpt2') return loadGpt2(o.model ?? 'gpt2-tiny', where);
  return loadBert(o.model ?? 'bert-tiny', { ...where, head: task.head as 'sequence-classification', numLabels: task.numLabels });
}

export interface OneRun {
  run: SeedRun;
  validation: Evaluation;
  test: Evaluation;
  trainable: number;
  percent: number;
  losses: number[];
  peakMB: number;
  deltas?: BiasDeltaRow[];
  /** spec.keepProbabilities: (N, C) class probabilities at the kept checkpoint, in each split's order. */
  probabilities?: { validation: Float64Array; test: Float64Array };
  /** An ensemble run: each prompt alone at the ensemble's kept checkpoint. */
  members?: { validation: number; test: number }[];
}

/** The kept checkpoint of early stopping: its step, its validation evaluation and the trainable values then. */
interface Kept<E> { step: number; eval: E; values: (Float32Array | Float64Array)[] }

/**
 * Early stopping on validation, for a training loop's `after` hook: `after(done)` scores validation every `evalEvery`
 * steps and at the last step, keeps the trainable values of the best score, and asks to stop after `patience` scores
 * without a gain, but not before step `minSteps` (a score ties the best when its metric is equal and its `tieBreak`, where the task gives one, no
 * higher); `restore()` puts the kept values back (when training went on past them) and returns what was kept.
 */
export function earlyStopping<E extends { metric: number; tieBreak?: number } = Evaluation>(trainable: Tensor[], o: Pick<RunOptions, 'steps' | 'evalEvery' | 'patience' | 'minSteps'>, validate: () => Promise<E>) {
  const curve: [number, number][] = [];
  let best: Kept<E> | null = null;
  let sinceBest = 0;
  let stepsRun = 0;
  const after = async (done: number): Promise<boolean> => {
    stepsRun = done;
    if (done % o.evalEvery !== 0 && done !== o.steps) return false;
    const v = await validate();
    curve.push([done, v.metric]);
    // a gain: a higher metric, or the same metric and a higher tie-break (the subject task's −loss; absent: never)
    if (!best || v.metric > best.eval.metric || (v.metric === best.eval.metric && (v.tieBreak ?? NaN) > (best.eval.tieBreak ?? NaN))) {
      const values = await Promise.all(trainable.map(async (t: Tensor) => (t.dtype === 'f64' ? Float64Array.from(await t.data()) : Float32Array.from(await t.data()))));
      best = { step: done, eval: v, values };
      sinceBest = 0;
    } else sinceBest++;
    return sinceBest >= o.patience && done >= (o.minSteps ?? 0);
  };
  const restore = (): Kept<E> | null => {
    const kept = best as Kept<E> | null;
    if (kept && kept.step !== stepsRun) trainable.forEach((t, i) => assignValues(t, kept.values[i]!));
    return kept;
  };
  return { after, restore, curve, stepsRun: () => stepsRun };
}

/** Softmax class probabilities of a batch under `peft` ((B, C), f64): one adapter, or the average of its K adapters. */
export const classProbabilities = async (peft: PeftModel, batch: Batch): Promise<Float64Array> => (await ensembleProbabilities(peft, batch)).probs;

/**
 * One method, one seed, one learning rate: train up to `steps`, score validation every `evalEvery` steps and at the
 * end, keep the trainable values of the best score, stop after `patience` scores without a gain; restore the kept
 * values, then score test once.
 */
export async function runOne(spec: RunSpec, seed: number, lr: number, o: RunOptions, tokenizer: TextTokenizer, start: RunStart = {}): Promise<OneRun> {
  const loaded = await loadFor(TASK_INFO[o.task], o, seed, spec.lm);
  const { model } = loaded;
  const method = await buildMethod(spec.method, baseOf(model), { ...spec.settings, seed: spec.methodSeed ?? seed });
  if (start.values) {
    const keys = [...method.params.keys()];
    const given = [...start.values.keys()];
    if (keys.length !== given.length || keys.some((k) => !start.values!.has(k))) {
      throw new Error(`${spec.label}: the starting values are for ${given.join(', ')}, the method has ${keys.join(', ')}`);
    }
    for (const k of keys) method.params.assign(k, start.values.get(k)!);
  }
  const lm = spec.lm;
  if (lm) {
    const slots = virtualCount(parseTemplate(lm.template));
    if (slots !== (method.input?.numVirtualTokens ?? 0) || method.kv || method.hidden) {
      model.dispose();
      throw new Error(`${spec.label}: the template "${lm.template}" has ${slots} virtual slots, '${spec.method}' ${method.input ? `has ${method.input.numVirtualTokens} input virtual tokens` : 'has no input prompt'}${method.kv || method.hidden ? ' and prompts inside the layers' : ''}`);
    }
  }
  // infix tuning's slots are part of the task's input layout (the subject task puts them after the body); an LM
  // readout reads its own model's tokenizer
  const template = spec.template === undefined ? null : parseTemplate(spec.template);
  if (template !== null && (lm || method.input?.numVirtualTokens !== virtualCount(template))) {
    model.dispose();
    throw new Error(`${spec.label}: the template "${spec.template}" has ${virtualCount(template)} virtual slots, '${spec.method}' ${method.input ? `has ${method.input.numVirtualTokens} input virtual tokens` : 'has no input prompt'}`);
  }
  // a template's slots and words come on top of the mail's maxLength − 2 tokens, as prepended virtual tokens do
  const room = template === null ? 0 : templateLength(template, (text) => tokenizer.encode(text, { addSpecialTokens: false }));
  const task = makeTask(o.task, lm ? loaded.tokenizer : tokenizer, { batchSize: o.batchSize, maxLength: o.maxLength + room, evalLimit: o.evalLimit, seed, template: spec.template,
    infix: method.hidden?.numVirtualTokens, trainSize: spec.trainSize,
    verbalizer: lm ? { template: lm.template, words: lm.words, causal: lm.family === 'gpt2' } : undefined });
  const peft = new PeftModel(model, [method]);
  await start.ready?.(peft);
  const counts = peft.counts();
  // a method's analysis hook (BitFit: which biases moved) sees its base parameters before and after training
  const analysis: MethodAnalysis | undefined = parseMethodList(spec.method).map((p) => methodSpec(p).analysis).find((a) => a);
  const before = analysis ? await analysis.capture(model.params) : null;
  let peak = memoryBytes(o.backend);
  const trainable = peft.trainable();
  // Frozen's body never changes, so its validation batches' pooled vectors are computed once (the same scores)
  const cache = frozenBodyCache(peft);
  const stopping = earlyStopping(trainable, o, () => task.evaluate(peft, 'validation', cache));
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
      after: stopping.after,
    });
    trained.optimizer.dispose();
    losses = trained.losses;
    seconds = trained.seconds;
  }
  // a method with nothing to train here (Frozen on GPT-2, which has no separate head) is scored as it is
  const kept = stopping.restore();
  const validation = kept?.eval ?? await task.evaluate(peft, 'validation', cache);
  cache?.dispose();
  const test = spec.evalTest ? await task.evaluate(peft, 'test') : { metric: NaN, extra: {} };
  const deltas = analysis && before ? analysis.compare(before, await analysis.capture(model.params)) : undefined;
  let probabilities: OneRun['probabilities'];
  if (spec.keepProbabilities) {
    const scoring = task.probabilities;
    if (!scoring) throw new Error(`${spec.label}: the ${o.task} task is not scored from class probabilities (spam is)`);
    const predict = (b: Batch) => classProbabilities(peft, b);
    probabilities = { validation: await scoring.of(predict, 'validation'), test: await scoring.of(predict, 'test') };
  }
  for (const m of peft.adapters.flat()) m.params.dispose();
  model.dispose();
  return {
    run: { seed, validation: validation.metric, test: test.metric, stepsRun: stopping.stepsRun(), stepsKept: kept?.step ?? 0, curve: stopping.curve, trainSeconds: seconds },
    validation, test, trainable: counts.trainable, percent: counts.percent, losses, peakMB: peak / 2 ** 20,
    deltas: deltas?.map((d) => ({ ...d })), probabilities,
  };
}
