/**
 * The page in a real browser for the browser tests: Debian's chromium, headless, WebGPU on SwiftShader (see
 * shared/MISSION.md, "Browser"), the bundle built and served as `npm run web` serves it. Without /usr/bin/chromium
 * the suites are skipped — with CI=true that is a failure instead.
 */
import type { Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.mjs';
import { serveWeb } from '../../scripts/serve-web.mjs';

export const CHROMIUM = process.env.WEBPEFT_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium (.ci/install-system.sh)`);
  console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium, or set WEBPEFT_CHROMIUM)`);
}

export interface PageSession {
  url: string;
  /** Errors and warnings the pages logged, for failure messages. */
  consoleLines: string[];
  open(query: string, init?: () => void): Promise<Page>;
  close(): Promise<void>;
}

/** Builds the bundle, serves it on a free port, launches chromium with a fresh profile. */
export async function startPageSession(): Promise<PageSession> {
  const built = await buildWeb({ quiet: true });
  console.log(`bundle: ${(built.bytes / 1024).toFixed(0)} KiB, no node: or webgpu imports`);
  const { server, url } = await serveWeb({ port: 0 });
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'webpeft-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
        '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      viewport: { width: 1280, height: 1000 },
      timeout: 30_000,
    });
  } catch (e) {
    await closeServer(server);
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const consoleLines: string[] = [];
  return {
    url,
    consoleLines,
    async open(query, init) {
      const page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`[${m.type()}] ${m.text()}`); });
      page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
      if (init) await page.addInitScript(init);
      await page.goto(url + query);
      return page;
    },
    async close() {
      await context.close();
      await closeServer(server);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((ok) => server.close(() => ok()));
}

/** Waits for a condition on window.__webpeft, failing with the page's state and console when it does not come. */
export async function waitFor(page: Page, s: PageSession, what: string, fn: string, timeout: number): Promise<void> {
  try {
    await page.waitForFunction(fn, undefined, { timeout, polling: 250 });
  } catch (e) {
    const state = await page.evaluate(() => JSON.stringify({ ...window.__webpeft, parity: window.__webpeft?.parity?.length })).catch(() => 'unavailable');
    const shown = await page.evaluate(() => `${document.getElementById('status')?.textContent} | ${document.getElementById('run-status')?.textContent}`).catch(() => '?');
    throw new Error(`the page did not get to '${what}': ${(e as Error).message}\nstatus: ${shown}\n__webpeft: ${state.slice(0, 2000)}\nconsole:\n${s.consoleLines.join('\n')}`);
  }
}
