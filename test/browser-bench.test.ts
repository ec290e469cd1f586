/**
 * The research bench in a real browser (issue K): the page trains P-tuning v2 on bert-tiny spam and then BitFit on
 * bert-tiny tokens, 20 steps each on WebGPU (SwiftShader), and the test checks that
 *   - each run's losses equal `webpeft train`'s in Node (CPU backend; same seed, data and settings) step by step
 *     within the f32 bound below; BitFit's loss falls; P-tuning v2's prefix moved from its initial value (on spam
 *     the embedded bert-tiny stays at chance for far longer than 20 steps — README's compare table: every PEFT
 *     method ≈ 0.50 after 100 steps of 16 — so its 20-step loss does not fall and is not asked to);
 *   - the BitFit heatmap and the attention panel are drawn with the values the page computed;
 *   - each adapter, downloaded as a zip, unpacks to a folder `webpeft eval` loads in Node and scores with the
 *     page's own validation metric.
 * Screenshots of each state go to test/artifacts/browser-bench (or WEBPEFT_ARTIFACTS).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunSummary } from '../web/main.js';
import { runCli } from './helpers/cli.js';
import { haveChromium, startPageSession, waitFor, type PageSession } from './helpers/browser.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { buildMethod } from '../src/peft/registry.js';
import { loadBert } from '../src/train/model-dir.js';

const ARTIFACTS = resolve(process.env.WEBPEFT_ARTIFACTS ?? join(import.meta.dirname, 'artifacts/browser-bench'));
/** The flags of both runs: the page's form defaults, given to the CLI explicitly. */
const RUN = { steps: 20, batchSize: 8, maxLength: 32, seed: 42, evalLimit: 64 };
const cliFlags = (task: string) => ['--task', task, '--steps', String(RUN.steps), '--batch-size', String(RUN.batchSize), '--max-length', String(RUN.maxLength),
  '--seed', String(RUN.seed), '--eval-limit', String(RUN.evalLimit), '--backend', 'cpu'];
/**
 * Browser (WebGPU, f32, SwiftShader) against Node (CPU backend, f32): the same model, data, dropout masks and
 * schedule, so the only difference is the order of f32 summations in the kernels. One f32 reduction over K terms is
 * off by at most ~K·2⁻²⁴ relative (K ≤ 512 here: the 4·128-wide intermediate layer), ≈3e-5; a forward and backward
 * pass chains a few dozen such ops (errors of independent roundings add as √n, not n), and 20 AdamW steps carry the
 * parameter differences on (AdamW normalises each update, so a gradient difference of relative size r moves a
 * parameter by ≈ r·lr at most). 1e-4 relative on every step's loss is that bound with room (measured here: ≤ 5e-6
 * over 20 steps); a wrong op, mask, dropout seed or schedule is off by far more (1e-2 and up from its first step).
 */
