import { parseArgs } from 'node:util';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BIAS_TYPES, type BiasType } from '../peft/bitfit.js';
import { METHOD_NAMES, parseMethodList } from '../peft/registry.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { releaseBackend, selectBackend, selectFastest, type BackendName } from '../kernels/select.js';
import { ABLATIONS, DATA_SIZES, ENSEMBLE_K, type CompareOptions } from '../train/compare.js';
import { resolvePretrainTasks } from '../train/compare-multitask.js';
import { TASK_INFO, TASK_NAMES } from '../train/tasks.js';
import { modelDir } from '../train/model-dir.js';
import { compareWorkerPath, defaultRunWorkers, workerRunner } from '../train/compare-workers.js';
import { bestRows, renderReport } from '../report/report.js';
import type { AblationKind, CompareResult, CompareSettings } from '../report/results.js';
import { COMPARE_TASKS, type CompareTask, compareTaskInfo, defaultMethodsFor, runAnyCompare } from '../train/seq2seq-compare.js';
import { formatTable, Progress } from './table.js';

/** --ablation multitask's --tasks unless given: every BERT task. */
const MULTITASK_DEFAULT_TASKS = TASK_NAMES.filter((t) => TASK_INFO[t].family === 'bert');

export const compareHelp = `webpeft compare [--task ${COMPARE_TASKS.join('|')}] [--methods a,b,…] [--model NAME|DIR] [--backend auto|cpu|webgpu]
                 [--steps N] [--eval-every N] [--patience N] [--min-steps N] [--seeds N|s1,s2,…] [--lr X | --lr method=X,…] [--grid]
                 [--batch-size N] [--max-length N] [--virtual-tokens N] [--hidden H] [--encoder lstm|mlp] [--template T] [--bias-types a,b]
                 [--quick] [--ablation ${ABLATIONS.join('|')}] [--ensemble-k K] [--data-sizes n,n,…,all]
                 [--tasks t1,t2] [--pretrain-steps N] [--rerun results.json] [--workers N] [--out DIR] [--json]
  The main job: fine-tunes the embedded pretrained model with every method (${METHOD_NAMES.join(', ')}) on real data,
  prints method | trainable | % | validation | test (mean ± standard error over the seeds) | steps kept | time | memory,
  and writes report.html and results.json (every setting; --rerun repeats the run from it).
  Protocol: each method trains up to --steps steps with its own learning rate (its default on the task, --lr, or --grid:
  the best of that default × 1/10, 1/3, 1, 3 on the first seed's validation score); validation is scored every --eval-every steps and
  the best checkpoint is kept (training stops after --patience scores without a gain, never before --min-steps, default a third
  of --steps); test is scored once per seed at
  that checkpoint and never used to choose. "best" marks a row only when it beats every other by > 2 standard errors.
  --backend auto (default): WebGPU on a hardware GPU, else the CPU backend (it says which and why).
  --workers N: on the CPU backend, N runs at a time in worker threads (default: one per core); numbers are the same.
  --quick: one seed, 20 steps, 64 examples per split — a smoke run, labelled as such.
  --template "{p:10} {x}" (--task spam): P-tuning's virtual tokens where the template puts them — here after [CLS], which
  the head reads — instead of in front of everything, as HF PEFT puts them; "[P3] x [P3]" and literal words work too.
  The ptuning row only; its prompt length is the template's slots; the mail keeps --max-length − 2 tokens.
  --ablation (repeatable), each variant under the same protocol, seeds as --seeds:
    prompt-length     prompt tuning vs P-tuning v2 at 1, 5, 10, 20 virtual tokens
    reparam           prefix MLP vs direct, P-tuning LSTM vs MLP, plain prompt
    bitfit-subset     BitFit on all biases vs query + intermediate only
    prefix-placement  (--task subject-seq2seq) three prefix sets vs decoder-only vs embedding-only
    ensemble          (--task spam) K prompts (--ensemble-k, default ${ENSEMBLE_K}) trained in one batch, probabilities averaged,
                      vs the best of those K on validation vs K separate prompt runs averaged vs the best of them;
                      with each row's train time, trainable parameters and peak memory
    data-size         BitFit vs full fine-tuning trained on the first n examples of each seed's shuffled training split,
                      n in --data-sizes (default ${DATA_SIZES.join(',')}; 'all' = the whole split)
    multitask         (BERT tasks) P-tuning v2 multi-task prompt pretraining: one deep prompt shared by --tasks (default
                      ${MULTITASK_DEFAULT_TASKS.join(',')}), a head per task, batches of one task at a time in a seeded order, for
                      --pretrain-steps steps (default --steps) on their training splits only; then the target task (--task)
                      from that prompt with a fresh head, vs P-tuning v2 from scratch, vs a prompt pretrained on the target
                      alone for as many steps; each row its own lr, early stopping on the target's validation split
    position          (--task subject: GPT-2; --task subject-seq2seq: BART) Prefix-Tuning §7.2: prefix [PREFIX; x; y] vs
                      infix [x; INFIX; y], the same --virtual-tokens and the same MLP (--hidden), vs embedding-only
                      (prompt tuning) vs frozen; on BART the prefix is the three sets of prefix-placement and the infix P
                      decoder slots between decoder_start and the subject; ROUGE-L/1/2 and the teacher-forced loss of
                      the reference subjects, each ± standard error (on --task subject a check that ties the best
                      ROUGE-L is a gain when its validation loss is lower)
    gpt-vs-bert       (--task spam) P-tuning's "GPT understands, too": gpt2-tiny and bert-tiny each P-tuned (prompt encoder
                      only; body and LM head frozen) and read the paper's way, through its own pretrained LM head by a
                      verbalizer — class ham = " ham", spam = " spam" (one token in both vocabularies), the logit at
                      the slot of "{p:P/2} {x} {p:P/2} This mail is [MASK]" (BERT: the [MASK]; GPT-2: the position
                      before it, whose next-token prediction fills it), cross-entropy over the two words; each model's
                      manual prompt "{x} This mail is [MASK]" untrained; and, for reference, the main table's
                      ptuning and frozen rows where --methods has them (bert-tiny with a new classifier on the pooled
                      [CLS]: compare's usual setup, not the paper's, so not the pair the claim is judged on).
                      Same mails and mail tokens (max length − 2) for both models`;

