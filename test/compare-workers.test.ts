/**
 * compare's runs in worker threads (--workers N, src/train/compare-workers.ts) give exactly the numbers of the same
 * runs one after another in this thread: every run depends only on its method, seed and learning rate. The worker
 * bundle is built here the way scripts/build.mjs builds dist/compare-worker.mjs.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCompareWorkerBundle } from './helpers/compare-worker.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--methods', 'frozen,bitfit,ptuning-v2', '--steps', '6', '--eval-every', '3', '--patience', '1', '--seeds', '7,8',
  '--eval-limit', '24', '--max-length', '16', '--batch-size', '4', '--lr', 'frozen=0.05,bitfit=0.02,ptuning-v2=0.03'];

describe('webpeft compare --workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-workers-'));
  useCompareWorkerBundle('test');

  it('runs 3 at a time in worker threads with the same per-run numbers as one at a time in this thread', async () => {
    const one = await runCli('compare', ...SMALL, '--workers', '1', '--out', join(dir, 'one'));
    const three = await runCli('compare', ...SMALL, '--workers', '3', '--out', join(dir, 'three'));
    expect(one.code, one.err).toBe(0);
    expect(three.code, three.err).toBe(0);
    expect(three.out).toMatch(/3 runs at a time in worker threads/);
    const a = JSON.parse(readFileSync(join(dir, 'one', 'results.json'), 'utf8')) as CompareResult;
    const b = JSON.parse(readFileSync(join(dir, 'three', 'results.json'), 'utf8')) as CompareResult;
    expect([a.workers, b.workers]).toEqual([1, 3]);
    expect(b.methods.map((m) => m.method)).toEqual(['frozen', 'bitfit', 'ptuning-v2']);
    for (const [m, n] of a.methods.map((m, i) => [m, b.methods[i]!] as const)) {
      expect(n.runs!.map((r) => [r.seed, r.validation, r.test, r.stepsKept, r.curve])).toEqual(m.runs!.map((r) => [r.seed, r.validation, r.test, r.stepsKept, r.curve]));
      expect(n.losses).toEqual(m.losses);
      expect(n.validation).toBe(m.validation);
    }
    // BitFit's analysis comes back from the worker too
    expect(b.bitfitDeltas).toEqual(a.bitfitDeltas);
    expect(b.bitfitDeltas!.length).toBeGreaterThan(0);
  }, 600_000);

  it('refuses --workers > 1 on WebGPU and a bad count, in one line', async () => {
    const bad = await runCli('compare', ...SMALL.slice(2), '--workers', '0', '--out', join(dir, 'bad'));
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--workers must be an integer ≥ 1, got '0'/);
  });
});
