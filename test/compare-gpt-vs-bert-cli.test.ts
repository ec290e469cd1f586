/**
 * `webpeft compare --ablation gpt-vs-bert` end to end on the embedded gpt2-tiny and bert-tiny (tiny budgets): the six
 * rows land in results.json with finite numbers and the parameter counts the design implies (the same prompt encoder
 * on both models, nothing of either model trained), the verbalizer and templates are recorded, the [CLS] reference
 * rows are the main table's, report.html plots every row with its whisker, and `--rerun` in worker threads repeats
 * every number. Bad input is one line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCompareWorkerBundle } from './helpers/compare-worker.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--methods', 'ptuning,frozen', '--steps', '4', '--eval-every', '2', '--patience', '1', '--seeds', '7,8',
  '--eval-limit', '16', '--max-length', '16', '--batch-size', '4', '--virtual-tokens', '2', '--lr', 'ptuning=0.03,frozen=0.05'];

const LABELS = ['gpt2-tiny, manual prompt, no training', 'gpt2-tiny, P-tuning + LM head', 'bert-tiny, manual prompt, no training',
  'bert-tiny, P-tuning + MLM head', 'bert-tiny, P-tuning + [CLS] classifier', 'bert-tiny, frozen body + [CLS] classifier'];

describe('webpeft compare --ablation gpt-vs-bert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-gvb-'));
  useCompareWorkerBundle('gpt-vs-bert');

  it('writes the six rows with finite numbers, records the verbalizer, plots every row, and --rerun in worker threads repeats every number', async () => {
    const first = await runCli('compare', ...SMALL, '--ablation', 'gpt-vs-bert', '--workers', '1', '--out', join(dir, 'one'));
    expect(first.code, first.err).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'one', 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings).toMatchObject({ ablations: ['gpt-vs-bert'], virtualTokens: 2 });
    const [a] = r.ablations;
    expect(a!.kind).toBe('gpt-vs-bert');
    expect(a!.rows.map((row) => row.label)).toEqual(LABELS);
    expect(a!.rows.map((row) => [row.model, row.readout])).toEqual([['gpt2-tiny', 'lm-head'], ['gpt2-tiny', 'lm-head'], ['bert-tiny', 'mlm-head'],
      ['bert-tiny', 'mlm-head'], ['bert-tiny', 'classifier'], ['bert-tiny', 'classifier']]);
    for (const row of a!.rows) {
      for (const v of [row.validation, row.validationSe, row.test, row.testSe, row.trainable]) expect(Number.isFinite(v), row.label).toBe(true);
      for (const v of [row.validation, row.test!]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    // the verbalizer: one token per class in each vocabulary, and the templates at P = 2
    expect(a!.verbalizer).toEqual({ classes: ['ham', 'spam'], words: [' ham', ' spam'], ids: { 'gpt2-tiny': [3914, 2378], 'bert-tiny': [3919, 2383] },
      templates: { ptuning: '{p:1} {x} {p:1} This mail is [MASK]', manual: '{x} This mail is [MASK]' } });
    // the majority class's share, from the first 16 validation / test mails
    expect(a!.majority!.validation * 16 % 1).toBe(0);
    expect(a!.majority!.test * 16 % 1).toBe(0);
    const [gptZero, gptTuned, bertZero, bertTuned, cls, frozen] = a!.rows;
    // nothing trains in a manual-prompt row, so every seed scores the same
    for (const z of [gptZero!, bertZero!]) expect([z.trainable, z.validationSe, z.testSe, z.lr]).toEqual([0, 0, 0, undefined]);
    // the LM-head rows train the prompt encoder only: the same tensors on both models (both 64 wide), and the main
    // P-tuning row's trainable count less its [CLS] classifier (the frozen row's)
    const main = (m: string) => r.methods.find((x) => x.method === m)!;
    expect(gptTuned!.trainable).toBe(bertTuned!.trainable);
    expect(gptTuned!.trainable).toBe(main('ptuning').trainable - main('frozen').trainable);
    expect([gptTuned!.lr, bertTuned!.lr]).toEqual([0.03, 0.03]);
    // the [CLS] reference rows are the main table's rows (--methods has ptuning and frozen), not second runs
    for (const [row, m] of [[cls!, main('ptuning')], [frozen!, main('frozen')]] as const) {
      expect([row.validation, row.validationSe, row.test, row.testSe, row.trainable]).toEqual([m.validation, m.validationSe, m.test, m.testSe, m.trainable]);
    }
    expect(r.settings!.rowLr).toEqual({ [LABELS[1]!]: 0.03, [LABELS[3]!]: 0.03, [LABELS[4]!]: 0.03, [LABELS[5]!]: 0.05 });

    // the report: each bar's title carries its validation score, and a whisker for each row whose SE is not 0
    const html = readFileSync(join(dir, 'one', 'report.html'), 'utf8');
    const section = html.slice(html.indexOf('Ablation: P-tuned GPT vs BERT'), html.indexOf('</section>', html.indexOf('Ablation: P-tuned GPT vs BERT')));
    for (const row of a!.rows) expect(section).toContain(`<title>${row.label.replace('&', '&amp;')}: ${row.validation.toFixed(3)}</title>`);
    expect(section.split('class="error-bar"').length - 1).toBe(a!.rows.filter((row) => row.validationSe! > 0).length);
    for (const text of ['" ham"', 'gpt2-tiny 3914/2378', 'This mail is [MASK]']) expect(section).toContain(text.replace(/"/g, '&quot;'));

    const again = await runCli('compare', '--rerun', join(dir, 'one', 'results.json'), '--workers', '2', '--out', join(dir, 'two'));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/2 runs at a time in worker threads/);
    const r2 = JSON.parse(readFileSync(join(dir, 'two', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings).toEqual(r.settings);
    const scores = (x: CompareResult) => x.ablations.map((b) => b.rows.map((row) => [row.label, row.validation, row.validationSe, row.test, row.testSe, row.trainable, row.lr]));
    expect(scores(r2)).toEqual(scores(r));
    expect(r2.ablations[0]!.verbalizer).toEqual(a!.verbalizer);
  }, 600_000);

  it('compare --help names the ablation and says how the class is read', async () => {
    const help = await runCli('compare', '--help');
    expect(help.out).toContain('--ablation prompt-length|reparam|bitfit-subset|prefix-placement|ensemble|data-size|multitask|position|gpt-vs-bert');
    expect(help.out).toMatch(/gpt-vs-bert +\(--task spam\) P-tuning's "GPT understands, too"/);
    expect(help.out).toContain('ham = " ham", spam = " spam"');
  });

  it('refuses bad input in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--task', 'tokens', '--ablation', 'gpt-vs-bert'], /--ablation gpt-vs-bert: a classification task read through a verbalizer, --task spam \(not tokens\)/],
      [['--model', 'assets/models/bert-tiny', '--ablation', 'gpt-vs-bert'], /--ablation gpt-vs-bert compares the embedded gpt2-tiny and bert-tiny; drop --model assets\/models\/bert-tiny/],
      [['--ablation', 'gpt-vs-bert', '--virtual-tokens', '0'], /--ablation gpt-vs-bert: P-tuning needs at least 1 virtual token, got --virtual-tokens 0/],
      [['--ablation', 'gpt-vs-bert', '--task', 'subject-seq2seq', '--methods', 'frozen'], /--ablation gpt-vs-bert is not available here/],
    ];
    for (const [flags, message] of cases) {
      const bad = await runCli('compare', ...SMALL, ...flags, '--out', join(dir, 'bad'));
      expect(bad.code, flags.join(' ')).toBe(1);
      expect(bad.err).toMatch(message);
      expect(bad.err.trim().split('\n').length, bad.err).toBe(1);
    }
  }, 300_000);
});
