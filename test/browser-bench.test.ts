/**
 * The research bench in a real browser (issue K): headless Chromium, WebGPU on SwiftShader, the page trains in its
 * Web Worker. The page trains P-tuning v2 on bert-tiny spam (30 steps on the first 8 training mails: the same batch
 * every step, since on the full spam set P-tuning v2 on the embedded bert-tiny is still at or near the majority
 * class at step 50 — README's compare table) and then BitFit on bert-tiny tokens (20 steps, the page's defaults), and the test checks that
 *   - each run's loss falls (the mean of its last 5 steps well below that of its first 5) and equals `webpeft train`'s
 *     in Node (CPU backend; same seed, data and settings) step by step within the f32 bound below;
 *   - the BitFit heatmap and the attention panel show the run's own values: every cell's number is the run's, and
 *     the screenshot's pixels in each cell are the colour the value maps to (darker for larger values);
 *   - each adapter, downloaded as a zip, unpacks to a folder `webpeft eval` loads in Node and scores with the
 *     page's own validation metric; the HF PEFT pair uploaded back into the page scores the same there;
 *   - on the CPU backend (?backend=cpu&threads=3) the training worker's pool runs 2 workers that really compute, and
 *     the losses equal Node's CPU run bit for bit.
 * Screenshots of each state go to test/artifacts/browser-bench (or WEBPEFT_ARTIFACTS); the path is printed.
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
import { decodePng, hexRgb } from './helpers/png.js';
import { biasGrid } from '../src/report/report.js';
import { pTuningV2Spec } from '../src/peft/p-tuning-v2.js';

const ARTIFACTS = resolve(process.env.WEBPEFT_ARTIFACTS ?? join(import.meta.dirname, 'artifacts/browser-bench'));
/** The page's form defaults, given to the CLI explicitly. */
const RUN = { batchSize: 8, maxLength: 32, seed: 42, evalLimit: 64 };
/** What differs per run: set in the form and given to `webpeft train` as flags. */
interface RunPlan { task: string; method: string; steps: number; lr?: number; trainLimit?: number; evalLimit?: number }
const PTUNING: RunPlan = { task: 'spam', method: 'ptuning-v2', steps: 30, lr: 0.03, trainLimit: 8 };
const BITFIT: RunPlan = { task: 'tokens', method: 'bitfit', steps: 20 };
const cliFlags = (p: RunPlan) => ['--task', p.task, '--method', p.method, '--steps', String(p.steps), '--batch-size', String(RUN.batchSize),
  '--max-length', String(RUN.maxLength), '--seed', String(RUN.seed), '--eval-limit', String(p.evalLimit ?? RUN.evalLimit), '--backend', 'cpu',
  ...(p.lr ? ['--lr', String(p.lr)] : []), ...(p.trainLimit ? ['--train-limit', String(p.trainLimit)] : [])];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
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

