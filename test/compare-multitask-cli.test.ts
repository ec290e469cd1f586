/**
 * `webpeft compare --ablation multitask` end to end on the embedded bert-tiny (tiny budgets): the rows land in
 * results.json with finite numbers, the "from scratch" row is the main P-tuning v2 row (and equal to one run without
 * it), report.html plots every row, the settings are recorded, `--rerun` through the worker-thread runner repeats every
 * number, and bad flags are one line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCompareWorkerBundle } from './helpers/compare-worker.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--steps', '4', '--eval-every', '2', '--patience', '1', '--seeds', '7,8', '--eval-limit', '16', '--max-length', '16',
  '--batch-size', '4', '--virtual-tokens', '2', '--lr', 'ptuning-v2=0.05,frozen=0.05'];

describe('webpeft compare --ablation multitask', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-multitask-'));
  useCompareWorkerBundle('multitask');
  const scores = (x: CompareResult) => x.ablations.map((a) => a.rows.map((row) => [row.label, row.validation, row.validationSe, row.test, row.testSe, row.trainable, row.lr, row.stepsKept]));

  it('writes finite rows, plots them, records the settings, and --rerun in worker threads repeats every number', async () => {
    const first = await runCli('compare', ...SMALL, '--methods', 'ptuning-v2', '--ablation', 'multitask', '--tasks', 'spam,tokens', '--pretrain-steps', '3',
      '--workers', '1', '--out', join(dir, 'one'));
    expect(first.code, first.err).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'one', 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings).toMatchObject({ ablations: ['multitask'], tasks: ['spam', 'tokens'], pretrainSteps: 3 });
    const [a] = r.ablations;
    expect(a!.kind).toBe('multitask');
    expect(a!.tasks).toEqual(['spam', 'tokens']);
    expect(a!.pretrainSteps).toBe(3);
    expect(a!.rows.map((row) => row.label)).toEqual(['P-tuning v2 from scratch', 'prompt pretrained on spam+tokens', 'prompt pretrained on spam alone']);
    const main = r.methods.find((m) => m.method === 'ptuning-v2')!;
    for (const row of a!.rows) {
      for (const v of [row.validation, row.validationSe, row.test, row.testSe, row.trainSeconds, row.peakMB, row.stepsKept]) expect(Number.isFinite(v), row.label).toBe(true);
      expect(row.validation).toBeGreaterThanOrEqual(0);
      expect(row.validation).toBeLessThanOrEqual(1);
      // the same prompt and head shapes in every row: the main row's count; its learning rate
      expect(row.trainable).toBe(main.trainable);
      expect(row.lr).toBe(0.05);
    }
    // "from scratch" is the main row itself
    expect([a!.rows[0]!.validation, a!.rows[0]!.test, a!.rows[0]!.validationSe]).toEqual([main.validation, main.test, main.validationSe]);
    // the runs of each row are logged: two pretrained rows × two seeds
    expect(first.err.match(/prompt pretrained on .* seed [78]: validation/g)?.length).toBe(4);

    const html = readFileSync(join(dir, 'one', 'report.html'), 'utf8');
    expect(html).toContain('Ablation: multi-task prompt pretraining (P-tuning v2)');
    for (const row of a!.rows) {
      expect(html).toContain(`<title>${row.label}: ${row.validation.toFixed(3)}</title>`);
      if (row.validationSe! > 0) expect(html).toContain(`${row.validation.toFixed(3)} ± ${row.validationSe!.toFixed(3)}`);
    }

    const again = await runCli('compare', '--rerun', join(dir, 'one', 'results.json'), '--workers', '2', '--out', join(dir, 'two'));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/2 runs at a time in worker threads/);
    const r2 = JSON.parse(readFileSync(join(dir, 'two', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings).toEqual(r.settings);
    expect(scores(r2)).toEqual(scores(r));

    // without a main ptuning-v2 row the ablation runs "from scratch" itself: the same numbers; --tasks spam alone has no control row
    const alone = await runCli('compare', ...SMALL, '--methods', 'frozen', '--ablation', 'multitask', '--tasks', 'spam', '--pretrain-steps', '3',
      '--workers', '2', '--out', join(dir, 'three'));
    expect(alone.code, alone.err).toBe(0);
    const r3 = JSON.parse(readFileSync(join(dir, 'three', 'results.json'), 'utf8')) as CompareResult;
    const rows3 = r3.ablations[0]!.rows;
    expect(rows3.map((row) => row.label)).toEqual(['P-tuning v2 from scratch', 'prompt pretrained on spam']);
    expect(scores(r3)[0]![0]).toEqual(scores(r)[0]![0]);
    // pretraining on spam alone for 3 steps is the third row of the first run
    expect(scores(r3)[0]![1]!.slice(1)).toEqual(scores(r)[0]![2]!.slice(1));
  }, 600_000);

  it('compare --help names the ablation and its settings', async () => {
    const help = await runCli('compare', '--help');
    expect(help.out).toContain('|data-size|multitask|');
    expect(help.out).toContain('[--tasks t1,t2] [--pretrain-steps N]');
    expect(help.out).toMatch(/multitask +\(BERT tasks\) P-tuning v2 multi-task prompt pretraining: one deep prompt shared by --tasks \(default\n +spam,tokens\)/);
  });

  it('refuses bad input in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--tasks', 'spam,tokens'], /--tasks is a setting of --ablation multitask; add it or drop --tasks/],
      [['--pretrain-steps', '5'], /--pretrain-steps is a setting of --ablation multitask/],
      [['--ablation', 'multitask', '--tasks', 'spam,nope'], /--tasks: unknown task 'nope' \(the BERT tasks: spam, tokens\)/],
      [['--ablation', 'multitask', '--tasks', 'spam,subject'], /--tasks: 'subject' runs on GPT-2, the target spam on BERT; one shared prompt needs one base model/],
      [['--ablation', 'multitask', '--tasks', 'tokens,tokens'], /--tasks: 'tokens' is listed twice/],
      [['--ablation', 'multitask', '--pretrain-steps', '0'], /--pretrain-steps must be an integer ≥ 1, got '0'/],
      [['--task', 'subject', '--ablation', 'multitask'], /--ablation multitask: P-tuning v2 multi-task pretraining runs on the BERT tasks \(spam, tokens\), not --task subject \(GPT-2\)/],
      [['--task', 'subject-seq2seq', '--ablation', 'multitask'], /not --task subject-seq2seq \(BART\)/],
    ];
    for (const [flags, message] of cases) {
      const bad = await runCli('compare', ...SMALL, '--methods', 'frozen', ...flags, '--out', join(dir, 'bad'));
      expect(bad.code, flags.join(' ')).toBe(1);
      expect(bad.err).toMatch(message);
      expect(bad.err.trim().split('\n').length, bad.err).toBe(1);
    }
  }, 120_000);
});
