/**
 * The page in web/ in a real browser: Debian's chromium, headless, WebGPU on SwiftShader (see shared/MISSION.md,
 * "Browser"). The bundle is built (and checked free of node: and 'webgpu' imports), served as `npm run web` serves it, and
 * the page acquires the WebGPU backend through navigator.gpu, checks every op against the CPU, and prompt-tunes a
 * tiny GPT-2. Without /usr/bin/chromium the suite is skipped — with CI=true that is a failure instead.
 */
import type { Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { WebpeftResults } from '../web/main.js';
import { buildWeb } from '../scripts/build-web.mjs';
import { serveWeb } from '../scripts/serve-web.mjs';
import { cpu } from '../src/kernels/cpu/index.js';
import { TRAIN, trainDemo } from '../web/run.js';

const CHROMIUM = process.env.WEBPEFT_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium (.ci/install-system.sh)`);
  console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium, or set WEBPEFT_CHROMIUM)`);
}

describe.runIf(haveChromium)('the web page in headless chromium (WebGPU on SwiftShader)', () => {
  let server: Server | undefined;
  let url = '';
  let context: BrowserContext | undefined;
  let profile = '';
  const consoleLines: string[] = [];
  /** The same training run in Node on the CPU backend: the page must reproduce it. */
  let nodeLosses: Promise<number[]>;

  beforeAll(async () => {
    nodeLosses = trainDemo(cpu, () => {}, { ...TRAIN }).then((r) => r.losses);
    nodeLosses.catch(() => {}); // awaited (and reported) in the test
    const built = await buildWeb({ quiet: true });
    console.log(`bundle: ${(built.bytes / 1024).toFixed(0)} KiB, no node: or webgpu imports`);
    ({ server, url } = await serveWeb({ port: 0 })); // what `npm run web` serves, on a free port
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'webpeft-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
        '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1100, height: 900 },
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(query: string, init?: () => void): Promise<Page> {
    const page = await context!.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`[${m.type()}] ${m.text()}`); });
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
    if (init) await page.addInitScript(init);
    await page.goto(url + query);
    return page;
  }

  async function results(page: Page, timeout: number): Promise<WebpeftResults> {
    try {
      await page.waitForFunction(() => window.__webpeft?.done === true, undefined, { timeout, polling: 250 });
    } catch (e) {
      const state = await page.evaluate(() => JSON.stringify(window.__webpeft ?? null)).catch(() => 'unavailable');
      const shown = await page.textContent('#status').catch(() => '?');
      throw new Error(`the page did not finish: ${(e as Error).message}\nstatus: ${shown}\n__webpeft: ${state}\nconsole:\n${consoleLines.join('\n')}`);
    }
    return page.evaluate(() => window.__webpeft);
  }

  function expectAllGood(r: WebpeftResults): void {
    expect(r.error, `${r.error}\n${consoleLines.join('\n')}`).toBeUndefined();
    expect(r.parity.length).toBeGreaterThan(30);
    for (const row of r.parity) {
      expect(row.ok, `${row.op}: max rel err ${row.maxRelErr} > ${row.tolerance}\n${row.counterexample ?? ''}`).toBe(true);
      expect(row.cases).toBeGreaterThan(0);
    }
    expect(r.losses.length).toBeGreaterThanOrEqual(10);
    for (const l of [...r.baseLosses, ...r.losses]) expect(Number.isFinite(l)).toBe(true);
    expect(r.baseLosses.at(-1)!).toBeLessThan(r.baseLosses[0]);
    expect(r.losses.at(-1)!, `prompt-tuning losses ${r.losses.join(', ')}`).toBeLessThan(r.losses[0]);
  }

  it('acquires WebGPU through navigator.gpu, passes op parity for every op, and prompt tuning lowers the loss', async () => {
    const page = await open('');
    const r = await results(page, 80_000); // ≈15 s alone on this machine; headroom for a loaded CI runner
    console.log(`browser adapter: ${r.adapter}; timings (s): ${JSON.stringify(r.timings)}`);
    console.log(`prompt tuning: ${r.losses[0].toFixed(4)} -> ${r.losses.at(-1)!.toFixed(4)}; ` +
      `${r.parity.filter((p) => p.ok).length}/${r.parity.length} ops ok`);
    expect(r.hasWebGpu).toBe(true);
    expect(r.backend).toBe('webgpu');
    expect(r.adapter).toMatch(/^WebGPU: /);
    expectAllGood(r);
    // f32 on SwiftShader against f32 on Node's CPU backend: same model, same steps, summation orders differ
    const ref = await nodeLosses;
    const drift = Math.max(...ref.map((l, i) => Math.abs(l - r.losses[i]) / l));
    console.log(`largest relative loss difference, browser WebGPU vs Node CPU: ${drift.toExponential(2)}`);
    expect(drift).toBeLessThan(1e-3);
    if (process.env.WEBPEFT_SCREENSHOT) await page.screenshot({ path: process.env.WEBPEFT_SCREENSHOT, fullPage: true });
    await page.close();
  }, 90_000);

  it('without navigator.gpu it says so and runs the same checks on the CPU backend', async () => {
    const page = await open('?steps=10', () => { delete (Navigator.prototype as { gpu?: unknown }).gpu; });
    await page.waitForFunction(() => window.__webpeft?.waiting === 'no-webgpu', undefined, { timeout: 10_000 });
    expect(await page.textContent('#nogpu')).toMatch(/no WebGPU: navigator\.gpu is undefined/);
    await page.click('#run-cpu');
    const r = await results(page, 40_000);
    expect(r.hasWebGpu).toBe(false);
    expect(r.backend).toBe('cpu');
    expect(r.losses.length).toBe(10);
    expectAllGood(r);
    const ref = (await trainDemo(cpu, () => {}, { ...TRAIN, steps: 10 })).losses;
    const drift = Math.max(...ref.map((l, i) => Math.abs(l - r.losses[i]) / l));
    console.log(`largest relative loss difference, browser CPU vs Node CPU: ${drift.toExponential(2)}`);
    expect(drift).toBeLessThan(1e-5);
    await page.close();
  }, 60_000);
});