const LOSS_TOLERANCE = 1e-4;
const LAYERS = (JSON.parse(readFileSync(join(import.meta.dirname, '../assets/models/bert-tiny/config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;

/** The files of a stored (method 0) zip, each checked against its CRC-32 with Node's zlib — an independent reader. */
function unzipStored(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 22;
  expect(view.getUint32(end, true)).toBe(0x06054b50);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(at, true)).toBe(0x02014b50);
    const method = view.getUint16(at + 10, true), crc = view.getUint32(at + 16, true), size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true), local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    expect(method).toBe(0);
    expect(view.getUint32(local, true)).toBe(0x04034b50);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + size);
    expect(crc32(data), `${name}: CRC-32`).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return files;
}

/** `webpeft train` in Node for one method: its per-step losses and validation metric. */
async function cliRun(task: string, method: string, out: string): Promise<{ losses: number[]; validation: number }> {
  const r = await runCli('train', '--method', method, ...cliFlags(task), '--out', out);
  expect(r.code, r.err).toBe(0);
  const state = JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8')) as { metrics: Record<string, number> };
  const metric = Object.keys(state.metrics).find((k) => k.startsWith('validation '))!;
  return { losses: JSON.parse(readFileSync(join(out, 'losses.json'), 'utf8')) as number[], validation: state.metrics[metric] };
}

/** `webpeft eval` of an adapter folder: the validation metrics it prints ('validation: token F1 0.1, accuracy 0.8'), in order. */
async function cliEval(task: string, dir: string): Promise<number[]> {
  const r = await runCli('eval', '--task', task, '--adapter', dir, '--eval-limit', String(RUN.evalLimit), '--max-length', String(RUN.maxLength), '--backend', 'cpu');
  expect(r.code, r.err).toBe(0);
  const line = /^validation: (.*)$/m.exec(r.out);
  expect(line, r.out).not.toBeNull();
  return line![1].split(', ').map((part) => Number(/ (-?[\d.]+)$/.exec(part)![1]));
}

/** The page's validation metrics in the order eval prints them: the headline, then the extras. */
const pageMetrics = (run: RunSummary) => [run.validation, ...Object.values(run.extra)].map((x) => Number(x.toFixed(4)));

describe.runIf(haveChromium)('the research bench page: train, compare with Node, inspect, download', () => {
  let s: PageSession;
  let page: Page;
  let work = '';
  const node: Record<string, Promise<{ losses: number[]; validation: number }>> = {};

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`screenshots: ${ARTIFACTS}`);
    work = mkdtempSync(join(tmpdir(), 'webpeft-bench-'));
    s = await startPageSession();
    page = await s.open('');
    await waitFor(page, s, 'ready', 'window.__webpeft?.ready === true || !!window.__webpeft?.error', 30_000);
    await page.screenshot({ path: join(ARTIFACTS, '0-ready.png'), fullPage: true });
  }, 60_000);

  afterAll(async () => {
    await s?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Picks the method in the form (the other settings are the defaults RUN states), trains, returns the summary. */
  async function trainOnPage(task: string, method: string, n: number, shot: string): Promise<RunSummary> {
    await page.selectOption('#task', task);
    await page.selectOption('#method', method);
    const form = await page.evaluate(() => ['steps', 'batch-size', 'max-length', 'seed', 'eval-limit', 'lr'].map((id) => (document.getElementById(id) as HTMLInputElement).value));
    expect(form).toEqual([RUN.steps, RUN.batchSize, RUN.maxLength, RUN.seed, RUN.evalLimit].map(String).concat(''));
    await page.click('#train');
    // mid-run: the curve and the panels update step by step
    await waitFor(page, s, `${method}: step 10`, 'window.__webpeft.liveLosses.length >= 10', 120_000);
    await page.screenshot({ path: join(ARTIFACTS, `${shot}-training.png`), fullPage: true });
    await waitFor(page, s, `${method}: done`, `window.__webpeft.runs.length === ${n} && !window.__webpeft.busy || !!window.__webpeft.error`, 150_000);
    const r = await page.evaluate(() => window.__webpeft);
    expect(r.error, `${r.error}\n${s.consoleLines.join('\n')}`).toBeUndefined();
    await page.screenshot({ path: join(ARTIFACTS, `${shot}-done.png`), fullPage: true });
    return r.runs[n - 1];
  }

  async function checkAgainstNode(run: RunSummary, method: string): Promise<void> {
    const ref = await node[method];
    expect(run.losses.length).toBe(RUN.steps);
    for (const l of run.losses) expect(Number.isFinite(l)).toBe(true);
    const drift = run.losses.map((l, i) => Math.abs(l - ref.losses[i]) / Math.abs(ref.losses[i]));
    console.log(`${method}: loss ${run.losses[0].toFixed(4)} → ${run.losses.at(-1)!.toFixed(4)}, ${run.stepsPerSecond.toFixed(2)} steps/s in the browser; ` +
      `largest relative difference to Node's webpeft train: ${Math.max(...drift).toExponential(2)} (step ${drift.indexOf(Math.max(...drift))}); ` +
      `validation ${run.metric} ${run.validation} (page) vs ${ref.validation} (Node)`);
    for (const [i, d] of drift.entries()) expect(d, `step ${i}: page ${run.losses[i]}, Node ${ref.losses[i]}`).toBeLessThan(LOSS_TOLERANCE);
  }

  /** Clicks the run's download button, unpacks the zip into a folder and returns the folder. */
  async function downloadAdapter(n: number, method: string, task: string): Promise<{ dir: string; names: string[] }> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#runs tbody tr:nth-child(${n}) .download-adapter`)]);
    const zipPath = join(work, download.suggestedFilename());
    await download.saveAs(zipPath);
    writeFileSync(join(ARTIFACTS, download.suggestedFilename()), readFileSync(zipPath));
    const files = unzipStored(new Uint8Array(readFileSync(zipPath)));
    for (const [name, data] of files) {
      mkdirSync(dirname(join(work, name)), { recursive: true });
      writeFileSync(join(work, name), data);
    }
    const folder = [...files.keys()][0].split('/')[0];
    expect(folder).toBe(`${method}-${task}-${n}`);
    return { dir: join(work, folder), names: [...files.keys()].map((k) => k.slice(folder.length + 1)) };
  }

  it('P-tuning v2 on bert-tiny spam: Node\'s losses, the attention panel, an HF PEFT folder webpeft eval scores alike', async () => {
    const run = await trainOnPage('spam', 'ptuning-v2', 1, '1-ptuning-v2');
    // after the page, not beside it: a CPU run keeps Node's event loop busy, and with it playwright's connection
    node['ptuning-v2'] = cliRun('spam', 'ptuning-v2', join(work, 'node-ptuning-v2'));
    await checkAgainstNode(run, 'ptuning-v2');
    // attention: every layer × the 10 prefix positions, probabilities from real tokens, drawn as heatmap cells
    expect(run.attention).not.toBeNull();
    const a = run.attention!;
    expect(a.tokens).toEqual(Array.from({ length: 10 }, (_, k) => `kv${k}`));
    expect(a.values.length).toBe(LAYERS);
    for (const [l, row] of a.values.entries()) {
      for (const v of row) expect(v).toBeGreaterThan(0);
      expect(a.share[l]).toBeGreaterThan(0);
      expect(a.share[l]).toBeLessThan(1);
    }
    const cells = await page.$$eval('#attention-heatmap svg rect title', (ts) => ts.map((t) => t.textContent ?? ''));
    expect(cells.filter((t) => /^layer \d+, kv\d+: [\d.e-]+$/.test(t)).length).toBe(LAYERS * 10);
    const { dir, names } = await downloadAdapter(1, 'ptuning-v2', 'spam');
    expect(names.sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'losses.json', 'training_state.json', 'training_state.safetensors']);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.peft_type).toBe('PREFIX_TUNING');
    expect(config.prefix_projection).toBe(false);
    // HF PEFT's pair alone (what `peft` would load): move the training state aside
    const hfOnly = `${dir}-hf`;
    mkdirSync(hfOnly);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) writeFileSync(join(hfOnly, f), readFileSync(join(dir, f)));
    expect(await cliEval('spam', hfOnly)).toEqual(pageMetrics(run));
    expect(await cliEval('spam', dir)).toEqual(pageMetrics(run));
    // the HF pair uploaded back into the page: evaluated there as webpeft eval evaluates it
    await page.setInputFiles('#upload-adapter', ['adapter_config.json', 'adapter_model.safetensors'].map((f) => join(hfOnly, f)));
    await waitFor(page, s, 'upload evaluated', '!!window.__webpeft.upload', 60_000);
    const upload = await page.evaluate(() => window.__webpeft.upload!);
    expect('error' in upload ? upload.error : upload.kind).toBe('prefix'); // HF PEFT's PREFIX_TUNING without projection
    if (!('error' in upload)) expect([upload.evaluation.metric, ...Object.values(upload.evaluation.extra)].map((x) => Number(x.toFixed(4)))).toEqual(pageMetrics(run));
    // training moved the prefix: the downloaded table against the same method freshly built (seed 42) in Node
    const { model } = await loadBert('bert-tiny', { backend: cpu, seed: RUN.seed, head: 'sequence-classification', numLabels: 2 });
    const fresh = await buildMethod('ptuning-v2', baseOf(model), { encoder: 'lstm', seed: RUN.seed });
    const init = Float32Array.from(await [...fresh.params.values()][0].data());
    const trained = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors'))), 'adapter_model.safetensors').tensors.get('prompt_embeddings')!.data as Float32Array;
    expect(trained.length).toBe(init.length);
    const moved = Math.max(...Array.from(trained, (x, i) => Math.abs(x - init[i])));
    console.log(`ptuning-v2: largest change of a prefix value after ${RUN.steps} steps: ${moved.toExponential(2)}`);
    expect(moved).toBeGreaterThan(1e-3);
    model.dispose();
    expect(run.validation).toBeCloseTo((await node['ptuning-v2']).validation, 4);
  }, 200_000);

  it('BitFit on bert-tiny tokens: the loss falls as Node\'s, the heatmap of biasDeltas, a training state webpeft eval scores alike', async () => {
    const run = await trainOnPage('tokens', 'bitfit', 2, '2-bitfit');
    node.bitfit = cliRun('tokens', 'bitfit', join(work, 'node-bitfit'));
    await checkAgainstNode(run, 'bitfit');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(run.losses.slice(-5)), `losses ${run.losses.join(', ')}`).toBeLessThan(0.8 * mean(run.losses.slice(0, 5)));
    // 2 layers + embeddings × query, key, value, attention-output, intermediate, output, layernorm (+ pooler)
    expect(run.deltas.length).toBeGreaterThan(10);
    for (const d of run.deltas) expect(Number.isFinite(d.norm)).toBe(true);
    expect(run.deltas.filter((d) => d.norm > 0).length).toBeGreaterThan(10);
    const cells = await page.$$eval('#bitfit-heatmap svg rect title', (ts) => ts.map((t) => t.textContent ?? ''));
    const numeric = cells.filter((t) => /: -?[\d.e+-]+$/.test(t));
    expect(numeric.length).toBeGreaterThan(10);
    expect(await page.textContent('#bitfit-what')).toMatch(`after step ${RUN.steps}`);
    // both runs side by side: two curves in the loss chart, two rows in the table
    expect(await page.$$eval('#loss-chart svg path[stroke-width="2"]', (ps) => ps.length)).toBe(2);
    expect(await page.$$eval('#runs tbody tr', (rs) => rs.length)).toBe(2);
    const { dir, names } = await downloadAdapter(2, 'bitfit', 'tokens');
    expect(names.sort()).toEqual(['losses.json', 'training_state.json', 'training_state.safetensors']); // no HF PEFT format for BitFit
    expect(await cliEval('tokens', dir)).toEqual(pageMetrics(run));
    expect(run.validation).toBeCloseTo((await node.bitfit).validation, 4);
    const [results] = await Promise.all([page.waitForEvent('download'), page.click('#download-results')]);
    const path = join(work, 'results.json');
    await results.saveAs(path);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { runs: RunSummary[]; backend: string };
    expect(saved.backend).toBe('webgpu');
    expect(saved.runs.map((r) => r.method)).toEqual(['ptuning-v2', 'bitfit']);
    expect(saved.runs[1].losses).toEqual(run.losses);
    await page.screenshot({ path: join(ARTIFACTS, '3-both-runs.png'), fullPage: true });
  }, 200_000);

  it('prompt tuning on gpt2-tiny subject from a picked local folder: Node\'s losses, and webpeft generate\'s text under the downloaded adapter', async () => {
    const folder = resolve(import.meta.dirname, '../assets/models/gpt2-tiny');
    await page.selectOption('#model-source', 'local');
    await page.setInputFiles('#model-folder', folder);
    await page.fill('#steps', '3');
    await page.fill('#eval-limit', '8');
    await page.selectOption('#task', 'subject');
    await page.selectOption('#method', 'prompt');
    await page.click('#train');
    await waitFor(page, s, 'prompt on subject: done', 'window.__webpeft.runs.length === 3 && !window.__webpeft.busy || !!window.__webpeft.error', 120_000);
    const r = await page.evaluate(() => window.__webpeft);
    expect(r.error, `${r.error}\n${s.consoleLines.join('\n')}`).toBeUndefined();
    const run = r.runs[2];
    expect(run.model).toBe('gpt2-tiny');
    const cli = await runCli('train', '--task', 'subject', '--method', 'prompt', '--model', folder, '--steps', '3', '--batch-size', String(RUN.batchSize),
      '--max-length', String(RUN.maxLength), '--seed', String(RUN.seed), '--eval-limit', '8', '--backend', 'cpu', '--out', join(work, 'node-prompt'));
    expect(cli.code, cli.err).toBe(0);
    const ref = JSON.parse(readFileSync(join(work, 'node-prompt', 'losses.json'), 'utf8')) as number[];
    const drift = Math.max(...run.losses.map((l, i) => Math.abs(l - ref[i]) / ref[i]));
    console.log(`prompt on gpt2-tiny subject (picked folder): losses ${run.losses.map((l) => l.toFixed(4)).join(', ')}; largest relative difference to Node: ${drift.toExponential(2)}`);
    expect(drift).toBeLessThan(LOSS_TOLERANCE);
    const prompt = 'Meeting moved to Thursday, please bring the draft.\nSubject:';
    await page.fill('#gen-prompt', prompt);
    await page.click('#generate');
    await waitFor(page, s, 'generated', 'window.__webpeft.generated !== undefined', 60_000);
    const generated = await page.evaluate(() => window.__webpeft.generated!);
    await page.screenshot({ path: join(ARTIFACTS, '4-generate.png'), fullPage: true });
    const { dir } = await downloadAdapter(3, 'prompt', 'subject');
    const g = await runCli('generate', '--prompt', prompt, '--adapter', dir, '--model', 'gpt2-tiny', '--max-new-tokens', '12', '--backend', 'cpu');
    expect(g.code, g.err).toBe(0);
    console.log(`generated under the adapter: page ${JSON.stringify(generated)}, webpeft generate ${JSON.stringify(g.out.slice(prompt.length))}`);
    expect(generated.length).toBeGreaterThan(0);
    expect(prompt + generated).toBe(g.out);
  }, 200_000);
});
