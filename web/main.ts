/**
 * The browser page: acquires the WebGPU backend through navigator.gpu (the same select.ts path the CLI takes),
 * runs the op-table parity check and a short prompt-tuning run, shows both, and publishes the results on
 * `window.__webpeft` for the browser test. Without navigator.gpu it says so and offers the CPU backend.
 */
import { GpuUnavailableError, releaseBackend, type Backend, type BackendName, type StepLog, type WebGpuBackend } from 'webpeft';
import { acquire, parity, parityPlan, trainDemo, TRAIN, type ParityRow } from './run.js';

export interface WebpeftResults {
  /** 'webgpu' or 'cpu': the backend the checks ran on; null before one is chosen. */
  backend: BackendName | null;
  /** The adapter's one-line description (WebGPU) or the CPU backend's name. */
  adapter: string | null;
  hasWebGpu: boolean;
  parity: ParityRow[];
  /** Prompt-tuning losses, one per step. */
  losses: number[];
  /** The base model's full fine-tuning losses (phase 1). */
  baseLosses: number[];
  /** Seconds: backend acquisition, parity, base training, prompt tuning, all. */
  timings: Record<string, number>;
  trainable?: { trainable: number; base: number; percent: number };
  /** Set when a run failed; `done` is true then too. */
  error?: string;
  /** Waiting for the user (no WebGPU: the CPU button). */
  waiting?: string;
  done: boolean;
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
/** Lets the page paint between long pieces of work. */
const paint = () => new Promise<void>((r) => setTimeout(r, 0));
/** A URL option as a positive integer, else the default. */
const positiveInt = (v: string | null, d: number) => (v !== null && /^[1-9]\d{0,3}$/.test(v) ? Number(v) : d);
const secs = (t0: number) => +((performance.now() - t0) / 1000).toFixed(3);

const params = new URLSearchParams(location.search);
const hasWebGpu = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;
const results: WebpeftResults = {
  backend: null, adapter: null, hasWebGpu, parity: [], losses: [], baseLosses: [], timings: {}, done: false,
};
window.__webpeft = results;

function status(text: string, kind: '' | 'ok' | 'bad' = ''): void {
  const s = $('status');
  s.textContent = text;
  s.className = kind;
}

function fact(list: string, name: string, value: string): void {
  $(list).append(el('dt', name), el('dd', value));
}

function fmtErr(x: number): string {
  return Number.isFinite(x) ? (x === 0 ? '0' : x.toExponential(2)) : String(x);
}

function parityRow(r: ParityRow): void {
  const tr = el('tr');
  tr.append(el('td', r.op), el('td', String(r.cases)), el('td', fmtErr(r.maxRelErr)), el('td', fmtErr(r.tolerance)),
    el('td', r.ok ? '✓' : '✗', r.ok ? 'pass' : 'fail'));
  if (r.counterexample) tr.title = r.counterexample;
  $('parity').querySelector('tbody')!.append(tr);
}

/** A loss curve on its own scale: one point per step, first and last values labelled. */
function plot(id: string, losses: number[], steps: number, color: string): void {
  const svg = $(id) as unknown as SVGSVGElement;
  const W = Number(svg.getAttribute('width')), H = Number(svg.getAttribute('height'));
  const L = 44, R = 12, T = 10, B = 24;
  const n = Math.max(2, steps, losses.length);
  const lo = losses.length ? Math.min(...losses) : 0, hi = losses.length ? Math.max(...losses) : 1;
  const pad = (hi - lo) * 0.08 || 0.01;
  const [y0, y1] = [lo - pad, hi + pad];
  const x = (i: number) => L + ((W - L - R) * i) / (n - 1);
  const y = (v: number) => T + ((H - T - B) * (y1 - v)) / (y1 - y0);
  const node = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text) e.textContent = text;
    svg.append(e);
  };
  svg.replaceChildren();
  node('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' });
  node('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#999' });
  const label = { 'text-anchor': 'end', 'font-size': 10, fill: '#57606a' };
  if (losses.length) for (const v of [lo, hi]) node('text', { ...label, x: L - 4, y: y(v) + 3 }, v.toFixed(3));
  for (const s of [0, n - 1]) node('text', { ...label, 'text-anchor': 'middle', x: x(s), y: H - B + 12 }, String(s + 1));
  node('text', { ...label, 'text-anchor': 'middle', x: (L + W) / 2, y: H - 4 }, 'step');
  if (losses.length === 0) return;
  node('polyline', { points: losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
  for (const [i, v] of losses.entries()) node('circle', { cx: x(i), cy: y(v), r: 2.2, fill: color });
}

async function run(name: BackendName): Promise<void> {
  const tAll = performance.now();
  results.backend = name;
  delete results.waiting;
  $('nogpu').replaceChildren();
  let backend: Backend | null = null;
  try {
    status(`acquiring the ${name} backend…`);
    let t = performance.now();
    const got = await acquire(name);
    backend = got.backend;
    results.adapter = got.adapter;
    results.timings.acquire = secs(t);
    fact('facts', 'backend', got.adapter);
    if (name === 'webgpu') {
      const gpu = backend as WebGpuBackend;
      const info = gpu.ctx.adapter.info;
      const parts = [['vendor', info.vendor], ['architecture', info.architecture], ['device', info.device], ['description', info.description]]
        .filter(([, v]) => v).map(([k, v]) => `${k} ${v}`);
      if (info.isFallbackAdapter) parts.push('fallback (software) adapter');
      fact('facts', 'adapter', parts.join('; '));
      const optional = Object.entries(gpu.features).filter(([, on]) => on).map(([f]) => f);
      fact('facts', 'features', `${[...gpu.ctx.device.features].sort().join(', ') || 'core only'} (webpeft uses: ${optional.join(', ') || 'none of its optional ones'})`);
      fact('facts', 'limits', `maxStorageBufferBindingSize ${(gpu.ctx.device.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(0)} MiB, ` +
        `maxComputeInvocationsPerWorkgroup ${gpu.ctx.device.limits.maxComputeInvocationsPerWorkgroup}, matmul kernel '${gpu.matmulKernel}'`);
    }
    fact('facts', 'user agent', navigator.userAgent);

    const cases = positiveInt(params.get('cases'), 3);
    const plan = parityPlan(backend);
    $('parity-what').textContent = `${plan.what}; ${cases} random cases per op (fast-check, seed 7)`;
    status(`parity: 0 / ${plan.ops.length} ops…`);
    await paint();
    t = performance.now();
    results.parity = await parity(backend, cases, async (r) => {
      parityRow(r);
      status(`parity: ${results.parity.length + 1} / ${plan.ops.length} ops (${r.op})…`);
      results.parity.push(r);
      await paint();
    }, plan.ops);
    results.timings.parity = secs(t);
    const bad = results.parity.filter((r) => !r.ok);
    fact('facts', 'parity', `${results.parity.length - bad.length} / ${results.parity.length} ops ok in ${results.timings.parity.toFixed(1)} s${bad.length ? ` — FAILED: ${bad.map((r) => r.op).join(', ')}` : ''}`);

    const steps = positiveInt(params.get('steps'), TRAIN.steps);
    const setup = { ...TRAIN, steps };
    $('train-what').textContent = `GPT-2 ${setup.config.n_layer} layers × ${setup.config.n_embd} wide, character vocabulary (${setup.config.vocab_size}), random init. ` +
      `A random-init model's logits are ≈ 0, so there is nothing for a prompt to steer: phase 1 gives the base ${setup.baseSteps} steps of full fine-tuning on two texts. ` +
      `Phase 2 freezes it and trains only ${setup.virtualTokens} soft-prompt embeddings on one of the texts for ${steps} steps (AdamW, lr ${setup.lr}). Same training loop as the CLI.`;
    const draw = () => {
      plot('plot-base', results.baseLosses, setup.baseSteps, '#8c959f');
      plot('plot-prompt', results.losses, setup.steps, '#0969da');
    };
    draw();
    status('training…');
    await paint();
    t = performance.now();
    const tr = await trainDemo(backend, async (phase: 'base' | 'prompt', log: StepLog) => {
      (phase === 'base' ? results.baseLosses : results.losses).push(log.loss);
      status(`${phase === 'base' ? 'base model, full fine-tuning' : 'prompt tuning'}: step ${log.step + 1}, loss ${log.loss.toFixed(4)}`);
      draw();
      await paint();
    }, setup);
    results.baseLosses = tr.baseLosses;
    results.losses = tr.losses;
    results.timings.base = +tr.baseSeconds.toFixed(3);
    results.timings.prompt = +tr.seconds.toFixed(3);
    results.timings.train = secs(t);
    results.trainable = { trainable: tr.trainable, base: tr.base, percent: tr.percent };
    draw();
    const first = tr.losses[0], last = tr.losses[tr.losses.length - 1];
    if (tr.baseLosses.length) fact('train-facts', 'base', `loss ${tr.baseLosses[0].toFixed(4)} → ${tr.baseLosses[tr.baseLosses.length - 1].toFixed(4)} in ${tr.baseSeconds.toFixed(2)} s (${(1000 * tr.baseSeconds / tr.baseLosses.length).toFixed(0)} ms/step)`);
    fact('train-facts', 'prompt', `loss ${first.toFixed(4)} → ${last.toFixed(4)} in ${tr.seconds.toFixed(2)} s (${(1000 * tr.seconds / tr.losses.length).toFixed(0)} ms/step)`);
    fact('train-facts', 'trainable', `${tr.trainable} of ${tr.base} (${tr.percent.toFixed(2)} %)`);

    results.timings.total = secs(tAll);
    const fell = last < first;
    status(`done in ${results.timings.total.toFixed(1)} s on ${got.adapter}: ${results.parity.length - bad.length}/${results.parity.length} ops ok; ` +
      `prompt-tuning loss ${first.toFixed(3)} → ${last.toFixed(3)}`, bad.length === 0 && fell ? 'ok' : 'bad');
  } catch (e) {
    const err = e as Error;
    results.error = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
    if (err instanceof GpuUnavailableError) {
      // navigator.gpu exists but gives no adapter (e.g. Chromium on Linux without --enable-unsafe-webgpu)
      status(`No WebGPU adapter in this browser: ${err.message}.`, 'bad');
      offerCpu('WebGPU is present but offers no adapter here (blocklisted GPU, or a Chromium without --enable-unsafe-webgpu).');
    } else {
      status(`failed: ${results.error}`, 'bad');
      const pre = $('error');
      pre.hidden = false;
      pre.textContent = String(err?.stack ?? e);
      if (name === 'webgpu') offerCpu(`WebGPU failed here (${err?.message ?? e}).`);
    }
  } finally {
    if (backend) releaseBackend(backend);
    results.done = true;
  }
}

function offerCpu(why: string): void {
  const box = el('div', undefined, 'warning');
  const p = el('p', `${why} The same checks can run on webpeft's CPU backend (plain TypeScript) instead.`);
  p.style.margin = '0';
  const b = el('button', 'Run the checks on the CPU backend');
  b.id = 'run-cpu';
  b.addEventListener('click', () => {
    for (const id of ['facts', 'train-facts']) $(id).replaceChildren();
    $('parity').querySelector('tbody')!.replaceChildren();
    $('error').hidden = true;
    Object.assign(results, { parity: [], losses: [], baseLosses: [], timings: {}, error: undefined, done: false });
    delete results.error;
    void run('cpu');
  });
  box.append(p, b);
  $('nogpu').replaceChildren(box);
}

const wanted = params.get('backend');
if (wanted === 'cpu') {
  void run('cpu');
} else if (!hasWebGpu) {
  status('No WebGPU in this browser.', 'bad');
  results.waiting = 'no-webgpu';
  offerCpu('This browser has no WebGPU: navigator.gpu is undefined (in Chromium, try --enable-unsafe-webgpu; WebGPU also needs a secure context such as https or localhost).');
} else {
  void run('webgpu');
}
