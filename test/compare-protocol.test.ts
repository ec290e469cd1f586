/**
 * The main job's protocol, end to end through the CLI on the embedded bert-tiny (tiny budgets): early stopping keeps
 * the best validation checkpoint, seeds fold into mean ± standard error, every setting lands in results.json and
 * `--rerun` repeats the run exactly; bad input is one line naming the file and field.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { parseSeeds, readRerun } from '../src/cli/compare.js';
import { meanSe } from '../src/train/stats.js';
import { earlyStopping } from '../src/train/compare-run.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--methods', 'frozen,bitfit', '--steps', '6', '--eval-every', '2', '--patience', '1', '--seeds', '7,8',
  '--eval-limit', '24', '--max-length', '16', '--batch-size', '4', '--lr', 'frozen=0.05,bitfit=0.02'];

describe('webpeft compare: the protocol', () => {
  it('keeps each seed\'s best validation checkpoint, reports mean ± SE, records every setting, and --rerun repeats it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-compare-'));
    const first = await runCli('compare', ...SMALL, '--out', dir);
    expect(first.err).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as CompareResult;
    expect(r.methods.map((m) => m.method)).toEqual(['frozen', 'bitfit']);
    for (const m of r.methods) {
      expect(m.runs!.map((x) => x.seed)).toEqual([7, 8]);
      for (const run of m.runs!) {
        // scored at steps 2, 4, 6 (or fewer after a stop); the kept checkpoint is the first best, and is what was reported
        expect(run.curve.map(([s]) => s)).toEqual([2, 4, 6].slice(0, run.curve.length));
        const best = Math.max(...run.curve.map(([, v]) => v));
        expect(run.validation).toBe(best);
        expect(run.stepsKept).toBe(run.curve.find(([, v]) => v === best)![0]);
        expect(run.stepsRun).toBe(run.curve[run.curve.length - 1]![0]);
        // patience 1: a run stops at the first score that does not beat the best
        const gains = run.curve.slice(1).map(([, v], i) => v > Math.max(...run.curve.slice(0, i + 1).map(([, w]) => w)));
        expect(gains.slice(0, -1).every(Boolean)).toBe(true);
      }
      const v = meanSe(m.runs!.map((x) => x.validation));
      expect(m.validation).toBeCloseTo(v.mean, 12);
      expect(m.validationSe).toBeCloseTo(v.se, 12);
      expect(m.testSe).toBeCloseTo(meanSe(m.runs!.map((x) => x.test)).se, 12);
    }
    expect(r.settings).toMatchObject({ task: 'spam', model: 'bert-tiny', methods: ['frozen', 'bitfit'], steps: 6, evalEvery: 2, patience: 1,
      seeds: [7, 8], batchSize: 4, maxLength: 16, evalLimit: 24, lr: { frozen: 0.05, bitfit: 0.02 }, grid: false, quick: false });
    expect(r.settings!.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.evalSizes).toEqual({ validation: 24, test: 24 });
    expect(first.out).toMatch(/frozen( \((tie|best|top)\))?\s+130\s/);

    const again = join(dir, 'again');
    const second = await runCli('compare', '--rerun', join(dir, 'results.json'), '--out', again);
    expect(second.code).toBe(0);
    const r2 = JSON.parse(readFileSync(join(again, 'results.json'), 'utf8')) as CompareResult;
    // the CPU backend is deterministic: the same settings give the same numbers, run by run
    expect(r2.methods.map((m) => m.runs!.map((x) => [x.validation, x.test, x.stepsKept, x.curve]))).toEqual(r.methods.map((m) => m.runs!.map((x) => [x.validation, x.test, x.stepsKept, x.curve])));
    expect(r2.settings).toEqual(r.settings);
  }, 600_000);

  it('refuses --rerun with flags it would override, and names a bad file and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-rerun-'));
    const bad = await runCli('compare', '--rerun', join(dir, 'nope.json'), '--steps', '5');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--rerun repeats the settings of .*nope\.json; drop --steps/);
    expect(() => readRerun(join(dir, 'nope.json'))).toThrow(/nope\.json: no such file/);
    writeFileSync(join(dir, 'a.json'), '{"settings": ');
    expect(() => readRerun(join(dir, 'a.json'))).toThrow(/a\.json: not JSON/);
    writeFileSync(join(dir, 'b.json'), '{"methods": []}');
    expect(() => readRerun(join(dir, 'b.json'))).toThrow(/b\.json: no "settings" object/);
    const ok = { task: 'spam', model: 'bert-tiny', methods: ['frozen'], steps: 4, evalEvery: 2, patience: 1, seeds: [1], batchSize: 4, maxLength: 16,
      lr: { frozen: 0.01 }, ablations: [], grid: false, quick: false };
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ settings: { ...ok, patience: 0 } }));
    expect(() => readRerun(join(dir, 'c.json'))).toThrow('--rerun ' + join(dir, 'c.json') + ': settings.patience must be an integer ≥ 1, got 0');
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ settings: { ...ok, methods: ['lora'] } }));
    expect(() => readRerun(join(dir, 'd.json'))).toThrow(/lora/);
    writeFileSync(join(dir, 'e.json'), JSON.stringify({ settings: ok }));
    expect(readRerun(join(dir, 'e.json')).seeds).toEqual([1]);
  });

  it('takes --seeds as a count or a list', () => {
    expect(parseSeeds(undefined, [42, 43, 44])).toEqual([42, 43, 44]);
    expect(parseSeeds('2', [42, 43, 44])).toEqual([42, 43]);
    expect(parseSeeds('5,1,9', [42])).toEqual([5, 1, 9]);
    expect(() => parseSeeds('0', [42])).toThrow(/at least 1 seed/);
    expect(() => parseSeeds('1,1', [42])).toThrow(/listed twice/);
    expect(() => parseSeeds('x', [42])).toThrow(/--seeds: expected a count or a list/);
  });
});

describe('early stopping: --min-steps', () => {
  // a plateau, then a climb (P-tuning v2 on spam's shape: 0.61 0.59 0.61 then 0.79)
  const curve = [0.61, 0.59, 0.61, 0.6, 0.79, 0.83, 0.8, 0.82, 0.81, 0.8];
  const run = async (minSteps: number | undefined) => {
    const o = { steps: 100, evalEvery: 10, patience: 2, minSteps };
    let i = 0;
    const s = earlyStopping([], o, async () => ({ metric: curve[i++]! }));
    let stopped = 0;
    for (let done = 1; done <= o.steps; done++) if (await s.after(done)) { stopped = done; break; }
    return { kept: s.restore()!.step, stopped, checks: s.curve.length };
  };
  it('never stops before minSteps, and stops by patience after it', async () => {
    // without it, patience 2 ends the run on the plateau at step 30 and keeps step 10
    expect(await run(undefined)).toEqual({ kept: 10, stopped: 30, checks: 3 });
    expect(await run(0)).toEqual({ kept: 10, stopped: 30, checks: 3 });
    // no stop before step 40: the check at 40 has waited 3 > 2 without a gain, so the run ends there, still on the plateau
    expect(await run(40)).toEqual({ kept: 10, stopped: 40, checks: 4 });
    // no stop before step 50: the climb at 50 is seen; the best (60) is followed by two checks without a gain
    expect(await run(50)).toEqual({ kept: 60, stopped: 80, checks: 8 });
    // minSteps beyond the budget: every step runs
    expect(await run(1000)).toEqual({ kept: 60, stopped: 0, checks: 10 });
  });

  it('defaults to a third of --steps, is recorded, and a results.json written before it reruns without one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-minsteps-'));
    const ok = { task: 'spam', model: 'bert-tiny', methods: ['frozen'], steps: 4, evalEvery: 2, patience: 1, seeds: [1], batchSize: 4, maxLength: 16,
      lr: { frozen: 0.01 }, ablations: [], grid: false, quick: false };
    writeFileSync(join(dir, 'old.json'), JSON.stringify({ settings: ok }));
    expect(readRerun(join(dir, 'old.json')).minSteps).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ settings: { ...ok, minSteps: -1 } }));
    expect(() => readRerun(join(dir, 'bad.json'))).toThrow('settings.minSteps must be an integer ≥ 0 or absent, got -1');
    const r = await runCli('compare', '--backend', 'cpu', '--methods', 'frozen', '--steps', '9', '--eval-every', '3', '--patience', '1', '--seeds', '7',
      '--eval-limit', '8', '--max-length', '16', '--batch-size', '4', '--out', dir);
    expect(r.code).toBe(0);
    expect(r.out + r.err).toContain('no stop before step 3');
    expect((JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as CompareResult).settings!.minSteps).toBe(3);
    const bad = await runCli('compare', '--min-steps', 'x', '--out', dir);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("--min-steps must be an integer ≥ 0, got 'x'");
  }, 300_000);
});
