/**
 * `webpeft compare --task subject-seq2seq`: the compare protocol of ./compare.ts (per-method learning rate, early
 * stopping on validation within one budget of steps, seeds as mean ± standard error, test scored once per seed at
 * the kept checkpoint) on BART, whose adapters are lists of methods per attention stack (../peft/seq2seq.ts):
 *
 *   frozen      nothing trains (BART has no task head): the pretrained denoiser, evaluated as it is
 *   full        every weight
 *   prefix      the Prefix-Tuning paper's three prefix sets (encoder self-attn, decoder self-attn, decoder cross-attn),
 *               each through its own MLP reparameterisation
 *   prompt      prompt tuning: virtual tokens at the encoder's input
 *   ptuning-v2  plain (directly trained) prefixes in the three stacks
 *
 * and, by name only (--methods), infix: the activations at P decoder slots between decoder_start and the target at
 * every decoder layer (../peft/infix-tuning.ts). The seed's placement claim, `--ablation prefix-placement`: the three
 * prefix sets vs HF PEFT's decoder-only prefix vs embedding-only (prompt tuning); `--ablation position`
 * (./compare-position.ts): prefix vs infix vs embedding-only vs frozen, ROUGE-L/1/2 and the target loss ± SE.
 */
import { loadSubject } from '../data/load.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { Bart } from '../models/bart.js';
import { fullFineTuning } from '../peft/baselines.js';
import { pTuningV2 } from '../peft/p-tuning-v2.js';
import { promptTuning } from '../peft/prompt-tuning.js';
import { defaultLr } from '../peft/registry.js';
import { type BartAdapter, type BartPrefixPlacement, BART_STACKS, BartPeftModel, bartBase, bartPrefixPlacement } from '../peft/seq2seq.js';
import type { AblationResult, CompareResult, MethodResult, SeedRun } from '../report/results.js';
import type { CompareOptions } from './compare.js';
import { limiter, runCompare } from './compare.js';
import { loadBart } from './model-dir.js';
import { earlyStopping, memoryBytes } from './compare-run.js';
import { BART_POSITION_VARIANTS, POSITION_TASK, POSITION_TASK_ERROR, type VirtualShape, checkPositionShapes, positionAblation, virtualShape } from './compare-position.js';
import { infixTuning } from '../peft/infix-tuning.js';
import { foldExtras, meanSe } from './stats.js';
import { SEQ2SEQ_TASK, SEQ2SEQ_TASK_INFO, type Seq2seqBatch, type Seq2seqEvaluation, type Seq2seqTaskName, buildSeq2seqTask } from './seq2seq-task.js';
import { TASK_INFO, TASK_NAMES, type TaskName } from './tasks.js';
import { trainLoop } from './trainer.js';

/** What compare runs on BART by default. */
export const SEQ2SEQ_METHODS = ['frozen', 'full', 'prefix', 'prompt', 'ptuning-v2'] as const;
/** What --methods may name on BART: the defaults and infix (asked for by name, as on GPT-2). */
export const SEQ2SEQ_ALL_METHODS = [...SEQ2SEQ_METHODS, 'infix'] as const;
type Seq2seqMethod = (typeof SEQ2SEQ_ALL_METHODS)[number] | 'prefix-decoder';

/** Every task `compare` takes: the encoder-only/decoder-only tasks of ./task-build.ts and subject-seq2seq. */
export type CompareTask = TaskName | Seq2seqTaskName;
export const COMPARE_TASKS: CompareTask[] = [...TASK_NAMES, SEQ2SEQ_TASK];
export const isSeq2seqTask = (t: string): t is Seq2seqTaskName => t === SEQ2SEQ_TASK;

