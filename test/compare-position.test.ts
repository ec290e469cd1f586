/**
 * `webpeft compare --ablation position` (Prefix-Tuning §7.2: [PREFIX; x; y] vs [x; INFIX; y] vs embedding-only on
 * GPT-2 subject generation): the variants train the same number of virtual tokens through the same MLP (their
 * parameter counts are the ones that design implies, for any P and hidden size); early stopping breaks a ROUGE-L tie
 * by the validation loss; the report plots the rows' own numbers; end to end on a tiny random GPT-2, the rows are
 * finite, the trained rows move the loss away from frozen's, merge-results keeps them and `--rerun` (in worker
 * threads) repeats every number; the same on bart-tiny (--task subject-seq2seq: three prefix sets vs a decoder infix vs
 * an encoder prompt vs frozen, with their parameter counts); bad flags are one line.
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { renderReport } from '../src/report/report.js';
import { esc } from '../src/report/svg.js';
import type { AblationResult, CompareResult } from '../src/report/results.js';
import { earlyStopping } from '../src/train/compare-run.js';
import { BART_POSITION_VARIANTS, POSITION_VARIANTS, positionShapes } from '../src/train/compare-position.js';
import { loadGpt2 } from '../src/train/model-dir.js';
import { mergeResults } from '../tools/merge-results.js';
import { runCli } from './helpers/cli.js';
import { useCompareWorkerBundle } from './helpers/compare-worker.js';
import { tinyGpt2Dir } from './helpers/model-dirs.js';

describe('the position variants', () => {
  it('train the same virtual tokens through the same MLP; their counts are what that design implies, for any P and hidden size', async () => {
    const { model } = await loadGpt2('gpt2-tiny', { backend: cpu, seed: 1 });
    const base = baseOf(model);
    const { hidden: D, layers: L } = base;
    const defaults = await positionShapes(base, {});
    expect(defaults.map((s) => [s.method, s.virtualTokens, s.mlpHidden])).toEqual([['prefix', 10, D], ['infix', 10, D], ['prompt', 10, null], ['frozen', 0, null]]);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 24 }), async (P, h) => {
      const [prefix, infix, prompt, frozen] = await positionShapes(base, { virtualTokens: P, hidden: h });
      expect([prefix!.virtualTokens, infix!.virtualTokens, prompt!.virtualTokens, frozen!.virtualTokens]).toEqual([P, P, P, 0]);
      // Embedding(P, D) → Linear(D, h) → tanh → Linear(h, width): width 2·L·D (a key and a value per layer) vs L·D (one activation)
      const mlp = (width: number) => P * D + (D * h + h) + (h * width + width);
      if (h === 0) {
        expect([prefix!.mlpHidden, infix!.mlpHidden]).toEqual([null, null]);
        expect([prefix!.trainable, infix!.trainable]).toEqual([P * 2 * L * D, P * L * D]);
      } else {
        expect([prefix!.mlpHidden, infix!.mlpHidden]).toEqual([h, h]);
        expect([prefix!.trainable, infix!.trainable]).toEqual([mlp(2 * L * D), mlp(L * D)]);
      }
      expect([prompt!.trainable, frozen!.trainable]).toEqual([P * D, 0]);
    }), { numRuns: 12 });
    await expect(positionShapes(base, { virtualTokens: 0 })).rejects.toThrow('--ablation position: --virtual-tokens must be at least 1');
    model.dispose();
  }, 120_000);

  it('early stopping keeps, among checks of the same metric, the one with the highest tie-break; without one, the first', async () => {
    const o = { steps: 40, evalEvery: 10, patience: 2 };
    const run = async (evals: { metric: number; tieBreak?: number }[]) => {
      let i = 0;
      const s = earlyStopping([], o, async () => evals[i++]!);
      let stopped = 0;
      for (let done = 1; done <= o.steps; done++) if (await s.after(done)) { stopped = done; break; }
      return { kept: s.restore()!.step, stopped };
    };
    // ROUGE-L at 0 throughout, the loss falling until step 30
    expect(await run([{ metric: 0, tieBreak: -6.5 }, { metric: 0, tieBreak: -6.4 }, { metric: 0, tieBreak: -6.3 }, { metric: 0, tieBreak: -6.35 }])).toEqual({ kept: 30, stopped: 0 });
    expect(await run([{ metric: 0 }, { metric: 0 }, { metric: 0 }, { metric: 0 }])).toEqual({ kept: 10, stopped: 30 });
    // a higher metric wins over any tie-break
    expect(await run([{ metric: 0.1, tieBreak: -9 }, { metric: 0, tieBreak: -1 }, { metric: 0.1, tieBreak: -8 }, { metric: 0.1, tieBreak: -8.5 }])).toEqual({ kept: 30, stopped: 0 });
  });
});

describe('the report draws the position ablation', () => {
  const rows: AblationResult['rows'] = POSITION_VARIANTS.map(({ method, label }, x) => ({
    label, method, x, validation: [0.02, 0.01, 0, 0][x]!, validationSe: [0.01, 0.005, 0, 0][x]!, test: 0.01, testSe: 0.002, trainable: [38_080, 21_440, 640, 0][x]!,
    extra: { 'validation targetLoss': [6.15, 6.31, 6.4, 6.46][x]!, 'validation rouge1': 0.05, 'validation rouge2': 0.01, 'test targetLoss': 6.2 },
    extraSe: { 'validation targetLoss': [0.02, 0.03, 0.01, 0][x]!, 'validation rouge1': 0.01, 'validation rouge2': 0.004, 'test targetLoss': 0.05 },
  }));
  const position: AblationResult = { kind: 'position', title: 'Position of the virtual tokens', rows, virtualTokens: 10, mlpHidden: 64 };
  const result: CompareResult = {
    task: 'subject', taskDescription: 'subject from body', metric: 'ROUGE-L', model: 'gpt2-tiny', backend: 'cpu', device: 'cpu', steps: 10, seed: 1,
    baseParams: 470_400, methods: [], ablations: [position], totalSeconds: 1, date: '2026-12-03T00:00:00Z',
  };

  it('a ROUGE-L bar and a loss dot per variant at its numbers, whiskers where the SE is not 0, and every metric in the table', () => {
    const html = renderReport(result);
    expect(html).toContain('Ablation: position of the virtual tokens (prefix vs infix)');
    expect(html).toContain('10 virtual tokens in every variant; prefix and infix through the same MLP (hidden 64)');
    for (const row of rows) {
      expect(html).toContain(`<title>${row.label}: ${row.validation.toFixed(3)}</title></rect>`);
      const loss = row.extra!['validation targetLoss']!;
      expect(html).toContain(`<title>${row.label}: ${loss.toFixed(3)}</title></circle>`);
      const se = row.extraSe!['validation targetLoss']!;
      if (se > 0) expect(html).toContain(`<title>${row.label}: ${loss.toFixed(3)} ± ${se.toFixed(3)}</title>`);
      expect(html).toContain(`<td>${loss.toFixed(3)} ± ${se.toFixed(3)}</td>`);
    }
    // whiskers: 2 ROUGE-L bars and 3 loss dots have a non-zero SE
    expect((html.match(/class="error-bar"/g) ?? []).length).toBe(5);
    expect(html).toContain('<td>0.050 ± 0.010</td><td>0.010 ± 0.004</td>'); // ROUGE-1, ROUGE-2
    // the loss axis is fitted to the losses (not from 0): its lowest tick is above 6
    const loss = html.slice(html.indexOf('id="plot-ablation-0-loss"'));
    const ticks = [...loss.slice(0, loss.indexOf('</svg>')).matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="end">([\d.]+)<\/text>/g)].map((m) => Number(m[1]));
    expect(Math.min(...ticks)).toBeGreaterThan(6);
  });
});

const SMALL = ['--backend', 'cpu', '--task', 'subject', '--methods', 'frozen', '--steps', '4', '--eval-every', '2', '--patience', '1', '--seeds', '7,8',
  '--eval-limit', '8', '--max-length', '24', '--batch-size', '4', '--virtual-tokens', '2', '--hidden', '8'];

describe('webpeft compare --ablation position', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-position-'));
  useCompareWorkerBundle('position');

  it('writes the rows finite, the trained ones off the frozen loss, plots them, merges them, and --rerun in worker threads repeats every number', async () => {
    const model = await tinyGpt2Dir();
    const first = await runCli('compare', ...SMALL, '--model', model, '--ablation', 'position', '--workers', '1', '--out', join(dir, 'one'));
    expect(first.code, first.err).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'one', 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings).toMatchObject({ task: 'subject', ablations: ['position'], virtualTokens: 2, hidden: 8 });
    const [a] = r.ablations;
    expect(a!.kind).toBe('position');
    expect([a!.virtualTokens, a!.mlpHidden]).toEqual([2, 8]);
    expect(a!.rows.map((row) => row.method)).toEqual(['prefix', 'infix', 'prompt', 'frozen']);
    // the tiny model: D = 16, L = 2; P = 2, MLP hidden 8
    expect(a!.rows.map((row) => row.trainable)).toEqual([2 * 16 + (16 * 8 + 8) + (8 * 64 + 64), 2 * 16 + (16 * 8 + 8) + (8 * 32 + 32), 2 * 16, 0]);
    for (const row of a!.rows) {
      for (const v of [row.validation, row.validationSe, row.test, row.testSe]) expect(Number.isFinite(v), row.label).toBe(true);
      for (const k of ['validation targetLoss', 'validation rouge1', 'validation rouge2', 'test targetLoss']) {
        expect(Number.isFinite(row.extra![k]), `${row.label} ${k}`).toBe(true);
        expect(Number.isFinite(row.extraSe![k]), `${row.label} ${k} SE`).toBe(true);
      }
      expect(row.validation).toBeGreaterThanOrEqual(0);
      expect(row.extra!['validation rouge1']).toBeGreaterThanOrEqual(row.validation); // ROUGE-L ≤ ROUGE-1 (an LCS is a set of shared unigrams)
      expect(row.extra!['validation targetLoss']).toBeGreaterThan(0);
    }
    // the frozen row is the main frozen row (the same run); every trained variant moved the loss away from it
    const frozen = r.methods.find((m) => m.method === 'frozen')!;
    const lossOf = (row: AblationResult['rows'][number]) => row.extra!['validation targetLoss']!;
    expect(lossOf(a!.rows[3]!)).toBe(frozen.extra['validation targetLoss']);
    for (const row of a!.rows.slice(0, 3)) expect(Math.abs(lossOf(row) - lossOf(a!.rows[3]!)), row.label).toBeGreaterThan(1e-4);
    expect(lossOf(a!.rows[0]!)).not.toBe(lossOf(a!.rows[1]!));

    const html = readFileSync(join(dir, 'one', 'report.html'), 'utf8');
    expect(html).toContain('Ablation: position of the virtual tokens (prefix vs infix)');
    for (const row of a!.rows) {
      expect(html).toContain(`<title>${row.label}: ${row.validation.toFixed(3)}</title></rect>`);
      expect(html).toContain(`<title>${row.label}: ${lossOf(row).toFixed(3)}</title></circle>`);
      const se = row.extraSe!['validation targetLoss']!;
      if (se > 0) expect(html).toContain(`<title>${row.label}: ${lossOf(row).toFixed(3)} ± ${se.toFixed(3)}</title>`);
    }

    // merged with another invocation of the same protocol, the ablation and its numbers stay, and the report draws them
    const other = await runCli('compare', ...SMALL.map((x) => (x === 'frozen' ? 'prompt' : x)), '--model', model, '--workers', '1', '--out', join(dir, 'other'));
    expect(other.code, other.err).toBe(0);
    const merged = mergeResults([{ path: 'one', result: r }, { path: 'other', result: JSON.parse(readFileSync(join(dir, 'other', 'results.json'), 'utf8')) }]);
    expect(merged.ablations).toEqual(r.ablations);
    expect(merged.settings!.ablations).toEqual(['position']);
    expect(renderReport(merged)).toContain(`<title>${a!.rows[1]!.label}: ${lossOf(a!.rows[1]!).toFixed(3)}</title></circle>`);

    const again = await runCli('compare', '--rerun', join(dir, 'one', 'results.json'), '--workers', '2', '--out', join(dir, 'two'));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/2 runs at a time in worker threads/);
    const r2 = JSON.parse(readFileSync(join(dir, 'two', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings).toEqual(r.settings);
    const numbers = (x: CompareResult) => x.ablations.map((b) => b.rows.map((row) => [row.label, row.validation, row.validationSe, row.test, row.testSe, row.trainable, row.extra, row.extraSe]));
    expect(numbers(r2)).toEqual(numbers(r));
  }, 600_000);

  it('on BART (--task subject-seq2seq): three prefix sets vs decoder infix vs encoder prompt vs frozen, their counts, finite rows, the report, and --rerun repeats every number', async () => {
    const flags = ['--task', 'subject-seq2seq', '--backend', 'cpu', '--methods', 'frozen', '--steps', '2', '--eval-every', '2', '--patience', '1', '--seeds', '7,8',
      '--eval-limit', '4', '--batch-size', '4', '--max-length', '24', '--virtual-tokens', '2', '--hidden', '8', '--ablation', 'position'];
    const first = await runCli('compare', ...flags, '--out', join(dir, 'bart'));
    expect(first.code, first.err).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'bart', 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings).toMatchObject({ task: 'subject-seq2seq', model: 'bart-tiny', ablations: ['position'], virtualTokens: 2, hidden: 8 });
    const [a] = r.ablations;
    expect([a!.kind, a!.family, a!.virtualTokens, a!.mlpHidden]).toEqual(['position', 'bart', 2, 8]);
    expect(a!.rows.map((row) => [row.method, row.label])).toEqual(BART_POSITION_VARIANTS.map((v) => [v.method, v.label]));
    // bart-tiny: D = 64, 2 encoder and 2 decoder layers; P = 2, MLP hidden 8. A prefix set: Embedding(2, 64) → Linear(64, 8)
    // → Linear(8, 2·2·64), one per stack; the infix: the same MLP to 2·64 (one activation per decoder layer); the prompt: 2 × 64
    const mlp = (width: number) => 2 * 64 + (64 * 8 + 8) + (8 * width + width);
    expect(a!.rows.map((row) => row.trainable)).toEqual([3 * mlp(2 * 2 * 64), mlp(2 * 64), 2 * 64, 0]);
    for (const row of a!.rows) {
      for (const v of [row.validation, row.validationSe, row.test, row.testSe]) expect(Number.isFinite(v), row.label).toBe(true);
      for (const k of ['validation targetLoss', 'validation rouge1', 'validation rouge2', 'test targetLoss']) {
        expect(Number.isFinite(row.extra![k]), `${row.label} ${k}`).toBe(true);
        expect(Number.isFinite(row.extraSe![k]), `${row.label} ${k} SE`).toBe(true);
      }
      expect(row.extra!['validation rouge1']).toBeGreaterThanOrEqual(row.validation);
      expect(row.extra!['validation targetLoss']).toBeGreaterThan(0);
    }
    // frozen is the main frozen row (the same run); the trained variants moved the loss, and differ from each other
    const lossOf = (row: AblationResult['rows'][number]) => row.extra!['validation targetLoss']!;
    expect(lossOf(a!.rows[3]!)).toBe(r.methods.find((m) => m.method === 'frozen')!.extra['validation targetLoss']);
    for (const row of a!.rows.slice(0, 3)) expect(Math.abs(lossOf(row) - lossOf(a!.rows[3]!)), row.label).toBeGreaterThan(1e-4);
    expect(lossOf(a!.rows[0]!)).not.toBe(lossOf(a!.rows[1]!));
    const html = readFileSync(join(dir, 'bart', 'report.html'), 'utf8');
    expect(html).toContain('Ablation: position of the virtual tokens (prefix vs infix)');
    expect(html).toContain('the prefix in three sets (encoder self-attention, decoder self-attention, cross-attention; a key and a value per layer of each) where the infix has one activation per decoder layer');
    for (const row of a!.rows) expect(html).toContain(`<title>${esc(row.label)}: ${lossOf(row).toFixed(3)}</title></circle>`);

    const again = await runCli('compare', '--rerun', join(dir, 'bart', 'results.json'), '--out', join(dir, 'bart-again'));
    expect(again.code, again.err).toBe(0);
    const r2 = JSON.parse(readFileSync(join(dir, 'bart-again', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings).toEqual(r.settings);
    const numbers = (x: CompareResult) => x.ablations.map((b) => b.rows.map((row) => [row.label, row.validation, row.validationSe, row.test, row.testSe, row.trainable, row.extra, row.extraSe]));
    expect(numbers(r2)).toEqual(numbers(r));
  }, 300_000);

  it('compare --help names the ablation, its task and what it reports', async () => {
    const help = await runCli('compare', '--help');
    expect(help.out).toContain('|multitask|position|');
    expect(help.out).toMatch(/position +\(--task subject: GPT-2; --task subject-seq2seq: BART\) Prefix-Tuning §7\.2: prefix \[PREFIX; x; y\] vs\s+infix \[x; INFIX; y\]/);
    expect(help.out).toMatch(/on BART the prefix is the three sets of prefix-placement and the infix P\s+decoder slots between decoder_start and the subject/);
    expect(help.out).toMatch(/ROUGE-L\/1\/2 and the teacher-forced loss/);
  });

  it('refuses bad input in one line', async () => {
    const cases: [string[], RegExp][] = [
      [['--task', 'spam', '--methods', 'frozen', '--ablation', 'position'], /--ablation position is an ablation of --task subject \(GPT-2 generation\) or subject-seq2seq \(BART\), not of --task spam/],
      [['--task', 'subject-seq2seq', '--methods', 'frozen', '--ablation', 'position', '--virtual-tokens', '0'], /--ablation position: --virtual-tokens must be at least 1 \(got 0/],
      [['--task', 'subject', '--methods', 'frozen', '--ablation', 'position', '--virtual-tokens', '0'], /--ablation position: --virtual-tokens must be at least 1 \(got 0/],
      [['--task', 'subject', '--ablation', 'positions'], /unknown --ablation 'positions'/],
    ];
    for (const [flags, message] of cases) {
      const bad = await runCli('compare', '--backend', 'cpu', '--steps', '1', ...flags, '--out', join(dir, 'bad'));
      expect(bad.code, flags.join(' ')).toBe(1);
      expect(bad.err).toMatch(message);
      expect(bad.err.trim().split('\n').length, bad.err).toBe(1);
    }
  }, 120_000);
});
