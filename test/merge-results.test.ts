/** tools/merge-results.ts: joining compare invocations of one protocol keeps every row and refuses mismatches. */
import { describe, expect, it } from 'vitest';
import { mergeResults } from '../tools/merge-results.js';
import type { CompareResult, CompareSettings, MethodResult } from '../src/report/results.js';

const settings = (methods: string[], extra: Partial<CompareSettings> = {}): CompareSettings => ({
  task: 'spam', model: 'bert-tiny', modelSha256: 'ab', methods, backend: 'cpu', steps: 300, evalEvery: 50, patience: 2, seeds: [42, 43],
  batchSize: 16, maxLength: 48, lr: Object.fromEntries(methods.map((m) => [m, 0.01])), grid: false, ablations: [], quick: false, ...extra,
});
const row = (method: string, validation: number): MethodResult => ({
  method, label: method, trainable: 1, percent: 1, validation, test: validation, extra: {}, lr: 0.01, trainSeconds: 1, peakMB: 1, losses: [1],
} as MethodResult);
const result = (methods: string[], extra: Partial<CompareSettings> = {}, seconds = 10): CompareResult => ({
  task: 'spam', metric: 'accuracy', model: 'bert-tiny', backend: 'cpu', device: 'cpu', steps: 300, seed: 42, baseParams: 10,
  methods: methods.map((m, i) => row(m, 0.5 + i / 10)), ablations: [], totalSeconds: seconds, date: `2026-12-03T0${seconds}`,
  settings: settings(methods, extra),
} as unknown as CompareResult);

describe('merge-results', () => {
  it('joins the rows in the asked order with the settings of one run', () => {
    const m = mergeResults([{ path: 'a', result: result(['full', 'frozen'], {}, 5) }, { path: 'b', result: result(['bitfit'], {}, 7) }], ['frozen', 'bitfit', 'full']);
    expect(m.methods.map((r) => [r.method, r.validation])).toEqual([['frozen', 0.6], ['bitfit', 0.5], ['full', 0.5]]);
    expect(m.settings!.methods).toEqual(['frozen', 'bitfit', 'full']);
    expect(Object.keys(m.settings!.lr)).toEqual(['frozen', 'bitfit', 'full']);
    expect(m.totalSeconds).toBe(7);
  });
  it("keeps an ablation's own settings and the rates of methods only it ran, from the file that ran it; refuses two that disagree", () => {
    const b = result(['prompt'], { ablations: ['ensemble', 'data-size'], ensembleK: 2, dataSizes: [64, 'all'], lr: { prompt: 0.03, bitfit: 0.02, full: 0.001 } });
    const m = mergeResults([{ path: 'a', result: result(['frozen']) }, { path: 'b', result: b }]);
    expect(m.settings).toMatchObject({ ablations: ['ensemble', 'data-size'], ensembleK: 2, dataSizes: [64, 'all'], lr: { frozen: 0.01, prompt: 0.01, bitfit: 0.02, full: 0.001 } });
    const c = result(['bitfit'], { ablations: ['ensemble'], ensembleK: 3 });
    expect(() => mergeResults([{ path: 'b', result: b }, { path: 'c', result: c }])).toThrow('c: settings.ensembleK is 3, b has 2');
  });
  it('keeps the gpt-vs-bert rows and their per-row learning rates from the file that ran it; refuses two that disagree', () => {
    const rowLr = { 'gpt2-tiny, P-tuning + LM head': 0.03, 'bert-tiny, P-tuning + MLM head': 0.01 };
    const b = { ...result(['frozen'], { ablations: ['gpt-vs-bert'], rowLr }),
      ablations: [{ kind: 'gpt-vs-bert', title: 't', rows: [{ label: 'gpt2-tiny, P-tuning + LM head', method: 'ptuning', x: 1, validation: 0.7, lr: 0.03 }] }] } as CompareResult;
    const m = mergeResults([{ path: 'a', result: result(['full']) }, { path: 'b', result: b }]);
    expect(m.settings).toMatchObject({ ablations: ['gpt-vs-bert'], rowLr });
    expect(m.ablations.map((x) => [x.kind, x.rows.map((r) => [r.label, r.validation, r.lr])])).toEqual([['gpt-vs-bert', [['gpt2-tiny, P-tuning + LM head', 0.7, 0.03]]]]);
    const c = result(['bitfit'], { ablations: ['gpt-vs-bert'], rowLr: { ...rowLr, 'bert-tiny, P-tuning + MLM head': 0.1 } });
    expect(() => mergeResults([{ path: 'b', result: b }, { path: 'c', result: c }])).toThrow(/^c: settings\.rowLr is .*0\.1.*, b has /);
  });
  it('refuses different protocols, a method twice, and unknown names, naming the file and field', () => {
    expect(() => mergeResults([{ path: 'a', result: result(['full']) }, { path: 'b/results.json', result: result(['bitfit'], { steps: 100 }) }]))
      .toThrow('b/results.json: settings.steps is 100, a has 300');
    expect(() => mergeResults([{ path: 'a', result: result(['full']) }, { path: 'b', result: result(['full']) }])).toThrow(/'full' is in more than one file/);
    expect(() => mergeResults([{ path: 'a', result: result(['full']) }, { path: 'b', result: result(['bitfit']) }], ['prompt'])).toThrow(/names prompt/);
  });
});