/**
 * Defaults sized for a 2-core machine without a GPU (README: the measured time). The methods' own defaults (virtual
 * tokens, encoder sizes, learning rates) are their specs' (src/peft/registry.ts), the same for every command, except
 * where a task's validation runs chose another learning rate (TASK_LR in src/train/task-build.ts).
 */
// up to 900 steps, patience 3, no stop before step 300 (--min-steps, a third of --steps): on bert-tiny spam prefix
// tuning and P-tuning v2 keep gaining until step 500–850 (at 300 steps they were at 84–86 % of full fine-tuning; at
// 900, P-tuning v2 with 20 tokens at 98 % on bert-tiny v2); full fine-tuning and the frozen head stop themselves after
// 300–500. On bert-tiny v3: 4 min 43 s on 2 cores, P-tuning v2 at 95.5 % of full (README "What the main job shows", 2026-12-06).
export const COMPARE_DEFAULTS = { steps: 900, batchSize: 16, maxLength: 48, seed: 42, seeds: [42, 43, 44], evalEvery: 50, patience: 3 };

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** `--lr 0.01` (every method) or `--lr prompt=0.3,bitfit=0.03` (those methods; the others keep their defaults). */
export function parseLr(text: string | undefined, methods: readonly string[]): Partial<Record<string, number>> | undefined {
  if (text === undefined) return undefined;
  const rate = (s: string) => {
    const x = Number(s);
    if (!(x > 0 && x < 10)) throw new Error(`--lr: expected a learning rate > 0, got '${s}'`);
    return x;
  };
  if (!text.includes('=')) return Object.fromEntries(methods.map((m) => [m, rate(text)]));
  const out: Partial<Record<string, number>> = {};
  for (const part of text.split(',')) {
    const [m, x] = part.split('=').map((t) => t.trim());
    const known = (METHOD_NAMES as string[]).includes(m) || methods.includes(m);
    if (!known || x === undefined) throw new Error(`--lr: expected method=rate with a method of ${METHOD_NAMES.join(', ')}, got '${part}'`);
    out[m] = rate(x);
  }
  return out;
}

