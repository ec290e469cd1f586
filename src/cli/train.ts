import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { writeFile, rename } from 'node:fs/promises';
import { METHOD_NAMES, type MethodName, parseMethodList, defaultLr } from '../peft/registry.js';
import { baseOf } from '../peft/base.js';
import { PeftModel } from '../peft/peft-model.js';
import { releaseBackend, selectBackend, type BackendName } from '../kernels/select.js';
import { makeTask, TASK_INFO, TASK_NAMES, type TaskName } from '../train/tasks.js';
import { buildMethod, type MethodSettings } from '../train/methods.js';
import { loadBert, loadGpt2 } from '../train/model-dir.js';
import { loadAdapter, saveAdapter } from '../train/adapter-dir.js';
import { trainLoop } from '../train/trainer.js';
import { COMPARE_DEFAULTS } from './compare.js';
import { Progress } from './table.js';
import { parseTemplate, virtualCount } from '../peft/template.js';

const TASK_TYPE: Record<TaskName, string> = { spam: 'SEQ_CLS', tokens: 'TOKEN_CLS', subject: 'CAUSAL_LM' };

export const trainHelp = `webpeft train --task ${TASK_NAMES.join('|')} --method ${METHOD_NAMES.join('|')}[+…] --out DIR [--resume DIR]
               [--model NAME|DIR] [--backend cpu|webgpu] [--steps N] [--lr X] [--batch-size N] [--max-length N]
               [--virtual-tokens N] [--hidden H] [--encoder lstm|mlp] [--seed S] [--template "[P3] x [P3] [MASK]"]
  Trains one method and saves the adapter: HF PEFT's adapter_config.json + adapter_model.safetensors (prompt
  family) and a resumable training_state (encoders, trainable base tensors, AdamW moments, step).`;

export const evalHelp = `webpeft eval --task ${TASK_NAMES.join('|')} --adapter DIR [--model NAME|DIR] [--backend cpu|webgpu] [--eval-limit N]
  Evaluates a saved adapter (HF PEFT folder or webpeft training state) on the validation and test splits.`;

