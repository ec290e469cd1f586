/**
 * The main job: every method on one task, the same data and seeds, a fair protocol — each method with its own
 * learning rate (its spec's default, `--lr`, or chosen on the validation split by `--grid`), its own number of steps
 * by early stopping on validation within one budget of steps, several seeds reported as mean ± standard error, the
 * test split scored once per seed at the kept checkpoint and never used to choose anything. Plus trainable share,
 * time and memory, loss curves, BitFit's per-layer × bias-type mean |Δb|, and the seed's ablations on request.
 */
import type { BiasType } from '../peft/bitfit.js';
import { defaultLr, methodLabel } from '../peft/registry.js';
import { parseTemplate, virtualCount } from '../peft/template.js';
import type { MethodSettings } from '../peft/spec.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { makeTask, TASK_INFO, taskDefaultLr } from './tasks.js';
import { foldExtras, meanSe } from './stats.js';
import { loadFor, type OneRun, type RunOptions, type RunSpec } from './compare-run.js';
import { gptVsBertAblation, gptVsBertSetup } from './compare-gpt-vs-bert.js';
import { ensembleAblation, runSpec } from './compare-ensemble.js';
import { multitaskAblation, resolvePretrainTasks } from './compare-multitask.js';
import { POSITION_TASK, POSITION_TASK_ERROR, positionAblation, positionShapes } from './compare-position.js';
import { baseOf } from '../peft/base.js';
import type { AblationKind, AblationResult, BiasDeltaRow, CompareResult, MethodResult, SeedRun } from '../report/results.js';

export const ABLATIONS: AblationKind[] = ['prompt-length', 'reparam', 'bitfit-subset', 'prefix-placement', 'ensemble', 'data-size', 'multitask', 'position', 'gpt-vs-bert'];

/** --ablation ensemble's prompts per ensemble, and --ablation data-size's training subset sizes, unless given. */
export const ENSEMBLE_K = 3;
export const DATA_SIZES: (number | 'all')[] = [64, 128, 256, 512, 'all'];

/**
 * The data-size ablation's sizes as numbers: 'all' is the whole training split; each must hold a batch and fit the
 * split, in increasing order (one line naming the bad size otherwise).
 */
export function resolveDataSizes(sizes: readonly (number | 'all')[], trainSize: number, batchSize: number): number[] {
  if (!sizes.length) throw new Error('--data-sizes: expected at least one size');
  const out = sizes.map((n) => {
    if (n === 'all') return trainSize;
    if (!Number.isSafeInteger(n) || n < batchSize) throw new Error(`--data-sizes: ${n} is not an integer ≥ the batch size ${batchSize}`);
    if (n > trainSize) throw new Error(`--data-sizes: ${n} is more than the ${trainSize} training examples (use 'all' for all of them)`);
    return n;
  });
  for (let i = 1; i < out.length; i++) {
    if (out[i]! <= out[i - 1]!) throw new Error(`--data-sizes: expected increasing sizes, got ${sizes.join(',')}`);
  }
  return out;
}

export interface CompareOptions extends RunOptions {
  /** Method names or compositions ('bitfit+prompt'). */
  methods: string[];
  /** One run per seed and method (data order, head and prompt initialisation, dropout). */
  seeds: number[];
  /** The methods' shared settings; absent ones take each method's defaults (src/peft/registry.ts). */
  virtualTokens?: number;
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
  /**
   * P-tuning's template (spam): its virtual tokens where the template puts them, e.g. "{p:10} {x}" (after [CLS], which
   * the head reads) instead of in front of the whole sequence as HF PEFT puts them. `ptuning` rows only; its prompt
   * length is the template's slots. The mail keeps maxLength − 2 tokens; the template's slots and words come on top.
   */
  template?: string;
  /** Learning rate per method; absent ones take the method's default (or `grid`'s choice). */
  lr?: Partial<Record<string, number>>;
  /** Choose each method's learning rate from its grid by the first seed's best validation metric. */
  grid?: boolean;
  ablations: AblationKind[];
  /** --ablation ensemble: prompts per ensemble (default ENSEMBLE_K). */
  ensembleK?: number;
  /** --ablation data-size: training subset sizes (default DATA_SIZES). */
  dataSizes?: (number | 'all')[];
  /** --ablation multitask: the tasks the shared prompt is pretrained on (default every BERT task) and its steps (default `steps`). */
  tasks?: string[];
  pretrainSteps?: number;
  onRunDone?: (label: string, run: SeedRun) => void;
  /**
   * Where runs execute: default in this thread, one at a time. compare-workers.ts gives a runner that executes them
   * in worker threads, `concurrency` at a time (a run's numbers do not depend on where it ran).
   */
  runner?: RunRunner;
  concurrency?: number;
  /** --rerun: the learning rate each labelled ablation row used (gpt-vs-bert records them), instead of --grid's choice. */
  rowLr?: Record<string, number>;
}

