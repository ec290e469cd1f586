/**
 * Joins the results.json files of several `webpeft compare` invocations that ran the same protocol on different
 * methods (e.g. `--methods full,frozen` and `--methods bitfit,prompt` side by side on a shared machine) into one
 * results.json + report.html, as if one invocation had run them all. That is exact, not an approximation: a run's
 * numbers depend only on its method, seed and learning rate (test/compare-workers.test.ts), never on what ran beside
 * it. Refuses files whose settings other than methods and learning rates differ, naming the file and the field.
 *
 *   node scripts/merge-results.mjs OUT_DIR a/results.json b/results.json … [--methods full,frozen,…]  (row order)
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReport } from '../src/report/report.js';
import type { CompareResult, CompareSettings } from '../src/report/results.js';

const SAME: (keyof CompareSettings)[] = ['task', 'model', 'modelSha256', 'backend', 'steps', 'evalEvery', 'patience', 'seeds', 'batchSize',
  'maxLength', 'virtualTokens', 'hidden', 'encoder', 'biasTypes', 'grid', 'evalLimit', 'quick'];

export function mergeResults(files: { path: string; result: CompareResult }[], order?: string[]): CompareResult {
  const [first, ...rest] = files;
  if (!first) throw new Error('merge-results: no results.json given');
  const s0 = first.result.settings;
  if (!s0) throw new Error(`${first.path}: no settings (written before results.json recorded them)`);
  for (const f of rest) {
    const s = f.result.settings;
    if (!s) throw new Error(`${f.path}: no settings`);
    for (const k of SAME) {
      if (JSON.stringify(s[k]) !== JSON.stringify(s0[k])) throw new Error(`${f.path}: settings.${k} is ${JSON.stringify(s[k])}, ${first.path} has ${JSON.stringify(s0[k])}`);
    }
  }
  let methods = files.flatMap((f) => f.result.methods);
  const names = methods.map((m) => m.method);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`merge-results: method '${twice}' is in more than one file`);
  if (order) {
    const missing = order.filter((m) => !names.includes(m));
    if (missing.length) throw new Error(`merge-results: --methods names ${missing.join(', ')}, which no file has`);
    methods = order.map((m) => methods.find((r) => r.method === m)!);
  }
  const all = files.map((f) => f.result);
  // an ablation's own setting comes from the file that ran it; two files that ran it must agree on it
  const ablationSetting = <K extends 'ensembleK' | 'dataSizes' | 'tasks' | 'pretrainSteps' | 'rowLr'>(k: K): CompareSettings[K] => {
    const having = files.filter((f) => f.result.settings![k] !== undefined);
    for (const f of having.slice(1)) {
      const [a, b] = [f.result.settings![k], having[0]!.result.settings![k]];
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${f.path}: settings.${k} is ${JSON.stringify(a)}, ${having[0]!.path} has ${JSON.stringify(b)}`);
    }
    return having[0]?.result.settings![k];
  };
  return {
    ...first.result,
    methods,
    bitfitDeltas: all.map((r) => r.bitfitDeltas).find((d) => d),
    ablations: all.flatMap((r) => r.ablations),
    totalSeconds: Math.max(...all.map((r) => r.totalSeconds)),
    date: all.map((r) => r.date).sort()[0]!,
    settings: {
      ...s0, methods: methods.map((m) => m.method), ablations: all.flatMap((r) => r.settings!.ablations),
      // each row's rate, then those recorded for methods only an ablation ran
      lr: { ...Object.fromEntries(methods.map((m) => [m.method, m.lr ?? NaN])), ...Object.fromEntries(all.flatMap((r) => Object.entries(r.settings!.lr))
        .filter(([k]) => !names.includes(k))) },
      ensembleK: ablationSetting('ensembleK'), dataSizes: ablationSetting('dataSizes'), tasks: ablationSetting('tasks'), pretrainSteps: ablationSetting('pretrainSteps'), rowLr: ablationSetting('rowLr'),
    },
    merged: all.map((r, i) => ({ file: files[i]!.path, methods: r.methods.map((m) => m.method), totalSeconds: r.totalSeconds, date: r.date })),
  } as CompareResult;
}

export async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--methods');
  const order = i >= 0 ? argv[i + 1]?.split(',') : undefined;
  const args = i >= 0 ? argv.filter((_, j) => j !== i && j !== i + 1) : argv;
  const [out, ...paths] = args;
  if (!out || paths.length < 2) throw new Error('usage: node scripts/merge-results.mjs OUT_DIR a/results.json b/results.json … [--methods a,b,…]');
  const files = paths.map((path) => {
    try {
      return { path, result: JSON.parse(readFileSync(path, 'utf8')) as CompareResult };
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  });
  const merged = mergeResults(files, order);
  mkdirSync(out, { recursive: true });
  for (const [name, text] of [['results.json', `${JSON.stringify(merged, null, 1)}\n`], ['report.html', renderReport(merged)]] as const) {
    const tmp = join(out, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(out, name));
  }
  console.log(`wrote ${join(out, 'results.json')} and report.html: ${merged.methods.map((m) => m.method).join(', ')}`);
}