const commonOptions = {
  task: { type: 'string', default: 'spam' }, model: { type: 'string' }, backend: { type: 'string', default: 'cpu' },
  'batch-size': { type: 'string' }, 'max-length': { type: 'string' }, seed: { type: 'string' }, 'eval-limit': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function num(s: string | undefined, flag: string, dflt: number, min = 0): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number ≥ ${min}, got '${s}'`);
  return n;
}

async function setUp(v: { task?: string; model?: string; backend?: string; seed?: string }) {
  const task = v.task as TaskName;
  if (!TASK_NAMES.includes(task)) throw new Error(`unknown --task '${v.task}' (known: ${TASK_NAMES.join(', ')})`);
  const info = TASK_INFO[task];
  const backend = await selectBackend(v.backend as BackendName);
  const seed = num(v.seed, '--seed', COMPARE_DEFAULTS.seed);
  const modelName = v.model ?? (info.family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny');
  const loaded = info.family === 'gpt2'
    ? await loadGpt2(modelName, { backend, seed })
    : await loadBert(modelName, { backend, seed, head: info.head as 'sequence-classification', numLabels: info.numLabels });
  return { task, info, backend, seed, modelName, ...loaded };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: {
    ...commonOptions, method: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' }, steps: { type: 'string' },
    lr: { type: 'string' }, 'virtual-tokens': { type: 'string' }, hidden: { type: 'string' }, encoder: { type: 'string', default: 'lstm' },
    template: { type: 'string' },
  } });
  if (v.help) { console.log(trainHelp); return 0; }
  if (!v.out) throw new Error('--out DIR is required (where the adapter is saved)');
  const s = await setUp(v);
  try {
    const base = baseOf(s.model);
    let method;
    let settings: MethodSettings;
    let startStep = 0;
    let resumed: Awaited<ReturnType<typeof loadAdapter>> | null = null;
    if (v.resume) {
      resumed = await loadAdapter(v.resume, base);
      if (!resumed.state) throw new Error(`${v.resume}: --resume needs a webpeft training_state.json (an HF adapter has no optimizer state)`);
      method = resumed.method;
      settings = resumed.state.settings;
      startStep = resumed.state.step;
    } else {
      const name = v.method as MethodName;
      if (!v.method) throw new Error(`--method must be one of ${METHOD_NAMES.join(', ')} (or a composition such as bitfit+prompt)`);
      parseMethodList(v.method);
      if (v.encoder !== 'lstm' && v.encoder !== 'mlp') throw new Error(`--encoder must be lstm or mlp, got '${v.encoder}'`);
      // flags not given stay undefined: the method's own defaults apply (src/peft/registry.ts)
      settings = { virtualTokens: v['virtual-tokens'] === undefined ? undefined : num(v['virtual-tokens'], '--virtual-tokens', 0),
        hidden: v.hidden === undefined ? undefined : num(v.hidden, '--hidden', 0), encoder: v.encoder, seed: s.seed, template: v.template };
      // a template's virtual slots set the prompt length unless --virtual-tokens says it (then they must agree)
      if (v.template) settings.virtualTokens ??= virtualCount(parseTemplate(v.template));
      method = await buildMethod(name, base, settings);
    }
    const methodName = (resumed?.state?.method ?? v.method) as MethodName;
    const template = settings.template;
    if (template && method.input?.numVirtualTokens !== virtualCount(parseTemplate(template))) {
      throw new Error(`--template: ${virtualCount(parseTemplate(template))} virtual slots, but '${methodName}' has ${method.input ? `${method.input.numVirtualTokens} input virtual tokens` : 'no input prompt (templates are for prompt and ptuning)'}`);
    }
    const peft = new PeftModel(s.model, [method]);
    const steps = num(v.steps, '--steps', COMPARE_DEFAULTS.steps, 1);
    const lr = num(v.lr, '--lr', resumed?.state?.lr ?? defaultLr(methodName));
    const task = makeTask(s.task, s.tokenizer, { batchSize: num(v['batch-size'], '--batch-size', COMPARE_DEFAULTS.batchSize, 1),
      maxLength: num(v['max-length'], '--max-length', COMPARE_DEFAULTS.maxLength, 8), seed: s.seed,
      evalLimit: v['eval-limit'] ? num(v['eval-limit'], '--eval-limit', 0, 1) : undefined, template });
    const c = peft.counts();
    console.log(`${methodName} on ${s.modelName} (${s.backend.name}): ${c.trainable.toLocaleString('en-US')} trainable (${c.percent.toPrecision(3)} %), steps ${startStep}…${startStep + steps - 1}`);
    const bar = new Progress('train', steps);
    const r = await trainLoop({
      trainable: peft.trainable(), batch: (step) => task.batch(startStep + step), loss: (b, step) => task.loss(peft, b, startStep + step),
      config: { steps, lr, seed: s.seed, warmup: resumed ? 0 : undefined },
      onStep: (log) => bar.tick(log.step + 1, `loss ${log.loss.toFixed(3)}`),
      ...(resumed ? { resume: { step: resumed.optimizerStep, moments: resumed.moments } } : {}),
    });
    bar.done();
    const validation = await task.evaluate(peft, 'validation');
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b, 0) / Math.min(5, r.losses.length);
    const last = r.losses.slice(-5).reduce((a, b) => a + b, 0) / Math.min(5, r.losses.length);
    console.log(`loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${r.seconds.toFixed(1)} s; validation ${s.info.metric} ${validation.metric.toFixed(4)}`);
    const out = resolve(v.out);
    const files = await saveAdapter(out, base, method, {
      format: 'webpeft-training-state', version: 1, method: methodName, settings, task: s.task, model: s.modelName,
      step: startStep + steps, lr, metrics: { [`validation ${s.info.metric}`]: validation.metric, ...validation.extra },
    }, r.optimizer, TASK_TYPE[s.task]);
    const tmp = join(out, `losses.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(r.losses));
    await rename(tmp, join(out, 'losses.json'));
    console.log(`saved ${files.join(', ')} in ${out}`);
    r.optimizer.dispose();
    return 0;
  } finally {
    releaseBackend(s.backend);
  }
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: { ...commonOptions, adapter: { type: 'string' }, template: { type: 'string' } } });
  if (v.help) { console.log(evalHelp); return 0; }
  const s = await setUp(v);
  try {
    const base = baseOf(s.model);
    const loaded = v.adapter ? await loadAdapter(v.adapter, base) : null;
    const methods = loaded ? [loaded.method] : [];
    const peft = new PeftModel(s.model, methods);
    const task = makeTask(s.task, s.tokenizer, { batchSize: 16, maxLength: num(v['max-length'], '--max-length', COMPARE_DEFAULTS.maxLength, 8), seed: s.seed,
      evalLimit: v['eval-limit'] ? num(v['eval-limit'], '--eval-limit', 0, 1) : undefined, template: v.template ?? loaded?.state?.settings.template });
    for (const split of ['validation', 'test'] as const) {
      const e = await task.evaluate(peft, split);
      console.log(`${split}: ${s.info.metric} ${e.metric.toFixed(4)}${Object.entries(e.extra).map(([k, x]) => `, ${k} ${x.toFixed(4)}`).join('')}`);
    }
    return 0;
  } finally {
    releaseBackend(s.backend);
  }
}