/** `--seeds 3` (42, 43, 44) or `--seeds 1,5,9`. */
export function parseSeeds(text: string | undefined, dflt: number[]): number[] {
  if (text === undefined) return dflt;
  const parts = text.split(',').map((t) => t.trim());
  const ints = parts.map(Number);
  if (ints.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new Error(`--seeds: expected a count or a list of non-negative integers, got '${text}'`);
  if (parts.length === 1) {
    if (ints[0]! < 1) throw new Error(`--seeds: expected at least 1 seed, got '${text}'`);
    return Array.from({ length: ints[0]! }, (_, i) => dflt[0]! + i);
  }
  if (new Set(ints).size !== ints.length) throw new Error(`--seeds: a seed is listed twice in '${text}'`);
  return ints;
}

/** The --lr rates given for methods other than the rows' (`except`). */
const definedRates = (lr: Partial<Record<string, number>> | undefined, except: string[]): Record<string, number> =>
  Object.fromEntries(Object.entries(lr ?? {}).filter((e): e is [string, number] => e[1] !== undefined && !except.includes(e[0])));

/** The learning rate of each gpt-vs-bert row that trained, by label; undefined when there are none. */
function rowRates(r: CompareResult): Record<string, number> | undefined {
  const rows = r.ablations.filter((a) => a.kind === 'gpt-vs-bert').flatMap((a) => a.rows).filter((row) => row.lr !== undefined);
  return rows.length ? Object.fromEntries(rows.map((row) => [row.label, row.lr!])) : undefined;
}

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The flags a results.json's settings stand for (so --rerun can be checked against explicit flags). */
const RERUN_EXCLUSIVE = ['task', 'methods', 'model', 'steps', 'eval-every', 'patience', 'min-steps', 'seeds', 'seed', 'lr', 'grid', 'batch-size', 'max-length',
  'virtual-tokens', 'hidden', 'encoder', 'template', 'bias-types', 'quick', 'ablation', 'eval-limit', 'ensemble-k', 'data-sizes', 'tasks', 'pretrain-steps'];

/** `--data-sizes 64,128,all`: positive integers or 'all' (checked against the batch and the split by runCompare). */
export function parseDataSizes(text: string): (number | 'all')[] {
  return text.split(',').map((t) => t.trim()).map((t) => {
    if (t === 'all') return 'all';
    const n = Number(t);
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < 1) throw new Error(`--data-sizes: expected positive integers or 'all', got '${t}' in '${text}'`);
    return n;
  });
}

