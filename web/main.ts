/**
 * The page: starts the training worker (web/worker.ts) on WebGPU through navigator.gpu (the CPU backend, with its
 * worker pool, when there is none), lets the user train any method of the registry on a shipped task (the worker
 * runs web/bench.ts, which trains as `webpeft train` does; this thread never blocks), draws every
 * run's loss with the report's charts side by side, BitFit's bias-change heatmap and the attention to virtual
 * tokens live, offers each adapter as a zip of the folder `webpeft train --out` writes, and keeps the gradient-check
 * panel. Everything is published on `window.__webpeft` for the browser test.
 */
import {
  BIAS_TYPES, METHOD_NAMES, TASK_INFO, TASK_NAMES, biasGrid, taskDefaultLr, heatmap, lineChart, methodSpec, methodStyles,
  type BackendName, type BiasType, type MethodName, type TaskName,
} from 'webpeft';
import type { ParityRow } from './run.js';
import type { BiasDelta, RunSettings, VirtualAttention } from './bench.js';
import { zipStored } from './zip.js';
import { modelChoice, offerForGeneration, setUpExtras } from './extras.js';
import { TrainingWorker, type InitResult, type RunResult, type UploadResult } from './protocol.js';

/** One finished run as the test reads it. */
export interface RunSummary {
  label: string; method: MethodName; task: TaskName; model: string; losses: number[]; seconds: number; stepsPerSecond: number;
  trainable: number; percent: number; metric: string; validation: number; extra: Record<string, number>;
  deltas: BiasDelta[]; attention: VirtualAttention | null; settings: RunSettings;
  /** Chunks of threaded CPU kernels the pool's workers computed in this run. */
  workerJobs: number;
}

export interface WebpeftResults {
  backend: BackendName | null;
  adapter: string | null;
  hasWebGpu: boolean;
  crossOriginIsolated: boolean;
  /** The CPU backend's threads in the training worker (itself + its pool). */
  cpu: InitResult['cpu'] | null;
  /** The backend is ready and the Train button enabled. */
  ready: boolean;
  /** A run is in progress. */
  busy: boolean;
  /** Steps of the run in progress (live). */
  liveLosses: number[];
  runs: RunSummary[];
  parity: ParityRow[];
  parityDone: boolean;
  /** The last evaluated upload (or why it failed). */
  upload?: UploadResult | { error: string };
  /** The last generated continuation. */
  generated?: string;
  error?: string;
}