/** Executes one run (method, seed, learning rate) with the compare's options. */
export type RunRunner = (spec: RunSpec, seed: number, lr: number, o: CompareOptions, tokenizer: TextTokenizer) => Promise<OneRun>;

/** At most `n` runs at a time, in the order they were asked for. */
export function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (active >= n) await new Promise<void>((go) => waiting.push(go));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** The learning rates `--grid` tries for a method: its default on the task × {1/10, 1/3, 1, 3}. */
export function lrGrid(method: string, task = ''): number[] {
  const lr = taskDefaultLr(task, method);
  return [lr / 10, lr / 3, lr, lr * 3].map((x) => Number(x.toPrecision(2)));
}

type Run = (spec: RunSpec, seed: number, lr: number) => Promise<OneRun>;

/** --template's rules, before any run: spam, a ptuning row, a template that parses, slots that agree with --virtual-tokens. */
function checkTemplate(o: CompareOptions): void {
  const t = o.template!;
  if (o.task !== 'spam') throw new Error(`--template: P-tuning templates are for --task spam (the mail is {x}), not ${o.task}`);
  if (!o.methods.includes('ptuning')) throw new Error(`--template is P-tuning's; --methods (${o.methods.join(',')}) has no ptuning`);
  let slots: number;
  try { slots = virtualCount(parseTemplate(t)); } catch (e) { throw new Error(`--template: ${(e as Error).message}`); }
  if (slots < 1) throw new Error(`--template "${t}" has no virtual slots ({p:N} or [PN])`);
  if (o.virtualTokens !== undefined && o.virtualTokens !== slots) throw new Error(`--template "${t}" has ${slots} virtual slots, --virtual-tokens says ${o.virtualTokens}`);
}

/**
 * The order compare queues its methods' runs in: longest first (on bert-tiny spam a run of P-tuning, prefix tuning or
 * P-tuning v2 takes 50–80 s, BitFit, full fine-tuning and prompt tuning 25–45 s, frozen 12–14 s), so that the last
 * run to finish is a short one; methods not listed follow in the order given. Where a run executes does not change
 * its numbers.
 */
export const QUEUE_ORDER = ['ptuning', 'prefix', 'ptuning-v2', 'prompt', 'bitfit', 'full', 'frozen'];
const queueRank = (m: string): number => { const i = QUEUE_ORDER.indexOf(m); return i < 0 ? QUEUE_ORDER.length : i; };

/**
 * Every seed of one method (after choosing its learning rate), folded into one result row. The grid's runs, then the
 * other seeds' runs, are started together; `run` decides how many execute at once.
 */
