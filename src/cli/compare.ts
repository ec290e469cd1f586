import { parseArgs } from 'node:util';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { BIAS_TYPES, type BiasType } from '../peft/bitfit.js';
import { METHOD_NAMES, parseMethodList } from '../peft/registry.js';
import { releaseBackend, selectBackend, type BackendName } from '../kernels/select.js';
import { runCompare } from '../train/compare.js';
import { renderReport } from '../report/report.js';
import type { CompareResult } from '../report/results.js';
import { TASK_INFO, TASK_NAMES, type TaskName } from '../train/tasks.js';
import { formatTable, Progress } from './table.js';

export const compareHelp = `webpeft compare [--task ${TASK_NAMES.join('|')}] [--methods a,b,…] [--model NAME|DIR] [--backend auto|cpu|webgpu]
                 [--steps N] [--batch-size N] [--max-length N] [--virtual-tokens N] [--hidden H] [--encoder lstm|mlp]
                 [--seed S] [--lr X | --lr method=X,…] [--quick] [--ablation prompt-length|reparam] [--out DIR] [--json]
  The main job: fine-tunes the embedded pretrained model with every method (${METHOD_NAMES.join(', ')}) on real data,
  prints method | trainable | % | validation | test | time | memory, and writes report.html (and results.json).
  --lr: one learning rate for every method, or per method (e.g. prompt=0.3,bitfit=0.03); the defaults are per method.`;

/**
 * Defaults sized so the whole default run stays under 10 minutes on a 2-core machine without a GPU. The methods'
 * own defaults (virtual tokens, encoder sizes) are their specs' (src/peft/registry.ts), the same for every command.
 */
export const COMPARE_DEFAULTS = { steps: 100, batchSize: 16, maxLength: 48, seed: 42 };

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

export async function compareCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string', default: 'spam' }, methods: { type: 'string' }, model: { type: 'string' },
      backend: { type: 'string', default: 'auto' }, steps: { type: 'string' }, 'batch-size': { type: 'string' },
      'max-length': { type: 'string' }, 'virtual-tokens': { type: 'string' }, hidden: { type: 'string' },
      encoder: { type: 'string', default: 'lstm' }, 'bias-types': { type: 'string' }, seed: { type: 'string' },
      quick: { type: 'boolean' }, ablation: { type: 'string', multiple: true, default: [] }, out: { type: 'string', default: '.' },
      json: { type: 'boolean' }, lr: { type: 'string' }, 'eval-limit': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(compareHelp); return 0; }
  const num = (s: string | undefined, flag: string, dflt: number, min = 1): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  const task = v.task as TaskName;
  if (!TASK_NAMES.includes(task)) throw new Error(`unknown --task '${v.task}' (known: ${TASK_NAMES.join(', ')})`);
  const methods: string[] = v.methods?.split(',').map((m) => m.trim()) ?? METHOD_NAMES;
  for (const m of methods) parseMethodList(m); // names each one, or 'bitfit+prompt'

  const ablations = v.ablation as ('prompt-length' | 'reparam')[];
  for (const a of ablations) if (a !== 'prompt-length' && a !== 'reparam') throw new Error(`unknown --ablation '${a}' (prompt-length or reparam)`);
  if (v.encoder !== 'lstm' && v.encoder !== 'mlp') throw new Error(`--encoder must be lstm or mlp, got '${v.encoder}'`);
  const biasTypes = v['bias-types']?.split(',') as BiasType[] | undefined;
  for (const t of biasTypes ?? []) if (!BIAS_TYPES.includes(t)) throw new Error(`unknown bias type '${t}'`);
  const lr = parseLr(v.lr, methods);
  const quick = v.quick ?? false;
  const d = COMPARE_DEFAULTS;
  const steps = num(v.steps, '--steps', quick ? 20 : d.steps);
  const backendName = v.backend as BackendName | 'auto';
  if (!['auto', 'cpu', 'webgpu'].includes(backendName)) throw new Error(`--backend must be auto, cpu or webgpu, got '${v.backend}'`);
  const backend = await selectBackend(backendName === 'auto' ? 'cpu' : backendName);
  const info = TASK_INFO[task];
  console.log(`webpeft compare — ${info.description}\nbackend ${backend.name}: ${backend.describe()}; ${steps} steps per method, seed ${num(v.seed, '--seed', d.seed, 0)}`);
  let bar: Progress | null = null;
  let result: CompareResult;
  try {
    result = await runCompare({
      task, model: v.model, methods, backend, steps,
      batchSize: num(v['batch-size'], '--batch-size', d.batchSize), maxLength: num(v['max-length'], '--max-length', d.maxLength, 8),
      virtualTokens: v['virtual-tokens'] === undefined ? undefined : num(v['virtual-tokens'], '--virtual-tokens', 0, 0),
      hidden: v.hidden === undefined ? undefined : num(v.hidden, '--hidden', 0, 0),
      encoder: v.encoder, biasTypes, lr, seed: num(v.seed, '--seed', d.seed, 0), ablations,
      evalLimit: v['eval-limit'] ? num(v['eval-limit'], '--eval-limit', 0) : quick ? 64 : undefined,
      onStep: (run, log, total) => {
        bar ??= new Progress(run.padEnd(16), total);
        bar.tick(log.step + 1, `loss ${log.loss.toFixed(3)}`);
      },
      onRunDone: (r) => {
        bar?.done();
        bar = null;
        console.error(`  ${r.label}: validation ${info.metric} ${r.validation.toFixed(3)} (${r.trainSeconds.toFixed(1)} s)`);
      },
    });
  } finally {
    releaseBackend(backend);
  }
  const rows = result.methods.map((r) => [r.label, r.trainable.toLocaleString('en-US'), r.percent === 0 ? '0' : r.percent < 0.01 ? r.percent.toExponential(1) : r.percent.toPrecision(3),
    r.validation.toFixed(3), r.test.toFixed(3), r.trainSeconds.toFixed(1), r.peakMB.toFixed(0)]);
  console.log(`\n${result.model} (${result.baseParams.toLocaleString('en-US')} parameters), task ${task}, metric ${info.metric}`);
  console.log(formatTable(['method', 'trainable', '% of model', `val ${info.metric}`, `test ${info.metric}`, 'train s', 'peak MB'], rows));
  const out = resolve(v.out);
  await writeAtomic(join(out, 'results.json'), `${JSON.stringify(result, null, 1)}\n`);
  await writeAtomic(join(out, 'report.html'), renderReport(result));
  if (v.json) console.log(JSON.stringify(result));
  console.log(`\nwrote ${join(out, 'report.html')} and ${join(out, 'results.json')} (${result.totalSeconds.toFixed(0)} s in all)`);
  return 0;
}