declare global {
  interface Window { __webpeft: WebpeftResults }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

const params = new URLSearchParams(location.search);
const hasWebGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
const results: WebpeftResults = {
  backend: null, adapter: null, hasWebGpu, crossOriginIsolated: globalThis.crossOriginIsolated === true, cpu: null, ready: false, busy: false,
  liveLosses: [], runs: [], parity: [], parityDone: false,
};
window.__webpeft = results;
const worker = new TrainingWorker(new Worker(new URL('./dist/worker.js', location.href), { type: 'module' }));

function status(id: 'status' | 'run-status', text: string, kind: '' | 'ok' | 'bad' = ''): void {
  const s = $(id);
  s.textContent = text;
  s.className = kind;
}

function fact(name: string, value: string): void {
  $('facts').append(el('dt', name), el('dd', value));
}

function fail(where: string, e: unknown): void {
  const err = e as Error;
  results.error = `${where}: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  status('status', results.error, 'bad');
  const pre = $('error');
  pre.hidden = false;
  pre.textContent = String(err?.stack ?? e);
}

// ---------------------------------------------------------------- the form

/** Which options a method reads (the rest are hidden). */
type Option = 'virtualTokens' | 'hidden' | 'encoder' | 'biasTypes' | 'template';
function optionsOf(m: MethodName): Option[] {
  switch (m) {
    case 'full': case 'frozen': return [];
    case 'bitfit': return ['biasTypes'];
    case 'prefix': return ['virtualTokens', 'hidden'];
    case 'prompt': return ['virtualTokens', 'template'];
    case 'ptuning': return ['virtualTokens', 'encoder', 'hidden', 'template'];
    case 'ptuning-v2': return ['virtualTokens'];
    case 'infix': return ['virtualTokens', 'hidden'];
    default: { const _: never = m; return _; }
  }
}

function setUpForm(): void {
  for (const t of TASK_NAMES) $('task').append(new Option(`${t} — ${TASK_INFO[t].description}`, t));
  for (const m of METHOD_NAMES) $('method').append(new Option(methodSpec(m).title, m));
  ($('method') as HTMLSelectElement).value = 'ptuning-v2';
  for (const b of BIAS_TYPES) {
    const label = el('label');
    const box = el('input');
    Object.assign(box, { type: 'checkbox', checked: true, value: b, id: `bias-${b}` });
    label.append(box, ` ${b}`);
    $('bias-types').append(label);
  }
  $('method').addEventListener('change', showOptions);
  $('task').addEventListener('change', showOptions);
  showOptions();
}

function showOptions(): void {
  const m = ($('method') as HTMLSelectElement).value as MethodName;
  const task = ($('task') as HTMLSelectElement).value as TaskName;
  const used = new Set(optionsOf(m));
  if (task !== 'spam') used.delete('template'); // templates render around the spam task's mails
  for (const e of document.querySelectorAll<HTMLElement>('[data-opt]')) e.hidden = !used.has(e.dataset.opt as Option);
  ($('lr') as HTMLInputElement).placeholder = `default ${taskDefaultLr(task, m)}`;
  $('hidden-label').textContent = m === 'prefix' ? 'MLP hidden (0: none)' : 'encoder hidden';
  const spec = methodSpec(m);
  $('method-hint').textContent = `${spec.title}; HF PEFT type ${spec.peftType ?? 'none (the training state holds it)'}; model ${TASK_INFO[task].family === 'gpt2' ? 'gpt2-tiny' : 'bert-tiny'}`;
}

function readSettings(): RunSettings {
  const v = (id: string) => ($(id) as HTMLInputElement).value.trim();
  const int = (id: string, min: number): number | undefined => {
    const s = v(id);
    if (s === '') return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`${id}: must be an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  const method = v('method') as MethodName;
  const task = v('task') as TaskName;
  const used = new Set(optionsOf(method));
  const lr = v('lr') === '' ? undefined : Number(v('lr'));
  if (lr !== undefined && !(lr > 0 && Number.isFinite(lr))) throw new Error(`learning rate: must be a number > 0, got '${v('lr')}'`);
  const biasTypes = BIAS_TYPES.filter((b) => ($(`bias-${b}`) as HTMLInputElement).checked) as BiasType[];
  if (used.has('biasTypes') && biasTypes.length === 0) throw new Error('bias types: tick at least one');
  return {
    task, method, lr, steps: int('steps', 1) ?? 20, batchSize: int('batch-size', 1) ?? 8, maxLength: int('max-length', 8) ?? 32,
    seed: int('seed', 0) ?? 42, evalLimit: int('eval-limit', 1) ?? 64, trainLimit: int('train-limit', 1),
    virtualTokens: used.has('virtualTokens') ? int('virtual-tokens', 1) : undefined,
    hidden: used.has('hidden') ? int('hidden', 0) : undefined,
    encoder: used.has('encoder') ? (v('encoder') as 'lstm' | 'mlp') : undefined,
    // all types ticked is the CLI's default (no subset)
    biasTypes: used.has('biasTypes') && biasTypes.length < BIAS_TYPES.length ? biasTypes : undefined,
    template: used.has('template') && task === 'spam' && v('template') ? v('template') : undefined,
  };
}

// ---------------------------------------------------------------- drawing

/** One loss chart per task (losses of different tasks are on different scales), every run of it side by side. */
function drawLosses(live?: { label: string; method: string; task: TaskName; losses: number[] }): void {
  const shown = [...results.runs, ...(live ? [live] : [])].map((r, i) => ({ ...r, n: i + 1 }));
  const styles = methodStyles(shown.map((r) => ({ method: r.method }) as never));
  const tasks = [...new Set(shown.map((r) => r.task))];
  $('loss-chart').innerHTML = (tasks.length ? tasks : [null]).map((task) => lineChart({
    id: `plot-loss-${task ?? 'none'}`, title: task ? `Training loss per step — ${task} (${TASK_INFO[task].metric})` : 'Training loss per step',
    xTitle: 'step', yTitle: 'loss', width: 760, height: 300,
    series: shown.flatMap((r, i) => (r.task === task ? [{ name: `${r.n}. ${r.label}`, ...styles[i], points: r.losses.map((l, s): [number, number] => [s + 1, l]) }] : [])),
    emptyNote: 'no run yet',
  })).join('');
}

function drawDeltas(rows: BiasDelta[], step: number): void {
  // step: 0-based, the last step these changes include
  const { layers, types, values } = biasGrid(rows);
  $('bitfit-what').textContent = `Bias change after step ${step + 1} (mean |Δb| per element, biasDeltas of peft/bitfit.ts, per layer × bias type).`;
  $('bitfit-heatmap').innerHTML = heatmap({
    id: 'plot-bitfit', title: `Which biases moved (BitFit, step ${step + 1})`, xTitle: 'bias type', yTitle: 'layer',
    rowLabels: layers, colLabels: types, values, valueTitle: 'mean |Δb|',
  });
}

function drawAttention(a: VirtualAttention, step: number, label: string): void {
  $('attention-what').textContent = `${label}, after step ${step + 1}: mean attention probability from real query positions to each virtual token ` +
    `on the first training batch (heads, rows and queries averaged); total share per layer: ${a.share.map((s, l) => `layer ${l} ${(100 * s).toFixed(1)} %`).join(', ')}.`;
  $('attention-heatmap').innerHTML = heatmap({
    id: 'plot-attention', title: `Attention to virtual tokens (${label})`, xTitle: 'virtual token', yTitle: 'layer',
    rowLabels: a.values.map((_, l) => `layer ${l}`), colLabels: a.tokens, values: a.values, valueTitle: 'attention',
  });
}

function addRunRow(run: RunResult, summary: RunSummary): void {
  const tr = el('tr');
  const fmt = (x: number) => x.toFixed(4);
  const button = el('button', 'adapter .zip');
  button.className = 'download-adapter';
  button.addEventListener('click', () => void downloadAdapter(run, results.runs.indexOf(summary) + 1));
  const cell = el('td');
  cell.append(button);
  tr.append(el('td', `${results.runs.length}. ${summary.label}`), el('td', summary.task), el('td', summary.trainable.toLocaleString('en-US')),
    el('td', summary.percent.toPrecision(3)), el('td', String(summary.losses.length)), el('td', summary.stepsPerSecond.toFixed(2)),
    el('td', `${fmt(summary.losses[0])} → ${fmt(summary.losses.at(-1)!)}`), el('td', `${summary.metric} ${fmt(summary.validation)}`), cell);
  $('runs').querySelector('tbody')!.append(tr);
}

function download(name: string, bytes: Uint8Array, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = el('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function downloadAdapter(run: RunResult, n: number): Promise<void> {
  const s = results.runs[n - 1].settings;
  const folder = `${s.method}-${s.task}-${n}`;
  try {
    download(`${folder}.zip`, zipStored(await worker.call({ kind: 'files', run: run.index }), folder), 'application/zip');
  } catch (e) {
    fail(`download ${folder}`, e);
  }
}

function downloadResults(): void {
  const body = {
    format: 'webpeft-web-results', date: new Date().toISOString(), backend: results.backend, device: results.adapter,
    userAgent: navigator.userAgent, runs: results.runs,
  };
  download('results.json', new TextEncoder().encode(`${JSON.stringify(body, null, 2)}\n`), 'application/json');
}

// ---------------------------------------------------------------- actions

async function train(): Promise<void> {
  if (!results.ready || results.busy) return;
  let s: RunSettings;
  try { s = readSettings(); } catch (e) { status('run-status', (e as Error).message, 'bad'); return; }
  results.busy = true;
  results.liveLosses = [];
  ($('train') as HTMLButtonElement).disabled = true;
  const label = `${s.method} on ${s.task}`;
  status('run-status', `${label}: loading the model and data…`);
  try {
    const run = await worker.call({ kind: 'train', settings: s, model: modelChoice() }, (p) => {
      switch (p.kind) {
        case 'step':
          results.liveLosses = p.losses;
          status('run-status', `${p.label}: step ${p.step + 1} / ${s.steps}, loss ${p.loss.toFixed(4)}, ` +
            `${(p.losses.length / p.seconds).toFixed(2)} steps/s, trainable ${p.trainable.toLocaleString('en-US')} (${p.percent.toPrecision(3)} %)`);
          drawLosses({ label: p.label, method: s.method, task: s.task, losses: p.losses });
          break;
        case 'deltas': drawDeltas(p.rows, results.liveLosses.length); break;
        case 'attention': drawAttention(p.attention, p.step, label); break;
        case 'parity-row': break;
        default: { const _: never = p; return _; }
      }
    });
    const summary: RunSummary = {
      label: run.label, method: s.method, task: s.task, model: run.modelName, losses: run.losses, seconds: run.seconds, stepsPerSecond: run.stepsPerSecond,
      trainable: run.trainable, percent: run.percent, metric: run.metric, validation: run.validation.metric, extra: run.validation.extra,
      deltas: run.deltas, attention: run.attention, settings: s, workerJobs: run.workerJobs,
    };
    results.runs.push(summary);
    addRunRow(run, summary);
    offerForGeneration(s.task, run.index, `${results.runs.length}. ${run.label} (${run.modelName})`);
    drawLosses();
    ($('download-results') as HTMLButtonElement).disabled = false;
    status('run-status', `${run.label}: loss ${run.losses[0].toFixed(4)} → ${run.losses.at(-1)!.toFixed(4)} in ${run.seconds.toFixed(1)} s ` +
      `(${run.stepsPerSecond.toFixed(2)} steps/s); validation ${run.metric} ${run.validation.metric.toFixed(4)} on ${s.evalLimit} examples`, 'ok');
  } catch (e) {
    fail(label, e);
    status('run-status', results.error!, 'bad');
  } finally {
    results.busy = false;
    ($('train') as HTMLButtonElement).disabled = false;
  }
}

function parityRow(r: ParityRow): void {
  const f = (x: number) => (Number.isFinite(x) ? (x === 0 ? '0' : x.toExponential(2)) : String(x));
  const tr = el('tr');
  tr.append(el('td', r.op), el('td', String(r.cases)), el('td', f(r.maxRelErr)), el('td', f(r.tolerance)), el('td', r.ok ? '✓' : '✗', r.ok ? 'pass' : 'fail'));
  if (r.counterexample) tr.title = r.counterexample;
  $('parity').querySelector('tbody')!.append(tr);
}

async function runParity(): Promise<void> {
  if (!results.ready) return;
  ($('run-parity') as HTMLButtonElement).disabled = true;
  results.parity = [];
  results.parityDone = false;
  $('parity').querySelector('tbody')!.replaceChildren();
  const cases = Number(params.get('cases') ?? 3) || 3;
  $('parity-what').textContent = `${results.backend === 'cpu' ? 'CPU f64 autograd vs float64 central differences' : `${results.backend} f32 forward + gradients vs CPU f64 autograd`}` +
    `; ${cases} random cases per op (fast-check, seed 7)`;
  try {
    await worker.call({ kind: 'parity', cases }, (p) => { if (p.kind === 'parity-row') { results.parity.push(p.row); parityRow(p.row); } });
    const bad = results.parity.filter((r) => !r.ok);
    $('parity-what').textContent += ` — ${results.parity.length - bad.length} / ${results.parity.length} ops ok${bad.length ? `; FAILED: ${bad.map((r) => r.op).join(', ')}` : ''}`;
  } catch (e) {
    fail('gradient check', e);
  } finally {
    results.parityDone = true;
    ($('run-parity') as HTMLButtonElement).disabled = false;
  }
}

async function start(): Promise<void> {
  setUpForm();
  drawLosses();
  const wanted = params.get('backend');
  const name: BackendName = wanted === 'cpu' || !hasWebGpu ? 'cpu' : 'webgpu';
  if (!hasWebGpu && wanted !== 'cpu') {
    $('nogpu').replaceChildren(el('div', 'This browser has no WebGPU (navigator.gpu is undefined; in Chromium on Linux try --enable-unsafe-webgpu; ' +
      'WebGPU also needs a secure context such as localhost). Training runs on webpeft\'s CPU backend (plain TypeScript) instead.', 'warning'));
  }
  const threads = params.get('threads');
  try {
    status('status', `starting the training worker on the ${name} backend…`);
    const got = await worker.call({ kind: 'init', backend: name, root: new URL('./', location.href).href, ...(threads ? { threads: Number(threads) } : {}) });
    if (got.fellBack) {
      $('nogpu').replaceChildren(el('div', `WebGPU gave no usable device here (${got.fellBack}); training runs on the CPU backend instead.`, 'warning'));
    }
    results.backend = got.backend;
    results.adapter = got.adapter;
    results.cpu = got.cpu;
    fact('backend', got.adapter);
    if (got.gpu) {
      fact('adapter', got.gpu.adapter);
      fact('features', got.gpu.features);
    }
    fact('training', 'in a dedicated Web Worker (web/worker.ts); this page only draws');
    const pool = got.backend !== 'cpu' ? 'not used (WebGPU)'
      : got.cpu.poolWorkers > 0 ? `${got.cpu.threads} threads (the training worker + ${got.cpu.poolWorkers} pool workers; ?threads=N sets it)`
        : `one thread${got.cpu.broken ? ` (the pool did not start: ${got.cpu.broken})` : results.crossOriginIsolated ? ' (?threads=N for more)' : ''}`;
    fact('cross-origin isolated', results.crossOriginIsolated ? 'yes (SharedArrayBuffer available)' : 'no (serve the page with npm run web for COOP/COEP; without it the CPU backend has one thread)');
    fact('CPU backend threads', pool);
    fact('user agent', navigator.userAgent);
    $('train').addEventListener('click', () => void train());
    $('run-parity').addEventListener('click', () => void runParity());
    $('download-results').addEventListener('click', downloadResults);
    setUpExtras({
      worker, settings: readSettings,
      onUpload: (r) => { results.upload = r; }, onGenerated: (t) => { results.generated = t; },
    });
    ($('train') as HTMLButtonElement).disabled = false;
    ($('run-parity') as HTMLButtonElement).disabled = false;
    results.ready = true;
    status('status', `ready on ${got.adapter}`, 'ok');
    if (params.get('parity') === '1') await runParity();
  } catch (e) {
    fail('start', e);
  }
}

addEventListener('pagehide', () => worker.terminate());
void start();
