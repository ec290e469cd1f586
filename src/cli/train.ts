import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ALL_METHOD_NAMES, type MethodName, parseMethodList } from '../peft/registry.js';
import { parseTemplate, virtualCount } from '../peft/template.js';
import { baseOf } from '../peft/base.js';
import { PeftModel } from '../peft/peft-model.js';
import { releaseBackend, selectBackend, type BackendName } from '../kernels/select.js';
import { makeTask, TASK_INFO, TASK_NAMES, taskDefaultLr, type TaskName } from '../train/tasks.js';
import { buildMethod, type MethodSettings } from '../train/methods.js';
import { loadBert, loadGpt2 } from '../train/model-dir.js';
import { loadAdapter, readTrainingState, saveAdapter } from '../train/adapter-dir.js';
import { baseSignature } from '../train/base-check.js';
import { TrainingInterruptedError, trainLoop, warmupSteps } from '../train/trainer.js';
import type { AdamW } from '../autograd/optim.js';
import { resumeConflicts, TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION, type TrainingState } from '../train/training-state.js';
import { intFlag, optionalInt, optionalReal } from './flags.js';
import { withAnomalyDetection } from '../autograd/anomaly.js';
import { COMPARE_DEFAULTS } from './compare.js';

/** `webpeft train` without --steps: one run of 300 steps (compare's longer budget is for its early stopping). */
const TRAIN_DEFAULT_STEPS = 300;
import { Progress } from './table.js';

const TASK_TYPE: Record<TaskName, string> = { spam: 'SEQ_CLS', tokens: 'TOKEN_CLS', subject: 'CAUSAL_LM' };

export const trainHelp = `webpeft train --task ${TASK_NAMES.join('|')} --method ${ALL_METHOD_NAMES.join('|')}[+…] --out DIR [--resume DIR]
               [--model NAME|DIR] [--backend cpu|webgpu] [--steps N] [--stop-after K] [--lr X] [--batch-size N]
               [--max-length N] [--virtual-tokens N] [--hidden H] [--encoder lstm|mlp] [--seed S] [--save-every K]
               [--detect-anomaly] [--allow-nonfinite] [--template "[P3] x [P3] [MASK]"] [--train-limit N]
  Trains one method and saves the adapter: HF PEFT's adapter_config.json + adapter_model.safetensors (prompt
  family) and a resumable training_state (encoders, trainable base tensors, AdamW moments, step, schedule).
  --steps is the whole run (the schedule decays over it); --stop-after K saves after step K, and
  --resume DIR continues that run to its end exactly as if it had never stopped (settings come from DIR;
  a flag that contradicts them is an error). --save-every K checkpoints into --out every K steps; if a step
  fails (a lost GPU), the message names the last checkpoint and how to resume it on the CPU. Training stops at the first NaN/Inf loss or gradient, naming the
  step and tensor; --detect-anomaly (CPU) names the op that first produced it. --method infix (GPT-2, subject task):
  --virtual-tokens slots between the mail body and the separator, their activations trained at every layer.
  --train-limit N trains on the first N training examples only (N = --batch-size: the same batch every step,
  a check that the method can fit it).`;

export const evalHelp = `webpeft eval --task ${TASK_NAMES.join('|')} --adapter DIR [--model NAME|DIR] [--backend cpu|webgpu] [--eval-limit N]
  Evaluates a saved adapter (HF PEFT folder or webpeft training state) on the validation and test splits.`;