/** Reads the settings of an earlier run; a clear one-line error names the file and the field. */
export function readRerun(path: string): CompareSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--rerun ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}`);
  }
  const s = (raw as { settings?: unknown }).settings;
  if (!s || typeof s !== 'object') throw new Error(`--rerun ${path}: no "settings" object (written by an older webpeft compare?)`);
  const o = s as Record<string, unknown>;
  const need = (k: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[k])) throw new Error(`--rerun ${path}: settings.${k} must be ${what}, got ${JSON.stringify(o[k])}`);
  };
  const int = (min: number) => (v: unknown) => Number.isSafeInteger(v) && (v as number) >= min;
  const optInt = (min: number) => (v: unknown) => v === undefined || int(min)(v);
  need('task', (v) => COMPARE_TASKS.includes(v as CompareTask), `one of ${COMPARE_TASKS.join(', ')}`);
  need('model', (v) => typeof v === 'string' && v.length > 0, 'a model name or folder');
  need('methods', (v) => Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === 'string'), 'a list of method names');
  for (const m of o.methods as string[]) parseMethodList(m);
  need('steps', int(1), 'an integer ≥ 1');
  need('evalEvery', int(1), 'an integer ≥ 1');
  need('patience', int(1), 'an integer ≥ 1');
  need('minSteps', optInt(0), 'an integer ≥ 0 or absent');
  need('seeds', (v) => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isSafeInteger(x) && x >= 0), 'a list of seeds');
  need('batchSize', int(1), 'an integer ≥ 1');
  need('maxLength', int(8), 'an integer ≥ 8');
  need('virtualTokens', optInt(0), 'an integer ≥ 0 or absent');
  need('hidden', optInt(0), 'an integer ≥ 0 or absent');
  need('evalLimit', optInt(1), 'an integer ≥ 1 or absent');
  need('encoder', (v) => v === undefined || v === 'lstm' || v === 'mlp', 'lstm, mlp or absent');
  need('template', (v) => v === undefined || typeof v === 'string', 'a P-tuning template or absent');
  need('biasTypes', (v) => v === undefined || (Array.isArray(v) && v.every((t) => BIAS_TYPES.includes(t as BiasType))), `a list of ${BIAS_TYPES.join(', ')} or absent`);
  need('lr', (v) => !!v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'number' && x > 0 && x < 10), 'an object of method → learning rate');
  need('ablations', (v) => Array.isArray(v) && v.every((a) => ABLATIONS.includes(a as AblationKind)), `a list of ${ABLATIONS.join(', ')}`);
  need('grid', (v) => typeof v === 'boolean', 'true or false');
  need('quick', (v) => typeof v === 'boolean', 'true or false');
  need('ensembleK', optInt(2), 'an integer ≥ 2 or absent');
  need('dataSizes', (v) => v === undefined || (Array.isArray(v) && v.length > 0 && v.every((n) => n === 'all' || (Number.isSafeInteger(n) && (n as number) >= 1))),
    "a list of sizes (integers ≥ 1 or 'all') or absent");
  need('tasks', (v) => v === undefined || (Array.isArray(v) && v.length > 0 && v.every((t) => typeof t === 'string')), 'a list of task names or absent');
  need('pretrainSteps', optInt(1), 'an integer ≥ 1 or absent');
  if (o.tasks !== undefined) {
    try {
      resolvePretrainTasks(o.tasks as string[], o.task as string);
    } catch (e) {
      throw new Error(`--rerun ${path}: settings.tasks: ${(e as Error).message}`);
    }
  }
  need('rowLr', (v) => v === undefined || (!!v && typeof v === 'object' && Object.values(v).every((x) => typeof x === 'number' && x > 0 && x < 10)),
    'an object of ablation row → learning rate or absent');
  return s as CompareSettings;
}

export async function compareCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' }, methods: { type: 'string' }, model: { type: 'string' },
      backend: { type: 'string' }, steps: { type: 'string' }, 'batch-size': { type: 'string' },
      'max-length': { type: 'string' }, 'virtual-tokens': { type: 'string' }, hidden: { type: 'string' },
      encoder: { type: 'string' }, template: { type: 'string' }, 'bias-types': { type: 'string' }, seed: { type: 'string' }, seeds: { type: 'string' },
      'eval-every': { type: 'string' }, patience: { type: 'string' }, 'min-steps': { type: 'string' }, grid: { type: 'boolean' }, rerun: { type: 'string' },
      quick: { type: 'boolean' }, ablation: { type: 'string', multiple: true }, out: { type: 'string', default: '.' },
      json: { type: 'boolean' }, lr: { type: 'string' }, workers: { type: 'string' }, 'eval-limit': { type: 'string' },
      'ensemble-k': { type: 'string' }, 'data-sizes': { type: 'string' }, tasks: { type: 'string' }, 'pretrain-steps': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(compareHelp); return 0; }
  const num = (s: string | undefined, flag: string, dflt: number, min = 1): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  let plan: Omit<CompareOptions, 'backend' | 'onStep' | 'onRunDone' | 'task'> & { quick: boolean; task: CompareTask };
  let recordedBackend: string | undefined;
  if (v.rerun !== undefined) {
    const clash = RERUN_EXCLUSIVE.filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    if (clash.length) throw new Error(`--rerun repeats the settings of ${v.rerun}; drop ${clash.map((k) => `--${k}`).join(', ')} (or run without --rerun)`);
    const s = readRerun(v.rerun);
    recordedBackend = s.backend;
    const now = sha256File(join(modelDir(s.model), 'model.safetensors'));
    if (s.modelSha256 && now !== s.modelSha256) {
      console.error(`webpeft compare: ${s.model}'s model.safetensors is not the one ${v.rerun} was run on (sha256 ${now.slice(0, 12)}… vs ${String(s.modelSha256).slice(0, 12)}…); the numbers will differ`);
    }
    plan = { task: s.task as CompareTask, model: s.model, methods: s.methods, steps: s.steps, evalEvery: s.evalEvery, patience: s.patience, minSteps: s.minSteps,
      seeds: s.seeds, batchSize: s.batchSize, maxLength: s.maxLength, virtualTokens: s.virtualTokens, hidden: s.hidden, encoder: s.encoder, template: s.template,
      biasTypes: s.biasTypes as BiasType[] | undefined, lr: s.lr, grid: false, evalLimit: s.evalLimit, ablations: s.ablations as AblationKind[], quick: s.quick,
      ensembleK: s.ensembleK, dataSizes: s.dataSizes, tasks: s.tasks, pretrainSteps: s.pretrainSteps, rowLr: s.rowLr };
  } else {
    const task = (v.task ?? 'spam') as CompareTask;
    if (!COMPARE_TASKS.includes(task)) throw new Error(`unknown --task '${v.task}' (known: ${COMPARE_TASKS.join(', ')})`);
    const methods: string[] = v.methods?.split(',').map((m) => m.trim()) ?? defaultMethodsFor(task, METHOD_NAMES);
    for (const m of methods) parseMethodList(m); // names each one, or 'bitfit+prompt'
    const ablations = (v.ablation ?? []) as AblationKind[];
    for (const a of ablations) if (!ABLATIONS.includes(a)) throw new Error(`unknown --ablation '${a}' (${ABLATIONS.join(', ')})`);
    if (v['ensemble-k'] !== undefined && !ablations.includes('ensemble')) throw new Error('--ensemble-k is a setting of --ablation ensemble; add it or drop --ensemble-k');
    if (v['data-sizes'] !== undefined && !ablations.includes('data-size')) throw new Error('--data-sizes is a setting of --ablation data-size; add it or drop --data-sizes');
    for (const flag of ['tasks', 'pretrain-steps'] as const) {
      if (v[flag] !== undefined && !ablations.includes('multitask')) throw new Error(`--${flag} is a setting of --ablation multitask; add it or drop --${flag}`);
    }
    const multitask = ablations.includes('multitask');
    // the tasks are checked here, before any model loads (runCompare checks them again)
    const tasks = multitask ? resolvePretrainTasks(v.tasks?.split(',').map((t) => t.trim()), task) : undefined;
    const encoder = v.encoder ?? 'lstm';
    if (encoder !== 'lstm' && encoder !== 'mlp') throw new Error(`--encoder must be lstm or mlp, got '${v.encoder}'`);
    const biasTypes = v['bias-types']?.split(',') as BiasType[] | undefined;
    for (const t of biasTypes ?? []) if (!BIAS_TYPES.includes(t)) throw new Error(`unknown bias type '${t}'`);
    if (v.seed !== undefined && v.seeds !== undefined) throw new Error('--seed and --seeds: give one (--seed S is --seeds S)');
    const quick = v.quick ?? false;
    const d = COMPARE_DEFAULTS;
    const seeds = v.seed !== undefined ? [num(v.seed, '--seed', d.seed, 0)] : parseSeeds(v.seeds, quick ? [d.seed] : d.seeds);
    const steps = num(v.steps, '--steps', quick ? 20 : d.steps);
    plan = {
      task, model: v.model, methods, steps, evalEvery: num(v['eval-every'], '--eval-every', quick ? 10 : d.evalEvery),
      patience: num(v.patience, '--patience', d.patience), minSteps: num(v['min-steps'], '--min-steps', Math.round(steps / 3), 0), seeds, grid: v.grid ?? false, quick,
      batchSize: num(v['batch-size'], '--batch-size', d.batchSize), maxLength: num(v['max-length'], '--max-length', d.maxLength, 8),
      virtualTokens: v['virtual-tokens'] === undefined ? undefined : num(v['virtual-tokens'], '--virtual-tokens', 0, 0),
      hidden: v.hidden === undefined ? undefined : num(v.hidden, '--hidden', 0, 0),
      encoder, template: v.template, biasTypes, lr: parseLr(v.lr, methods), ablations,
      evalLimit: v['eval-limit'] ? num(v['eval-limit'], '--eval-limit', 0) : quick ? 64 : undefined,
      ensembleK: ablations.includes('ensemble') ? num(v['ensemble-k'], '--ensemble-k', ENSEMBLE_K, 2) : undefined,
      dataSizes: ablations.includes('data-size') ? (v['data-sizes'] === undefined ? DATA_SIZES : parseDataSizes(v['data-sizes'])) : undefined,
      tasks, pretrainSteps: multitask ? num(v['pretrain-steps'], '--pretrain-steps', steps) : undefined,
    };
  }
  // --rerun runs on the recorded backend unless --backend says otherwise (results match across backends within f32 rounding)
  const backendName = (v.backend ?? (recordedBackend === 'cpu' || recordedBackend === 'webgpu' ? recordedBackend : 'auto')) as BackendName | 'auto';
  if (!['auto', 'cpu', 'webgpu'].includes(backendName)) throw new Error(`--backend must be auto, cpu or webgpu, got '${v.backend}'`);
  const { backend, reason } = backendName === 'auto' ? await selectFastest() : { backend: await selectBackend(backendName), reason: `--backend ${backendName}` };
  const info = compareTaskInfo(plan.task);
  const modelName = plan.model ?? info.model;
  // independent runs side by side in worker threads (CPU backend): far better use of the cores than splitting
  // bert-tiny's small kernels (src/train/compare-workers.ts); the seq2seq task runs in this thread
  const workerFile = compareWorkerPath();
  const wanted = v.workers === undefined ? null : num(v.workers, '--workers', 1);
  const parallel = plan.task !== 'subject-seq2seq';
  if (wanted !== null && wanted > 1 && backend.name !== 'cpu') throw new Error(`--workers ${wanted}: runs execute in parallel on the CPU backend only (this run uses ${backend.name})`);
  if (wanted !== null && wanted > 1 && !parallel) throw new Error(`--workers ${wanted}: --task ${plan.task} runs in one thread`);
  if (wanted !== null && wanted > 1 && !workerFile) throw new Error(`--workers ${wanted}: the worker bundle (dist/compare-worker.mjs) is missing; run npm run build`);
  const workers = parallel && backend.name === 'cpu' && workerFile ? wanted ?? defaultRunWorkers() : 1;
  const pool = workers > 1 ? workerRunner(workers, workerFile!) : null;
  console.log(`webpeft compare — ${info.description}${plan.quick ? '  [--quick: a smoke run, too short to read anything into]' : ''}
`
    + `backend ${backend.name}: ${backend.describe()} — ${reason}
`
    + `${workers > 1 ? `${workers} runs at a time in worker threads (--workers)\n` : ''}`
    + `up to ${plan.steps} steps per run (validation every ${plan.evalEvery}, patience ${plan.patience}${plan.minSteps ? `, no stop before step ${plan.minSteps}` : ''}), seeds ${plan.seeds.join(', ')}${plan.grid ? ', learning rates chosen on validation (--grid)' : ''}`);
  let bar: Progress | null = null;
  let result: CompareResult;
  try {
    result = await runAnyCompare({
      ...plan, backend, runner: pool?.runner, concurrency: workers,
      onStep: workers > 1 ? undefined : (run, log, total) => {
        bar ??= new Progress(run.padEnd(16), total);
        bar.tick(log.step + 1, `loss ${log.loss.toFixed(3)}`);
      },
      onRunDone: (label, r) => {
        bar?.done();
        bar = null;
        console.error(`  ${label} seed ${r.seed}: validation ${info.metric} ${r.validation.toFixed(3)} at step ${r.stepsKept} of ${r.stepsRun} (${r.trainSeconds.toFixed(1)} s)`);
      },
    });
  } finally {
    await pool?.close();
    releaseBackend(backend);
  }
  result.quick = plan.quick;
  result.backendReason = reason;
  result.workers = workers;
  result.settings = {
    task: plan.task, model: modelName, modelSha256: sha256File(join(modelDir(modelName), 'model.safetensors')), methods: plan.methods,
    backend: backend.name, steps: plan.steps, evalEvery: plan.evalEvery, patience: plan.patience, minSteps: plan.minSteps, seeds: plan.seeds,
    batchSize: plan.batchSize, maxLength: plan.maxLength, virtualTokens: plan.virtualTokens, hidden: plan.hidden, encoder: plan.encoder, template: plan.template,
    // the rates given for methods that only an ablation runs (data-size's bitfit and full) too, so --rerun uses them
    biasTypes: plan.biasTypes, lr: { ...Object.fromEntries(result.methods.map((m) => [m.method, m.lr ?? NaN])), ...definedRates(plan.lr, result.methods.map((m) => m.method)) }, grid: plan.grid ?? false,
    evalLimit: plan.evalLimit, ablations: plan.ablations, ensembleK: plan.ensembleK, dataSizes: plan.dataSizes, tasks: plan.tasks,
    pretrainSteps: plan.pretrainSteps, rowLr: rowRates(result), quick: plan.quick,
  };
  const pm = (m: number, se: number | undefined) => (Number.isFinite(se) ? `${m.toFixed(3)} ± ${se!.toFixed(3)}` : m.toFixed(3));
  // the report's rule: "best" past 2 SE, "tie" within them, "top" with one seed (no error to judge by)
  const top = bestRows(result.methods);
  const mark = top.clear ? ' (best)' : top.rows.size > 1 ? ' (tie)' : ' (top)';
  const rows = result.methods.map((r, i) => [
    `${r.label}${top.rows.has(i) ? mark : ''}`, r.trainable.toLocaleString('en-US'),
    r.percent === 0 ? '0' : r.percent < 0.01 ? r.percent.toExponential(1) : r.percent.toPrecision(3),
    String(r.lr ?? ''), pm(r.validation, r.validationSe), pm(r.test, r.testSe), (r.stepsKept ?? NaN).toFixed(0), r.trainSeconds.toFixed(1), r.peakMB.toFixed(0)]);
  const sizes = result.evalSizes ? `; ${result.evalSizes.validation} validation / ${result.evalSizes.test} test examples` : '';
  console.log(`\n${result.model} (${result.baseParams.toLocaleString('en-US')} parameters), task ${plan.task}, metric ${info.metric}, mean ± standard error over ${plan.seeds.length} seed(s)${sizes}`);
  console.log(formatTable(['method', 'trainable', '% of model', 'lr', `val ${info.metric}`, `test ${info.metric}`, 'steps kept', 'train s', 'peak MB'], rows));
  if (!top.clear && top.rows.size > 1) console.log(`(tie) marks the rows whose validation ${info.metric} is within 2 standard errors of the highest: no clear best.`);
  if (!top.clear && top.rows.size === 1) console.log(`(top) marks the highest validation ${info.metric}; with one seed there is no standard error to say whether it is clear.`);
  const out = resolve(v.out);
  await writeAtomic(join(out, 'results.json'), `${JSON.stringify(result, null, 1)}\n`);
  await writeAtomic(join(out, 'report.html'), renderReport(result));
  if (v.json) console.log(JSON.stringify(result));
  console.log(`\nwrote ${join(out, 'report.html')} and ${join(out, 'results.json')} (${result.totalSeconds.toFixed(0)} s in all)`);
  return 0;
}