async function runMethod(spec: RunSpec, o: CompareOptions, run: Run, fixedLr?: number): Promise<{ result: MethodResult; deltas?: BiasDeltaRow[] }> {
  const once = async (s: RunSpec, seed: number, lr: number): Promise<OneRun> => {
    const r = await run(s, seed, lr);
    o.onRunDone?.(s.label, r.run);
    return r;
  };
  let lr = fixedLr ?? o.lr?.[spec.method] ?? taskDefaultLr(o.task, spec.method);
  let grid: MethodResult['grid'];
  const runs: OneRun[] = [];
  if (o.grid && o.lr?.[spec.method] === undefined && fixedLr === undefined) {
    // the grid runs on the first seed; the winner's run is that seed's run
    const lrs = lrGrid(spec.method, o.task);
    const tried = await Promise.all(lrs.map((x) => once({ ...spec, label: `${spec.label} lr=${x}` }, o.seeds[0]!, x)));
    const win = tried.reduce((best, r, i) => (r.run.validation > tried[best]!.run.validation ? i : best), 0);
    lr = lrs[win]!;
    grid = lrs.map((x, i) => ({ lr: x, validation: tried[i]!.run.validation }));
    runs.push(tried[win]!);
  }
  runs.push(...await Promise.all(o.seeds.slice(runs.length).map((seed) => once(spec, seed, lr))));
  const first = runs[0]!;
  const val = meanSe(runs.map((r) => r.run.validation));
  const test = meanSe(runs.map((r) => r.run.test));
  const { extra, extraSe } = foldExtras(runs);
  const result: MethodResult = {
    method: spec.method, label: spec.label, trainable: first.trainable, percent: first.percent,
    validation: val.mean, validationSe: val.se, test: test.mean, testSe: test.se, extra, extraSe, lr,
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
  const settings: MethodSettings = { virtualTokens: o.virtualTokens, hidden: o.hidden, encoder: o.encoder, biasTypes: o.biasTypes };
  if (o.template !== undefined) checkTemplate(o);
  const position = o.ablations.includes('position');
  if (position && o.task !== POSITION_TASK) throw new Error(POSITION_TASK_ERROR(o.task));
  // the position ablation's variants differ only in where their virtual tokens sit (checked on the model, before any run)
  const shapes = position ? await positionShapes(baseOf(first), settings) : [];
  first.dispose();
  // the ablations' inputs are checked before any run starts
  const probe = makeTask(o.task, tokenizer, { ...o, seed: o.seeds[0]! });
  const ensembleK = o.ensembleK ?? ENSEMBLE_K;
  if (o.ablations.includes('ensemble')) {
    if (!probe.probabilities) throw new Error(`--ablation ensemble: the ${o.task} task is not scored from class probabilities (spam is)`);
    if (!Number.isSafeInteger(ensembleK) || ensembleK < 2) throw new Error(`--ensemble-k: expected an integer ≥ 2, got ${ensembleK}`);
  }
  const dataSizes = o.ablations.includes('data-size') ? resolveDataSizes(o.dataSizes ?? DATA_SIZES, probe.trainSize, o.batchSize) : [];
  const multitask = o.ablations.includes('multitask');
  const pretrainTasks = multitask ? resolvePretrainTasks(o.tasks, o.task) : [];
  const pretrainSteps = o.pretrainSteps ?? o.steps;
  if (multitask && (!Number.isSafeInteger(pretrainSteps) || pretrainSteps < 1)) throw new Error(`--pretrain-steps: expected an integer ≥ 1, got ${pretrainSteps}`);
  const gptVsBert = o.ablations.includes('gpt-vs-bert') ? await gptVsBertSetup(o, tokenizer) : null;
  const runner = o.runner ?? ((spec, seed, lr, opts, tok) => runSpec(spec, seed, lr, opts, tok));
  const slot = limiter(Math.max(1, o.concurrency ?? 1));
  const run: Run = (spec, seed, lr) => slot(() => runner(spec, seed, lr, o, tokenizer));
  // every method's runs are queued at once (grid first, then seeds), the longest-running methods first so that the
  // workers finish together (QUEUE_ORDER); the rows keep the methods' order
  const started: ReturnType<typeof runMethod>[] = [];
  for (const i of o.methods.map((_, k) => k).sort((a, b) => queueRank(o.methods[a]!) - queueRank(o.methods[b]!))) {
    const m = o.methods[i]!;
    const templated = o.template !== undefined && m === 'ptuning';
    const s = templated ? { ...settings, virtualTokens: virtualCount(parseTemplate(o.template!)) } : settings;
    started[i] = runMethod({ label: `${methodLabel(m, s)}${templated ? ` in "${o.template}"` : ''}`, method: m, settings: s, evalTest: true,
      ...(templated ? { template: o.template } : {}) }, o, run);
  }
  const main = await Promise.all(started);
  const methods = main.map((r) => r.result);
  const bitfitDeltas: CompareResult['bitfitDeltas'] = main.map((r) => r.deltas).filter((d) => d).at(-1);
  const row = (r: MethodResult, x: number): AblationResult['rows'][number] => ({ label: r.label, method: r.method, x, validation: r.validation,
    validationSe: r.validationSe, test: r.test, testSe: r.testSe, trainable: r.trainable });
  // an ablation's variants are chosen on validation like the main rows; their test scores are shown, never used
  const variant = async (label: string, method: string, s: MethodSettings, spec: Partial<RunSpec> = {}) => (await runMethod({ label, method, settings: s, evalTest: true, ...spec }, o, run)).result;
  const rowsOf = (variants: [string, string, MethodSettings, number][]) => Promise.all(variants.map(async ([label, method, s, x]) => row(await variant(label, method, s), x)));
  const ablations = await Promise.all(o.ablations.map(async (kind): Promise<AblationResult> => {
    if (kind === 'prompt-length') {
      const variants = (['prompt', 'ptuning-v2'] as const).flatMap((method) => [1, 5, 10, 20].map((P): [string, string, MethodSettings, number] =>
        [`${method} P=${P}`, method, { ...settings, virtualTokens: P }, P]));
      return { kind, title: 'Prompt length: input-only prompts vs deep prompts', rows: await rowsOf(variants) };
    } else if (kind === 'reparam') {
      const variants: [string, string, MethodSettings][] = [
        ['prefix, MLP reparam', 'prefix', { ...settings, hidden: o.hidden === undefined ? undefined : Math.max(o.hidden, 32) }],
        ['prefix, direct', 'prefix', { ...settings, hidden: 0 }],
        ['ptuning, LSTM', 'ptuning', { ...settings, encoder: 'lstm' }],
        ['ptuning, MLP', 'ptuning', { ...settings, encoder: 'mlp' }],
        ['prompt, no encoder', 'prompt', settings],
      ];
      return { kind, title: 'Reparameterisation: MLP / LSTM encoders vs training the prompt directly', rows: await rowsOf(variants.map(([l, m, s], i) => [l, m, s, i])) };
    } else if (kind === 'bitfit-subset') {
      // the seed (BitFit §4): training only the query and intermediate biases is nearly as good as all biases
      const rows = await rowsOf([
        ['bitfit, all biases', 'bitfit', { ...settings, biasTypes: undefined }, 0],
        ['bitfit, query + intermediate', 'bitfit', { ...settings, biasTypes: ['query', 'intermediate'] }, 1],
      ]);
      return { kind, title: 'BitFit: query + intermediate biases only vs all biases', rows };
    } else if (kind === 'ensemble') {
      // the prompt row's learning rate: --lr, else what the main run used (its default or --grid's choice)
      const lr = o.lr?.prompt ?? methods.find((m) => m.method === 'prompt')?.lr ?? defaultLr('prompt');
      return ensembleAblation({ K: ensembleK, lr, settings, seeds: o.seeds, run, scoring: probe.probabilities!, onRunDone: o.onRunDone });
    } else if (kind === 'data-size') {
      // the BitFit paper's training-set-size experiment: BitFit ahead of full fine-tuning on small training sets, behind on large ones.
      // Size n trains on the first n of the seed's shuffled training split, n = all included (the main rows' mails in
      // another order), so one seed's sets are nested prefixes of one order
      const rows = await Promise.all((['bitfit', 'full'] as const).flatMap((method) => dataSizes.map(async (n) =>
        row(await variant(`${method} n=${n}`, method, settings, { trainSize: n }), n))));
      return { kind, title: 'Training-set size: BitFit vs full fine-tuning', rows, trainSize: probe.trainSize };
    } else if (kind === 'multitask') {
      // P-tuning v2's multi-task prompt pretraining; "from scratch" is the main ptuning-v2 row when it ran (the same runs)
      const scratch = methods.find((m) => m.method === 'ptuning-v2');
      return multitaskAblation({ target: o.task, tasks: pretrainTasks, pretrainSteps, settings, scratch,
        variant: (label, method, s, spec) => variant(label, method, s, spec) });
    } else if (kind === 'position') {
      // Prefix-Tuning §7.2: [PREFIX; x; y] vs [x; INFIX; y] vs embedding-only, same virtual tokens and MLP (./compare-position.ts)
      return positionAblation(methods, shapes, (label, method) => variant(label, method, settings));
    } else if (kind === 'gpt-vs-bert') {
      // P-tuning's "GPT understands, too", each model read through its own LM head (./compare-gpt-vs-bert.ts)
      return gptVsBertAblation(gptVsBert!, settings, {
        row,
        main: (method, s) => methods.find((m) => m.method === method && m.label === methodLabel(method, s)),
        run: async (label, method, s, lm, lr) => (await runMethod({ label, method, settings: s, evalTest: true, lm }, o, run, lr)).result,
        rowLr: o.rowLr,
      });
    } else if (kind === 'prefix-placement') {
      throw new Error('--ablation prefix-placement is an ablation of --task subject-seq2seq (BART)');
    } else {
      const _: never = kind;
      throw new Error(`unknown ablation ${String(_)}`);
    }
  }));
  const sizes = probe.evalSizes;
  return {
    task: o.task, taskDescription: probeTask.description, metric: probeTask.metric, model: modelName,
    backend: o.backend.name, device: o.backend.describe(), steps: o.steps, seed: o.seeds[0]!, baseParams,
    methods, bitfitDeltas, ablations, totalSeconds: (performance.now() - start) / 1000, date: new Date().toISOString(),
    evalSizes: sizes,
  };
}
