/**
 * `webpeft compare --ablation ensemble --ablation data-size` end to end on the embedded bert-tiny (tiny budgets): the
 * rows land in results.json with finite numbers and the parameter counts the design implies, report.html plots them,
 * the settings are recorded, and `--rerun` through the worker-thread runner repeats every number. Bad input is one line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCompareWorkerBundle } from './helpers/compare-worker.js';
import { sig } from '../src/report/svg.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--methods', 'prompt,frozen', '--steps', '4', '--eval-every', '2', '--patience', '1', '--seeds', '7,8',
  '--eval-limit', '16', '--max-length', '16', '--batch-size', '4', '--lr', 'prompt=0.3,frozen=0.05,bitfit=0.02,full=0.001'];

describe('webpeft compare --ablation ensemble / data-size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-ablations-'));
  useCompareWorkerBundle('ablations');

  it('writes both ablations with finite rows, plots them, records the settings, and --rerun in worker threads repeats every number', async () => {
    const first = await runCli('compare', ...SMALL, '--ablation', 'ensemble', '--ensemble-k', '2', '--ablation', 'data-size', '--data-sizes', '8,16',
      '--workers', '1', '--out', join(dir, 'one'));
    expect(first.code, first.err).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'one', 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings).toMatchObject({ ablations: ['ensemble', 'data-size'], ensembleK: 2, dataSizes: [8, 16] });
    const [ensemble, dataSize] = r.ablations;
    expect(ensemble!.kind).toBe('ensemble');
    expect(ensemble!.k).toBe(2);
    expect(ensemble!.rows.map((row) => row.label)).toEqual(['ensemble of 2 prompts, one batch', 'best of its 2 prompts (validation)',
      '2 separate prompt runs, averaged', 'best of 2 separate runs (validation)']);
    for (const row of ensemble!.rows) {
      for (const v of [row.validation, row.validationSe, row.test, row.testSe, row.trainSeconds, row.peakMB]) expect(Number.isFinite(v), row.label).toBe(true);
      expect(row.validation).toBeGreaterThanOrEqual(0);
      expect(row.validation).toBeLessThanOrEqual(1);
    }
    // trainable: one prompt run is prompt + head (the main prompt row); the ensemble shares one head between K prompts
    const prompt = r.methods.find((m) => m.method === 'prompt')!.trainable;
    const head = r.methods.find((m) => m.method === 'frozen')!.trainable;
    expect(ensemble!.rows.map((row) => row.trainable)).toEqual([2 * (prompt - head) + head, 2 * (prompt - head) + head, 2 * prompt, 2 * prompt]);

    expect(dataSize!.kind).toBe('data-size');
    expect(dataSize!.trainSize).toBe(1500);
    expect(dataSize!.rows.map((row) => [row.method, row.x])).toEqual([['bitfit', 8], ['bitfit', 16], ['full', 8], ['full', 16]]);
    for (const row of dataSize!.rows) for (const v of [row.validation, row.test, row.trainable]) expect(Number.isFinite(v), row.label).toBe(true);

    // the report plots every row's validation score (markers carry it in their titles; whiskers where the SE is not 0)
    const html = readFileSync(join(dir, 'one', 'report.html'), 'utf8');
    expect(html).toContain('Ablation: training-set size');
    expect(html).toContain('Ablation: prompt ensembling');
    for (const row of dataSize!.rows) {
      expect(html).toContain(`<title>${row.method}: x=${row.x}, ${sig(row.validation, 3)}</title></circle>`);
      if (row.validationSe! > 0) expect(html).toContain(`<title>${row.method}: x=${row.x}, ${sig(row.validation, 3)} ± ${sig(row.validationSe!, 2)}</title>`);
    }
    for (const row of ensemble!.rows) expect(html).toContain(`<title>${row.label}: ${row.validation.toFixed(3)}</title>`);

    const again = await runCli('compare', '--rerun', join(dir, 'one', 'results.json'), '--workers', '2', '--out', join(dir, 'two'));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/2 runs at a time in worker threads/);
    const r2 = JSON.parse(readFileSync(join(dir, 'two', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings).toEqual(r.settings);
    const scores = (x: CompareResult) => x.ablations.map((a) => a.rows.map((row) => [row.label, row.validation, row.validationSe, row.test, row.testSe, row.trainable]));
    expect(scores(r2)).toEqual(scores(r));
  }, 600_000);

  it('compare --help names both ablations and their settings', async () => {
    const help = await runCli('compare', '--help');
    expect(help.out).toContain('--ablation prompt-length|reparam|bitfit-subset|prefix-placement|ensemble|data-size');
    expect(help.out).toMatch(/--ensemble-k K\] \[--data-sizes n,n,…,all\]/);
    expect(help.out).toMatch(/ensemble +\(--task spam\) K prompts \(--ensemble-k, default 3\)/);
    expect(help.out).toMatch(/data-size +BitFit vs full fine-tuning .*\n.*n in --data-sizes \(default 64,128,256,512,all/);
  });

  it('refuses bad input in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--ablation', 'ensemble', '--ensemble-k', '1'], /--ensemble-k must be an integer ≥ 2, got '1'/],
      [['--ensemble-k', '3'], /--ensemble-k is a setting of --ablation ensemble/],
      [['--data-sizes', '8,16'], /--data-sizes is a setting of --ablation data-size/],
      [['--ablation', 'data-size', '--data-sizes', '8,x'], /--data-sizes: expected positive integers or 'all', got 'x'/],
      [['--ablation', 'data-size', '--data-sizes', '16,8'], /--data-sizes: expected increasing sizes, got 16,8/],
      [['--ablation', 'data-size', '--data-sizes', '2'], /--data-sizes: 2 is not an integer ≥ the batch size 4/],
      [['--ablation', 'data-size', '--data-sizes', '9999'], /--data-sizes: 9999 is more than the 1500 training examples/],
      [['--task', 'tokens', '--ablation', 'ensemble'], /--ablation ensemble: the tokens task is not scored from class probabilities \(spam is\)/],
    ];
    for (const [flags, message] of cases) {
      const bad = await runCli('compare', ...SMALL, ...flags, '--out', join(dir, 'bad'));
      expect(bad.code, flags.join(' ')).toBe(1);
      expect(bad.err).toMatch(message);
      expect(bad.err.trim().split('\n').length, bad.err).toBe(1);
    }
  }, 300_000); // each case loads bert-tiny and builds the task before refusing
});