/** `webpeft train` in Node for one run: its per-step losses and validation metric. */
async function cliRun(p: RunPlan, out: string): Promise<{ losses: number[]; validation: number }> {
  const r = await runCli('train', ...cliFlags(p), '--out', out);
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

/** The screenshot's colour inside a heatmap cell, away from its border and centred number, against its fill. */
interface Cell { title: string; fill: string; x: number; y: number; w: number; h: number }

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

  /** Sets the form to the plan (the other settings stay the defaults RUN states), trains, returns the summary. */
  async function trainOnPage(p: RunPlan, n: number, shot: string, on = page): Promise<RunSummary> {
    await on.selectOption('#task', p.task);
    await on.selectOption('#method', p.method);
    await on.fill('#steps', String(p.steps));
    await on.fill('#lr', p.lr ? String(p.lr) : '');
    await on.fill('#train-limit', p.trainLimit ? String(p.trainLimit) : '');
    await on.fill('#eval-limit', String(p.evalLimit ?? RUN.evalLimit));
    const form = await on.evaluate(() => ['batch-size', 'max-length', 'seed'].map((id) => (document.getElementById(id) as HTMLInputElement).value));
    expect(form).toEqual([RUN.batchSize, RUN.maxLength, RUN.seed].map(String));
    await on.click('#train');
    // mid-run: the curve and the panels update step by step
    const mid = Math.min(10, p.steps);
    await waitFor(on, s, `${p.method}: step ${mid}`, `window.__webpeft.liveLosses.length >= ${mid} || !!window.__webpeft.error`, 120_000);
    await on.screenshot({ path: join(ARTIFACTS, `${shot}-training.png`), fullPage: true });
    await waitFor(on, s, `${p.method}: done`, `window.__webpeft.runs.length === ${n} && !window.__webpeft.busy || !!window.__webpeft.error`, 150_000);
    const r = await on.evaluate(() => window.__webpeft);
    expect(r.error, `${r.error}\n${s.consoleLines.join('\n')}`).toBeUndefined();
    await on.screenshot({ path: join(ARTIFACTS, `${shot}-done.png`), fullPage: true });
    return r.runs[n - 1];
  }

  /** Every step's loss against Node's, and the loss falls: the mean of the last 5 steps below 85 % of the first 5's. */
  async function checkAgainstNode(run: RunSummary, p: RunPlan): Promise<void> {
    const ref = await node[p.method];
    expect(run.losses.length).toBe(p.steps);
    for (const l of run.losses) expect(Number.isFinite(l)).toBe(true);
    const drift = run.losses.map((l, i) => Math.abs(l - ref.losses[i]) / Math.abs(ref.losses[i]));
    const [first, last] = [mean(run.losses.slice(0, 5)), mean(run.losses.slice(-5))];
    console.log(`${p.method} on ${p.task}: loss ${run.losses[0].toFixed(4)} → ${run.losses.at(-1)!.toFixed(4)} (mean of first 5 ${first.toFixed(4)}, last 5 ${last.toFixed(4)}), ` +
      `${run.stepsPerSecond.toFixed(2)} steps/s in the browser; largest relative difference to Node's webpeft train: ${Math.max(...drift).toExponential(2)} ` +
      `(step ${drift.indexOf(Math.max(...drift))}); validation ${run.metric} ${run.validation} (page) vs ${ref.validation} (Node)`);
    for (const [i, d] of drift.entries()) expect(d, `step ${i}: page ${run.losses[i]}, Node ${ref.losses[i]}`).toBeLessThan(LOSS_TOLERANCE);
    expect(last, `losses ${run.losses.join(', ')}`).toBeLessThan(0.85 * first);
    expect(run.validation).toBeCloseTo(ref.validation, 4);
  }

  /**
   * A heatmap panel as drawn: every cell's number is `want(row, col)` (4 significant digits, as the chart prints it),
   * the screenshot shows each cell in its fill colour, and the cell of the largest value is darker than that of the
   * smallest (the colour scale runs light → dark). The element's screenshot is written as `file`.
   */
  async function checkHeatmap(selector: string, want: (row: string, col: string) => number | undefined, file: string): Promise<void> {
    const svg = (await page.$(`${selector} svg`))!;
    expect(svg).not.toBeNull();
    const png = await svg.screenshot({ path: join(ARTIFACTS, file) });
    const pixels = decodePng(new Uint8Array(png));
    const cells: Cell[] = await page.$$eval(`${selector} svg g.cells rect`, (rs) => {
      const box = (rs[0] as SVGRectElement).ownerSVGElement!.getBoundingClientRect();
      return rs.map((r) => {
        const b = r.getBoundingClientRect();
        return { title: r.querySelector('title')?.textContent ?? '', fill: r.getAttribute('fill') ?? '', x: b.x - box.x, y: b.y - box.y, w: b.width, h: b.height };
      });
    });
    expect(cells.length).toBeGreaterThan(4);
    const drawn = cells.filter((c) => {
      const none = /^(.*), (.*): none$/.exec(c.title); // a layer without that bias type: hatched
      if (none) expect(want(none[1], none[2]), c.title).toBeUndefined();
      return !none;
    });
    expect(drawn.length).toBeGreaterThan(4);
    const values = drawn.map((c) => {
      const m = /^(.*), (.*): (-?[\d.e+-]+)$/.exec(c.title);
      expect(m, `cell title '${c.title}'`).not.toBeNull();
      const v = Number(m![3]);
      expect(v, c.title).toBe(Number(want(m![1], m![2])!.toPrecision(4)));
      // 4 px in from the top-left corner: inside the cell, clear of its 1 px border and its centred number
      const got = pixels.at(c.x + 4, c.y + 4), fill = hexRgb(c.fill);
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k] - fill[k]), `${c.title}: pixel ${got} vs fill ${c.fill}`).toBeLessThanOrEqual(8);
      return v;
    });
    const lum = (c: Cell) => { const [r, g, b] = pixels.at(c.x + 4, c.y + 4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const hi = drawn[values.indexOf(Math.max(...values))], lo = drawn[values.indexOf(Math.min(...values))];
    expect(lum(lo) - lum(hi), `${lo.title} vs ${hi.title}`).toBeGreaterThan(40);
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

  it('P-tuning v2 on bert-tiny spam: the loss falls as Node\'s, the attention panel, an HF PEFT folder webpeft eval scores alike, uploaded back', async () => {
    const run = await trainOnPage(PTUNING, 1, '1-ptuning-v2');
    // after the page, not beside it: a CPU run keeps Node's event loop busy, and with it playwright's connection
    node['ptuning-v2'] = cliRun(PTUNING, join(work, 'node-ptuning-v2'));
    await checkAgainstNode(run, PTUNING);
    // attention: every layer × the prefix positions (the method's default count), probabilities from real tokens, drawn as heatmap cells
    expect(run.attention).not.toBeNull();
    const a = run.attention!;
    const P = pTuningV2Spec.defaults.numVirtualTokens!;
    expect(a.tokens).toEqual(Array.from({ length: P }, (_, k) => `kv${k}`));
    expect(a.values.length).toBe(LAYERS);
    for (const [l, row] of a.values.entries()) {
      for (const v of row) expect(v).toBeGreaterThan(0);
      expect(a.share[l]).toBeGreaterThan(0);
      expect(a.share[l]).toBeLessThan(1);
    }
    expect(await page.textContent('#attention-what')).toMatch(`after step ${PTUNING.steps}:`);
    await checkHeatmap('#attention-heatmap', (row, col) => a.values[Number(/^layer (\d+)$/.exec(row)![1])][a.tokens.indexOf(col)], '1-attention-panel.png');
    const { dir, names } = await downloadAdapter(1, 'ptuning-v2', 'spam');
    expect(names.sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'losses.json', 'training_state.json', 'training_state.safetensors']);
    expect(JSON.parse(readFileSync(join(dir, 'losses.json'), 'utf8'))).toEqual(run.losses);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.peft_type).toBe('PREFIX_TUNING');
    expect(config.prefix_projection).toBe(false);
    expect(config.num_virtual_tokens).toBe(P);
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
    expect(await page.textContent('#upload-result')).toMatch(`prefix adapter on spam: validation accuracy ${run.validation.toFixed(4)}`);
    await page.screenshot({ path: join(ARTIFACTS, '1-ptuning-v2-uploaded.png'), fullPage: true });
  }, 240_000);

  it('BitFit on bert-tiny tokens: the loss falls as Node\'s, the heatmap of biasDeltas, a training state webpeft eval scores alike', async () => {
    const run = await trainOnPage(BITFIT, 2, '2-bitfit');
    node.bitfit = cliRun(BITFIT, join(work, 'node-bitfit'));
    await checkAgainstNode(run, BITFIT);
    // 2 layers + embeddings × query, key, value, attention-output, intermediate, output, layernorm (+ pooler)
    expect(run.deltas.length).toBeGreaterThan(10);
    for (const d of run.deltas) expect(Number.isFinite(d.norm)).toBe(true);
    expect(run.deltas.filter((d) => d.norm > 0).length).toBeGreaterThan(10);
    const grid = biasGrid(run.deltas);
    expect(await page.textContent('#bitfit-what')).toMatch(`after step ${BITFIT.steps}`);
    await checkHeatmap('#bitfit-heatmap', (row, col) => grid.values[grid.layers.indexOf(row)][grid.types.indexOf(col)], '2-bitfit-heatmap.png');
    // both runs side by side: a curve per run (one chart per task), two rows in the table
    expect(await page.$$eval('#loss-chart svg path[stroke-width="2"]', (ps) => ps.length)).toBe(2);
    expect(await page.$$eval('#runs tbody tr', (rs) => rs.length)).toBe(2);
    const { dir, names } = await downloadAdapter(2, 'bitfit', 'tokens');
    expect(names.sort()).toEqual(['losses.json', 'training_state.json', 'training_state.safetensors']); // no HF PEFT format for BitFit
    expect(await cliEval('tokens', dir)).toEqual(pageMetrics(run));
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
    const run = await trainOnPage({ task: 'subject', method: 'prompt', steps: 3, evalLimit: 8 }, 3, '4-prompt-gpt2');
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

  it('the CPU backend in the cross-origin-isolated page: its worker pool (2 workers beside the training worker) computes, and the losses are Node\'s bit for bit', async () => {
    const cpuPage = await s.open('?backend=cpu&threads=3');
    try {
      await waitFor(cpuPage, s, 'CPU ready', 'window.__webpeft?.ready === true || !!window.__webpeft?.error', 60_000);
      const r = await cpuPage.evaluate(() => window.__webpeft);
      expect(r.error).toBeUndefined();
      expect(r.crossOriginIsolated).toBe(true);
      expect(r.backend).toBe('cpu');
      expect(r.cpu).toEqual({ threads: 3, poolWorkers: 2, broken: null });
      const plan: RunPlan = { task: 'spam', method: 'ptuning-v2', steps: 4, lr: 0.03, trainLimit: 8, evalLimit: 16 };
      // the page's CPU run and Node's, one after the other (each keeps its process's cores busy)
      const run = await trainOnPage(plan, 1, '5-cpu-pool', cpuPage);
      const ref = await cliRun(plan, join(work, 'node-cpu'));
      console.log(`CPU backend in the page, 3 threads: ${run.workerJobs} kernel chunks computed by the pool's workers; ${run.stepsPerSecond.toFixed(2)} steps/s; ` +
        `losses ${run.losses.map((l) => l.toFixed(6)).join(', ')}`);
      expect(run.workerJobs).toBeGreaterThan(0);
      expect(run.losses).toEqual(ref.losses);
      expect(run.validation).toBe(ref.validation);
      expect(await cpuPage.textContent('#facts')).toMatch('3 threads (the training worker + 2 pool workers');
    } finally {
      await cpuPage.close();
    }
  }, 200_000);
});