/** What the CLI shows of a task: description, metric, family, default model. */
export function compareTaskInfo(t: CompareTask): { description: string; metric: string; family: string; model: string } {
  if (isSeq2seqTask(t)) return SEQ2SEQ_TASK_INFO;
  const info = TASK_INFO[t];
  return { ...info, model: info.family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny' };
}

/** The methods compare runs when --methods is not given. */
export const defaultMethodsFor = (t: CompareTask, all: string[]): string[] => (isSeq2seqTask(t) ? [...SEQ2SEQ_METHODS] : all);

export type AnyCompareOptions = Omit<CompareOptions, 'task'> & { task: CompareTask };

/** runCompare, or the seq2seq protocol below for subject-seq2seq. */
export async function runAnyCompare(o: AnyCompareOptions): Promise<CompareResult> {
  if (!isSeq2seqTask(o.task) && o.ablations.includes('prefix-placement')) {
    throw new Error(`--ablation prefix-placement is an ablation of --task ${SEQ2SEQ_TASK} (BART), not of --task ${o.task}`);
  }
  if (o.task !== POSITION_TASK && !isSeq2seqTask(o.task) && o.ablations.includes('position')) throw new Error(POSITION_TASK_ERROR(o.task));
  if (o.template !== undefined && o.task !== 'spam') throw new Error(`--template: P-tuning templates are for --task spam (the mail is {x}), not ${o.task}`);
  return isSeq2seqTask(o.task) ? runSeq2seqCompare({ ...o, task: o.task }) : runCompare({ ...o, task: o.task });
}

type Seq2seqOptions = Omit<CompareOptions, 'task'> & { task: Seq2seqTaskName };

/**
 * An adapter for one method on a freshly loaded model (seeded like the other tasks' methods). --hidden sets the MLP of
 * prefix tuning and infix tuning alike (absent or 0: the model width), so the position ablation's prefix and infix
 * train through the same one.
 */
async function adapterFor(model: Bart, method: Seq2seqMethod, o: Pick<Seq2seqOptions, 'virtualTokens' | 'hidden'>, seed: number): Promise<BartAdapter> {
  const P = o.virtualTokens ?? 10;
  const projection = { hidden: o.hidden || undefined };
  const prefix = (placement: BartPrefixPlacement) => bartPrefixPlacement(model, { numVirtualTokens: P, projection, seed }, placement);
  switch (method) {
    case 'infix': return { decoder: [infixTuning(bartBase(model, 'decoder'), { numVirtualTokens: P, projection, seed })] };
    case 'frozen': return {};
    case 'full': return { encoder: [fullFineTuning()] };
    case 'prefix': return prefix('all');
    case 'prefix-decoder': return prefix('decoder');
    case 'prompt': return { encoder: [await promptTuning(bartBase(model, 'encoder'), { numVirtualTokens: P, init: { kind: 'vocab' }, seed })] };
    case 'ptuning-v2': return Object.fromEntries(BART_STACKS.map((s, k) => [s, [pTuningV2(bartBase(model, s), { numVirtualTokens: P, seed: seed * 3 + k })]]));
    default: { const _: never = method; throw new Error(`subject-seq2seq: unknown method ${String(_)}`); }
  }
}

/** The learning rate of a method here: --lr, else its registry default (the decoder-only prefix is prefix tuning). */
const lrOf = (method: Seq2seqMethod, o: Seq2seqOptions) => {
  const name = method === 'prefix-decoder' ? 'prefix' : method;
  return o.lr?.[method] ?? o.lr?.[name] ?? defaultLr(name);
};

interface OneRun { run: SeedRun; validation: Seq2seqEvaluation; test: Seq2seqEvaluation; trainable: number; percent: number; losses: number[]; peakMB: number }

/** One method, one seed: train with early stopping on validation ROUGE-L, restore the best, score test once. */
async function runOne(method: Seq2seqMethod, label: string, seed: number, o: Seq2seqOptions): Promise<OneRun> {
  const { model, tokenizer } = await loadBart(o.model ?? SEQ2SEQ_TASK_INFO.model, { backend: o.backend, seed });
  const peft = new BartPeftModel(model, await adapterFor(model, method, o, seed));
  const task = buildSeq2seqTask(tokenizer, model.config, { batchSize: o.batchSize, maxLength: o.maxLength, seed, evalLimit: o.evalLimit }, loadSubject);
  const trainable = peft.trainable();
  const count = trainable.reduce((n, t) => n + t.size, 0);
  let peak = memoryBytes(o.backend);
  const stopping = earlyStopping(trainable, o, () => task.evaluate(peft, 'validation'));
  let losses: number[] = [];
  let seconds = 0;
  if (trainable.length) {
    const trained = await trainLoop({
      trainable, batch: (step) => task.batch(step), loss: (b, step) => task.loss(peft, b as Seq2seqBatch, step),
      config: { steps: o.steps, lr: lrOf(method, o), seed },
      onStep: (log) => { peak = Math.max(peak, memoryBytes(o.backend)); o.onStep?.(label, log, o.steps); },
      after: stopping.after,
    });
    trained.optimizer.dispose();
    losses = trained.losses;
    seconds = trained.seconds;
  }
  const kept = stopping.restore();
  const validation = kept?.eval ?? await task.evaluate(peft, 'validation');
  const test = await task.evaluate(peft, 'test');
  const base = model.params.count();
  for (const m of peft.methods()) m.params.dispose();
  model.dispose();
  return {
    run: { seed, validation: validation.metric, test: test.metric, stepsRun: stopping.stepsRun(), stepsKept: kept?.step ?? 0, curve: stopping.curve, trainSeconds: seconds },
    validation, test, trainable: count, percent: (100 * count) / base, losses, peakMB: peak / 2 ** 20,
  };
}

/** Every seed of one method, folded into a result row (extra: ROUGE-1/2 and the target loss, validation and test). */
async function runMethod(method: Seq2seqMethod, label: string, o: Seq2seqOptions): Promise<MethodResult> {
  const runs: OneRun[] = [];
  for (const seed of o.seeds) {
    const r = await runOne(method, label, seed, o);
    runs.push(r);
    o.onRunDone?.(label, r.run);
  }
  const first = runs[0]!;
  const val = meanSe(runs.map((r) => r.run.validation));
  const test = meanSe(runs.map((r) => r.run.test));
  const { extra, extraSe } = foldExtras(runs);
  return {
    method: method === 'prefix-decoder' ? 'prefix' : method, label, trainable: first.trainable, percent: first.percent,
    validation: val.mean, validationSe: val.se, test: test.mean, testSe: test.se, extra, extraSe, lr: lrOf(method, o),
    trainSeconds: meanSe(runs.map((r) => r.run.trainSeconds)).mean, peakMB: Math.max(...runs.map((r) => r.peakMB)),
    losses: first.losses, stepsKept: meanSe(runs.map((r) => r.run.stepsKept)).mean, runs: runs.map((r) => r.run),
  };
}

const LABELS: Record<Seq2seqMethod, string> = {
  frozen: 'frozen (nothing trains)', full: 'full', prefix: 'prefix (enc + dec + cross)', prompt: 'prompt', 'ptuning-v2': 'ptuning-v2',
  'prefix-decoder': 'prefix (decoder only)', infix: 'infix (decoder slots)',
};

/**
 * The position ablation's variants built on `model` with the compare's settings (BART's prefix: its three sets),
 * checked to differ in position only (../train/compare-position.ts), before any run.
 */
async function bartPositionShapes(model: Bart, o: Pick<Seq2seqOptions, 'virtualTokens' | 'hidden'>): Promise<VirtualShape[]> {
  const shapes: VirtualShape[] = [];
  for (const { method } of BART_POSITION_VARIANTS) {
    const adapter = await adapterFor(model, method as Seq2seqMethod, o, 0);
    const methods = [...new Set(BART_STACKS.flatMap((s) => adapter[s] ?? []))];
    shapes.push(virtualShape(method, methods));
    for (const m of methods) m.params.dispose();
  }
  return checkPositionShapes(shapes);
}

export async function runSeq2seqCompare(o: Seq2seqOptions): Promise<CompareResult> {
  if (!o.seeds.length) throw new Error('compare: at least one seed');
  for (const m of o.methods) {
    if (!(SEQ2SEQ_ALL_METHODS as readonly string[]).includes(m)) throw new Error(`compare --task ${SEQ2SEQ_TASK}: method '${m}' is not available on BART here (${SEQ2SEQ_ALL_METHODS.join(', ')})`);
  }
  for (const a of o.ablations) {
    if (a !== 'prefix-placement' && a !== 'position') throw new Error(`compare --task ${SEQ2SEQ_TASK}: --ablation ${a} is not available here (prefix-placement, position)`);
  }
  if (o.grid) throw new Error(`compare --task ${SEQ2SEQ_TASK}: --grid is not available here; give --lr method=X`);
  const start = performance.now();
  const probe = await loadBart(o.model ?? SEQ2SEQ_TASK_INFO.model, { backend: o.backend, seed: o.seeds[0]! });
  const baseParams = probe.model.params.count();
  const tokenizer: TextTokenizer = probe.tokenizer;
  const sizes = buildSeq2seqTask(tokenizer, probe.model.config, { batchSize: o.batchSize, maxLength: o.maxLength, seed: o.seeds[0]!, evalLimit: o.evalLimit }, loadSubject).evalSizes;
  // the position ablation's variants differ only in where their virtual tokens sit (checked on the model, before any run)
  const shapes = o.ablations.includes('position') ? await bartPositionShapes(probe.model, o) : [];
  probe.model.dispose();
  const methods: MethodResult[] = [];
  for (const m of o.methods as Seq2seqMethod[]) methods.push(await runMethod(m, LABELS[m], o));
  const ablations: AblationResult[] = [];
  if (o.ablations.includes('prefix-placement')) {
    // the seed's claim (Prefix-Tuning §7.2/Table 5 and its BART setting): prefixes in encoder and decoder beat decoder-only
    // and embedding-only; variants chosen on validation like the main rows, their test scores shown, never used
    const variants: [Seq2seqMethod, string][] = [
      ['prefix', 'encoder + decoder (3 prefix sets)'], ['prefix-decoder', 'decoder only (HF PEFT)'], ['prompt', 'embedding only (prompt tuning)'],
    ];
    const rows: AblationResult['rows'] = [];
    for (const [i, [m, label]] of variants.entries()) {
      const r = methods.find((x) => x.label === LABELS[m]) ?? await runMethod(m, LABELS[m], o);
      rows.push({ label, method: r.method, x: i, validation: r.validation, validationSe: r.validationSe, test: r.test, testSe: r.testSe, trainable: r.trainable });
    }
    ablations.push({ kind: 'prefix-placement', title: 'Prefix placement on BART: encoder + decoder vs decoder only vs embedding only', rows });
  }
  if (o.ablations.includes('position')) {
    // Prefix-Tuning §7.2 on BART: the main rows of the same method are the same runs; the others run here, one at a time
    const serial = limiter(1);
    ablations.push(await positionAblation(methods, shapes, (label, method) => serial(() => runMethod(method as Seq2seqMethod, label, o)), 'BART'));
  }
  return {
    task: SEQ2SEQ_TASK, taskDescription: SEQ2SEQ_TASK_INFO.description, metric: SEQ2SEQ_TASK_INFO.metric, model: o.model ?? SEQ2SEQ_TASK_INFO.model,
    backend: o.backend.name, device: o.backend.describe(), steps: o.steps, seed: o.seeds[0]!, baseParams,
    methods, ablations, totalSeconds: (performance.now() - start) / 1000, date: new Date().toISOString(), evalSizes: sizes,
  };
}
