/**
 * `webpeft compare --task subject-seq2seq` end to end through the CLI on the embedded bart-tiny (tiny budgets):
 * the rows, their trainable counts, the frozen row equal to evaluating bart-tiny directly, the prefix-placement
 * ablation's rows, results.json and report.html; bad method/ablation choices are one-line errors.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { loadSubject } from '../src/data/load.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { BartPeftModel } from '../src/peft/seq2seq.js';
import type { CompareResult } from '../src/report/results.js';
import { barChart } from '../src/report/svg.js';
import { loadBart } from '../src/train/model-dir.js';
import { buildSeq2seqTask } from '../src/train/seq2seq-task.js';
import { meanRouge } from '../src/train/rouge.js';

const SMALL = ['--task', 'subject-seq2seq', '--backend', 'cpu', '--methods', 'frozen,prefix,prompt', '--steps', '2', '--eval-every', '2',
  '--seed', '42', '--eval-limit', '4', '--batch-size', '4', '--max-length', '24', '--ablation', 'prefix-placement'];

// prefix tuning, P = 10, MLP hidden = d_model = 64, per stack: Embedding(10, 64) + Linear(64, 64) + Linear(64, 2·2·64)
const PREFIX_SET = 10 * 64 + (64 * 64 + 64) + (64 * 256 + 256);

describe('webpeft compare --task subject-seq2seq', () => {
  it('runs frozen, prefix, prompt and the prefix-placement ablation on bart-tiny and writes results.json and report.html', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-seq2seq-'));
    const run = await runCli('compare', ...SMALL, '--out', dir);
    expect(run.err).not.toMatch(/Error|webpeft compare:/);
    expect(run.code).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as CompareResult;
    expect([r.task, r.model, r.metric, r.baseParams]).toEqual(['subject-seq2seq', 'bart-tiny', 'ROUGE-L', 512512]);
    expect(r.evalSizes).toEqual({ validation: 4, test: 4 });
    expect(r.methods.map((m) => [m.method, m.trainable])).toEqual([['frozen', 0], ['prefix', 3 * PREFIX_SET], ['prompt', 10 * 64]]);
    const [frozen, prefix, prompt] = r.methods;
    expect(frozen!.losses).toEqual([]);
    expect(frozen!.stepsKept).toBe(0);
    expect(prefix!.losses).toHaveLength(2);
    expect(prefix!.losses.every(Number.isFinite)).toBe(true);
    for (const m of r.methods) {
      for (const v of [m.validation, m.test, m.extra['validation rouge1']!, m.extra['validation rouge2']!, m.extra['test rouge1']!]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(m.extra['validation targetLoss']).toBeGreaterThan(0);
      expect(m.extra['validation targetLoss']).toBeLessThan(Math.log(4096) + 2);
    }
    // nothing trains in the frozen row: it is bart-tiny evaluated as it is
    const { model, tokenizer } = await loadBart('bart-tiny', { backend: cpu, seed: 42 });
    const task = buildSeq2seqTask(tokenizer, model.config, { batchSize: 4, maxLength: 24, seed: 42, evalLimit: 4 }, loadSubject);
    const direct = await task.evaluate(new BartPeftModel(model, {}), 'validation');
    expect(frozen!.validation).toBe(direct.metric);
    expect(frozen!.extra['validation targetLoss']).toBeCloseTo(direct.extra.targetLoss!, 12);
    // early stopping breaks a ROUGE-L tie by the lower target loss
    expect(direct.tieBreak).toBe(-direct.extra.targetLoss!);
    expect(direct.metric).toBeCloseTo(meanRouge(direct.predictions, loadSubject('validation').slice(0, 4).map((e) => e.subject)).rougeL, 12);
    model.dispose();
    // the ablation: three placements, the main rows reused where they are the same run
    expect(r.ablations).toHaveLength(1);
    const a = r.ablations[0]!;
    expect(a.kind).toBe('prefix-placement');
    expect(a.rows.map((row) => [row.label, row.trainable])).toEqual([
      ['encoder + decoder (3 prefix sets)', 3 * PREFIX_SET], ['decoder only (HF PEFT)', PREFIX_SET], ['embedding only (prompt tuning)', 640]]);
    expect(a.rows[0]!.validation).toBe(prefix!.validation);
    expect(a.rows[2]!.validation).toBe(prompt!.validation);
    expect(r.settings).toMatchObject({ task: 'subject-seq2seq', model: 'bart-tiny', methods: ['frozen', 'prefix', 'prompt'], ablations: ['prefix-placement'] });
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Ablation: prefix placement (BART)');
    expect(html).toContain('decoder only (HF PEFT)');
    expect(run.out).toMatch(/bart-tiny \(512,512 parameters\), task subject-seq2seq/);
  }, 300_000);

  it('refuses methods and ablations that do not run on BART, in one line', async () => {
    const bad = await runCli('compare', '--task', 'subject-seq2seq', '--methods', 'bitfit', '--backend', 'cpu', '--steps', '1');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/method 'bitfit' is not available on BART here \(frozen, full, prefix, prompt, ptuning-v2, infix\)/);
    const wrong = await runCli('compare', '--task', 'spam', '--ablation', 'prefix-placement', '--backend', 'cpu', '--steps', '1');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/prefix-placement is an ablation of --task subject-seq2seq/);
  });
});

describe('bar charts with error bars', () => {
  it('draws a ± whisker where a bar has a finite error, and none where it has not', () => {
    const svg = barChart({ id: 'x', title: 't', xTitle: 'variant', yTitle: 'y', legend: [],
      bars: [{ label: 'a', color: '#000', value: 0.5, error: 0.1 }, { label: 'b', color: '#111', value: 0.25, error: NaN }] });
    expect(svg.match(/class="error-bar"/g)).toHaveLength(1);
    expect(svg).toContain('0.500 ± 0.100');
    expect(svg).toContain('>0.250<');
  });
});