const commonOptions = {
  task: { type: 'string' }, model: { type: 'string' }, backend: { type: 'string', default: 'cpu' },
  'batch-size': { type: 'string' }, 'max-length': { type: 'string' }, seed: { type: 'string' }, 'eval-limit': { type: 'string' },
  'allow-nonfinite': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

async function setUp(v: { task?: string; model?: string; backend?: string; 'allow-nonfinite'?: boolean }, seed: number) {
  const task = (v.task ?? 'spam') as TaskName;
  if (!TASK_NAMES.includes(task)) throw new Error(`unknown --task '${v.task}' (known: ${TASK_NAMES.join(', ')})`);
  const info = TASK_INFO[task];
  const backend = await selectBackend(v.backend as BackendName);
  const modelName = v.model ?? (info.family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny');
  const allowNonfinite = v['allow-nonfinite'] ?? false;
  const loaded = info.family === 'gpt2'
    ? await loadGpt2(modelName, { backend, seed, allowNonfinite })
    : await loadBert(modelName, { backend, seed, head: info.head as 'sequence-classification', numLabels: info.numLabels, allowNonfinite });
  return { task, info, backend, seed, modelName, allowNonfinite, ...loaded };
}

const evalLimitOf = (s: string | undefined) => optionalInt(s, '--eval-limit', 1);

type Asked = {
  method?: string; task?: string; steps?: number; lr?: number; 'batch-size'?: number; 'max-length'?: number; seed?: number;
  'virtual-tokens'?: number; hidden?: number; encoder?: string; template?: string; 'train-limit'?: number;
};

/**
 * Every setting that fixes a run's result — the method and its settings, the schedule over all its steps, the
 * data order — from the saved run being resumed (a flag that contradicts it is an error naming both) or, for a
 * fresh run, from the flags and the defaults.
 */
function planRun(asked: Asked, saved: TrainingState | null, resumeDir?: string) {
  if (saved) {
    const conflicts = resumeConflicts({
      method: saved.method, task: saved.task, steps: saved.schedule.totalSteps, lr: saved.schedule.lr, 'batch-size': saved.data.batchSize,
      'max-length': saved.data.maxLength, seed: saved.data.seed, 'virtual-tokens': saved.settings.virtualTokens, hidden: saved.settings.hidden,
      encoder: saved.settings.encoder, template: saved.settings.template, 'train-limit': saved.data.trainLimit,
    }, asked);
    if (conflicts.length) throw new Error(`--resume ${resumeDir}: ${conflicts.map((c) => `--${c}`).join(', ')} contradict the saved run; drop them (the run continues with its own settings)`);
    if (saved.step >= saved.schedule.totalSteps) throw new Error(`--resume ${resumeDir}: the run already did all its ${saved.schedule.totalSteps} steps`);
    return { methodName: saved.method, settings: saved.settings, schedule: saved.schedule, data: saved.data, seed: saved.data.seed, startStep: saved.step };
  }
  const methodName = asked.method as MethodName;
  if (!methodName) throw new Error(`--method must be one of ${ALL_METHOD_NAMES.join(', ')} (or a composition such as bitfit+prompt)`);
  const seed = asked.seed ?? COMPARE_DEFAULTS.seed;
  // flags not given stay undefined: the method's own defaults apply (src/peft/registry.ts)
  const settings: MethodSettings = { virtualTokens: asked['virtual-tokens'], hidden: asked.hidden,
    encoder: (asked.encoder ?? 'lstm') as 'lstm' | 'mlp', seed, ...(asked.template ? { template: asked.template } : {}) };
  // a template's virtual slots set the prompt length unless --virtual-tokens says it (then they must agree)
  if (asked.template) settings.virtualTokens ??= virtualCount(parseTemplate(asked.template));
  const totalSteps = asked.steps ?? TRAIN_DEFAULT_STEPS;
  const schedule = { totalSteps, warmup: warmupSteps({ steps: totalSteps, lr: 0 }), lr: asked.lr ?? taskDefaultLr(String(asked.task ?? ''), methodName),
    weightDecay: 0.01, clip: 1, beta2: 0.999 };
  const data = { batchSize: asked['batch-size'] ?? COMPARE_DEFAULTS.batchSize, maxLength: asked['max-length'] ?? COMPARE_DEFAULTS.maxLength, seed,
    ...(asked['train-limit'] !== undefined ? { trainLimit: asked['train-limit'] } : {}) };
  return { methodName, settings, schedule, data, seed, startStep: 0 };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: {
    ...commonOptions, method: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' }, steps: { type: 'string' },
    'stop-after': { type: 'string' }, lr: { type: 'string' }, 'virtual-tokens': { type: 'string' }, hidden: { type: 'string' },
    encoder: { type: 'string' }, 'detect-anomaly': { type: 'boolean' }, 'save-every': { type: 'string' }, template: { type: 'string' },
    'train-limit': { type: 'string' },
  } });
  if (v.help) { console.log(trainHelp); return 0; }
  if (!v.out) throw new Error('--out DIR is required (where the adapter is saved)');
  // every flag checked before anything loads
  const asked = {
    method: v.method, task: v.task, steps: optionalInt(v.steps, '--steps', 1), lr: optionalReal(v.lr, '--lr', { above: 0 }),
    'batch-size': optionalInt(v['batch-size'], '--batch-size', 1), 'max-length': optionalInt(v['max-length'], '--max-length', 8),
    seed: optionalInt(v.seed, '--seed', 0), 'virtual-tokens': optionalInt(v['virtual-tokens'], '--virtual-tokens', 0),
    hidden: optionalInt(v.hidden, '--hidden', 0), encoder: v.encoder, template: v.template, 'train-limit': optionalInt(v['train-limit'], '--train-limit', 1),
  };
  const stopAfter = optionalInt(v['stop-after'], '--stop-after', 1);
  const saveEvery = optionalInt(v['save-every'], '--save-every', 1);
  const evalLimit = evalLimitOf(v['eval-limit']);
  if (asked.method !== undefined) parseMethodList(asked.method);
  if (asked.encoder !== undefined && asked.encoder !== 'lstm' && asked.encoder !== 'mlp') throw new Error(`--encoder must be lstm or mlp, got '${asked.encoder}'`);

  const saved = v.resume ? await readTrainingState(v.resume) : null;
  if (v.resume && !saved) throw new Error(`${v.resume}: --resume needs a webpeft training_state.json (an HF adapter has no optimizer state)`);
  const { methodName, settings, schedule, data, seed, startStep } = planRun(asked, saved, v.resume);
  const s = await setUp({ ...v, task: saved?.task ?? v.task }, seed);
  try {
    const base = baseOf(s.model);
    const resumed = saved ? await loadAdapter(v.resume!, base, { allowNonfinite: s.allowNonfinite }) : null;
    const method = resumed?.method ?? await buildMethod(methodName, base, settings);
    const template = settings.template;
    if (template && method.input?.numVirtualTokens !== virtualCount(parseTemplate(template))) {
      throw new Error(`--template: ${virtualCount(parseTemplate(template))} virtual slots, but '${methodName}' has ${method.input ? `${method.input.numVirtualTokens} input virtual tokens` : 'no input prompt (templates are for prompt and ptuning)'}`);
    }
    const peft = new PeftModel(s.model, [method]);
    const config = { steps: schedule.totalSteps, lr: schedule.lr, weightDecay: schedule.weightDecay, clip: schedule.clip, beta2: schedule.beta2, seed };
    const task = makeTask(s.task, s.tokenizer, { ...data, evalLimit, template, infix: method.hidden?.numVirtualTokens });
    const stopAt = Math.min(stopAfter ?? schedule.totalSteps, schedule.totalSteps);
    if (stopAt <= startStep) throw new Error(`--stop-after ${stopAfter} is not after the saved step ${startStep}`);
    const c = peft.counts();
    console.log(`${methodName} on ${s.modelName} (${s.backend.name}): ${c.trainable.toLocaleString('en-US')} trainable (${c.percent.toPrecision(3)} %), steps ${startStep}…${stopAt - 1} of ${schedule.totalSteps}`);
    const bar = new Progress('train', stopAt - startStep);
    if (v['detect-anomaly'] && s.backend.name !== 'cpu') throw new Error('--detect-anomaly reads every op\'s output back: use it with --backend cpu');
    const run = v['detect-anomaly'] ? withAnomalyDetection : <T>(fn: () => Promise<T>) => fn();
    const out = resolve(v.out);
    const signature = await baseSignature(base, method);
    const save = (stepsDone: number, optimizer: AdamW, metrics?: Record<string, number>, extraFiles: Record<string, string> = {}) => saveAdapter(out, base, method, {
      format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: methodName, settings, task: s.task, model: saved?.model ?? s.modelName,
      step: stepsDone, optimizerStep: optimizer.step_, schedule, data, base: signature, ...(metrics ? { metrics } : {}),
    }, optimizer, TASK_TYPE[s.task], extraFiles);
    let r: Awaited<ReturnType<typeof trainLoop>>;
    try {
      r = await run(() => trainLoop({
        trainable: peft.trainable(), batch: (step) => task.batch(step), loss: (b, step) => task.loss(peft, b, step),
        config: { ...config, warmup: schedule.warmup }, stopAt,
        onStep: (log) => bar.tick(log.step + 1 - startStep, `loss ${log.loss.toFixed(3)}`),
        ...(resumed ? { resume: { step: startStep, optimizerStep: resumed.optimizerStep, moments: resumed.moments } } : {}),
        ...(saveEvery ? { checkpoint: { every: saveEvery, save: async (k: number, o: AdamW) => { await save(k, o); } } } : {}),
      }));
    } catch (e) {
      if (!(e instanceof TrainingInterruptedError)) throw e;
      const where = e.lastSaved === null ? 'no checkpoint was saved yet'
        : e.lastSaved === startStep && saved ? `${v.resume} (step ${e.lastSaved}) is untouched`
          : `the checkpoint of step ${e.lastSaved} in ${out} is intact`;
      const resumeFrom = e.lastSaved === null ? null : e.lastSaved === startStep && saved ? v.resume : out;
      throw new Error(`${e.message}; ${where}${resumeFrom ? ` — continue with: webpeft train --resume ${resumeFrom} --backend cpu --out DIR` : ''}`);
    }
    bar.done();
    const validation = await task.evaluate(peft, 'validation');
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b, 0) / Math.min(5, r.losses.length);
    const last = r.losses.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, r.losses.length);
    console.log(`loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${r.seconds.toFixed(1)} s; validation ${s.info.metric} ${validation.metric.toFixed(4)}`);
    const files = await save(stopAt, r.optimizer, { [`validation ${s.info.metric}`]: validation.metric, ...validation.extra },
      { 'losses.json': JSON.stringify(r.losses) });
    console.log(`saved ${files.join(', ')} in ${out}${stopAt < schedule.totalSteps ? ` (step ${stopAt} of ${schedule.totalSteps}: --resume ${out} continues)` : ''}`);
    r.optimizer.dispose();
    return 0;
  } finally {
    releaseBackend(s.backend);
  }
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { ...commonOptions, adapter: { type: 'string' }, template: { type: 'string' } } });
  if (v.help) { console.log(evalHelp); return 0; }
  const evalLimit = evalLimitOf(v['eval-limit']);
  // the saved task and length, when the state is readable (loadAdapter reports a bad one, or falls back to HF files)
  const state = v.adapter ? await readTrainingState(v.adapter).catch(() => null) : null;
  if (state && v.task !== undefined && v.task !== state.task) {
    throw new Error(`--task ${v.task} is not the task the adapter in ${v.adapter} was trained for (${state.task})`);
  }
  const maxLength = intFlag(v['max-length'], '--max-length', state?.data.maxLength ?? COMPARE_DEFAULTS.maxLength, 8);
  const s = await setUp({ ...v, task: v.task ?? state?.task }, intFlag(v.seed, '--seed', COMPARE_DEFAULTS.seed, 0));
  try {
    const base = baseOf(s.model);
    const loaded = v.adapter ? await loadAdapter(v.adapter, base, { allowNonfinite: s.allowNonfinite, modelName: s.modelName }) : null;
    for (const note of loaded?.notes ?? []) console.error(`webpeft eval: note: ${note}`);
    const methods = loaded ? [loaded.method] : [];
    const peft = new PeftModel(s.model, methods);
    const task = makeTask(s.task, s.tokenizer, { batchSize: 16, maxLength, seed: s.seed, evalLimit, template: v.template ?? loaded?.state?.settings.template,
      infix: loaded?.method.hidden?.numVirtualTokens });
    for (const split of ['validation', 'test'] as const) {
      const e = await task.evaluate(peft, split);
      console.log(`${split}: ${s.info.metric} ${e.metric.toFixed(4)}${Object.entries(e.extra).map(([k, x]) => `, ${k} ${x.toFixed(4)}`).join('')}`);
    }
    return 0;
  } finally {
    releaseBackend(s.backend);
  }
}
