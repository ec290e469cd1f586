/**
 * The page's gradient-check panel in a real browser (test/helpers/browser.ts): the page acquires the WebGPU backend
 * through navigator.gpu, is cross-origin isolated as `npm run web` serves it, and checks every op of the op table
 * against the CPU; without navigator.gpu it says so and runs on the CPU backend (the same checks, f64 central
 * differences), where a training run gives `webpeft train --backend cpu`'s losses exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { WebpeftResults } from '../web/main.js';
import { haveChromium, startPageSession, waitFor, type PageSession } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';

describe.runIf(haveChromium)('the web page in headless chromium (WebGPU on SwiftShader)', () => {
  let s: PageSession;
  beforeAll(async () => { s = await startPageSession(); }, 60_000);
  afterAll(async () => { await s?.close(); });

  async function parityOf(page: Page, timeout: number): Promise<WebpeftResults> {
    await waitFor(page, s, 'ready', 'window.__webpeft?.ready === true || !!window.__webpeft?.error', 20_000);
    await page.click('#run-parity');
    await waitFor(page, s, 'parity done', 'window.__webpeft?.parityDone === true', timeout);
    const r = await page.evaluate(() => window.__webpeft);
    expect(r.error, `${r.error}\n${s.consoleLines.join('\n')}`).toBeUndefined();
    expect(r.parity.length).toBeGreaterThan(30);
    for (const row of r.parity) {
      expect(row.ok, `${row.op}: max rel err ${row.maxRelErr} > ${row.tolerance}\n${row.counterexample ?? ''}`).toBe(true);
      expect(row.cases).toBeGreaterThan(0);
    }
    return r;
  }

  it('acquires WebGPU through navigator.gpu, is cross-origin isolated, and every op passes the gradient check', async () => {
    const page = await s.open('');
    const r = await parityOf(page, 80_000);
    console.log(`browser adapter: ${r.adapter}; ${r.parity.filter((p) => p.ok).length}/${r.parity.length} ops ok`);
    expect(r.hasWebGpu).toBe(true);
    expect(r.backend).toBe('webgpu');
    expect(r.adapter).toMatch(/^WebGPU: /);
    expect(r.crossOriginIsolated).toBe(true);
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
    await page.close();
  }, 100_000);

  it('without navigator.gpu it says so, runs the same checks on the CPU backend, and trains there bit for bit as Node\'s CPU', async () => {
    const page = await s.open('', () => { delete (Navigator.prototype as { gpu?: unknown }).gpu; });
    const r = await parityOf(page, 40_000);
    expect(await page.textContent('#nogpu')).toMatch(/no WebGPU \(navigator\.gpu is undefined/);
    expect(r.hasWebGpu).toBe(false);
    expect(r.backend).toBe('cpu');
    // BitFit, 3 steps on tokens: the page's training worker and its pool against webpeft train's pool (bit-identical kernels)
    await page.selectOption('#task', 'tokens');
    await page.selectOption('#method', 'bitfit');
    await page.fill('#steps', '3');
    await page.fill('#eval-limit', '8');
    await page.click('#train');
    await waitFor(page, s, 'CPU run done', 'window.__webpeft.runs.length === 1 && !window.__webpeft.busy || !!window.__webpeft.error', 60_000);
    const run = (await page.evaluate(() => window.__webpeft)).runs[0];
    const out = mkdtempSync(join(tmpdir(), 'webpeft-cpu-'));
    try {
      const cli = await runCli('train', '--task', 'tokens', '--method', 'bitfit', '--steps', '3', '--batch-size', '8', '--max-length', '32',
        '--seed', '42', '--eval-limit', '8', '--backend', 'cpu', '--out', out);
      expect(cli.code, cli.err).toBe(0);
      expect(run.losses).toEqual(JSON.parse(readFileSync(join(out, 'losses.json'), 'utf8')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    await page.close();
  }, 100_000);
});
