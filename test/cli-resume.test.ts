/**
 * `webpeft train --resume` as a user runs it: a run stopped at step k and resumed equals the uninterrupted
 * run (losses and every saved tensor, bit for bit on the CPU); a resume that contradicts the saved settings,
 * a corrupt training state, an adapter for another base and a bad numeric flag are each one line naming
 * what is wrong, with exit code 1.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/io/safetensors.js';
import { defaultLr } from '../src/peft/registry.js';
import { runCli as run } from './helpers/cli.js';
import { tinyBertDir, tinyGpt2Dir } from './helpers/model-dirs.js';

const bertDir = await tinyBertDir();
const gptDir = await tinyGpt2Dir();
const work = mkdtempSync(join(tmpdir(), 'webpeft-cli-resume-'));
const common = ['--task', 'spam', '--model', bertDir, '--batch-size', '4', '--max-length', '24', '--eval-limit', '8'];
const fresh = ['--method', 'prompt', '--virtual-tokens', '3', '--steps', '8'];
const losses = (dir: string): number[] => JSON.parse(readFileSync(join(dir, 'losses.json'), 'utf8'));
const tensors = (dir: string) => parseSafetensors(readFileSync(join(dir, 'training_state.safetensors')), dir).tensors;
const oneLine = (r: { code: number; err: string }) => { expect(r.code).toBe(1); expect(r.err.split('\n')).toHaveLength(1); };

describe('train --stop-after k, then --resume, equals one uninterrupted run', () => {
  it('prompt tuning: the same 8 losses and the same saved tensors and moments, bit for bit', async () => {
    const whole = join(work, 'whole');
    const half = join(work, 'half');
    const rest = join(work, 'rest');
    expect((await run('train', ...common, ...fresh, '--out', whole)).code).toBe(0);
    expect((await run('train', ...common, ...fresh, '--stop-after', '5', '--out', half)).code).toBe(0);
    const r = await run('train', '--resume', half, '--model', bertDir, '--eval-limit', '8', '--out', rest);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/steps 5…7 of 8/);
    const a = losses(whole);
    const b = [...losses(half), ...losses(rest)];
    console.log(`resume: max |loss difference| ${Math.max(...a.map((x, i) => Math.abs(x - b[i])))}`);
    expect(b).toEqual(a);
    const [ta, tb] = [tensors(whole), tensors(rest)];
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    for (const [k, t] of ta) expect([...tb.get(k)!.data], k).toEqual([...t.data]);
    expect(JSON.parse(readFileSync(join(rest, 'training_state.json'), 'utf8'))).toMatchObject({ step: 8, optimizerStep: 8 });
  });

  it('refuses settings that contradict the saved run, naming each', async () => {
    const half = join(work, 'half');
    const r = await run('train', '--resume', half, '--model', bertDir, '--method', 'ptuning', '--virtual-tokens', '5', '--task', 'spam',
      '--lr', '0.5', '--out', join(work, 'x'));
    oneLine(r);
    // the first half ran at prompt tuning's default learning rate
    expect(r.err).toContain(`--method ptuning (saved: prompt), --lr 0.5 (saved: ${defaultLr('prompt')}), --virtual-tokens 5 (saved: 3) contradict the saved run`);
    const t = await run('train', '--resume', half, '--model', bertDir, '--task', 'tokens', '--out', join(work, 'x'));
    oneLine(t);
    expect(t.err).toMatch(/--task tokens \(saved: spam\)/);
  });

  it('a corrupt training_state.json is one line naming the file and field', async () => {
    const dir = join(work, 'corrupt');
    expect((await run('train', ...common, ...fresh, '--stop-after', '1', '--out', dir)).code).toBe(0);
    const file = join(dir, 'training_state.json');
    const json = JSON.parse(readFileSync(file, 'utf8'));
    for (const [patch, message] of [
      [{ optimizerStep: 'x' }, /training_state.json: optimizerStep: must be an integer ≥ 0, found 'x'/],
      [{ schedule: { ...json.schedule, lr: -1 } }, /training_state.json: schedule.lr: must be a number > 0, found -1/],
      [null, /training_state.json: \(root\): must be an object, found null/],
    ] as const) {
      writeFileSync(file, JSON.stringify(patch === null ? null : { ...json, ...patch }));
      const r = await run('eval', '--task', 'spam', '--adapter', dir, '--model', bertDir, '--eval-limit', '4');
      oneLine(r);
      expect(r.err).toMatch(message);
    }
  });
});

describe('a training state from before exact resume (version 1)', () => {
  it('eval falls back to the HF PEFT files with a note; --resume refuses it, naming the field', async () => {
    const dir = join(work, 'v1');
    expect((await run('train', ...common, ...fresh, '--stop-after', '1', '--out', dir)).code).toBe(0);
    const file = join(dir, 'training_state.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version: 1 }));
    const e = await run('eval', '--task', 'spam', '--adapter', dir, '--model', bertDir, '--max-length', '24', '--eval-limit', '4');
    expect(e.code, e.err).toBe(0);
    expect(e.err).toMatch(/note: .*training_state.json: version: 1 is not 2 .*; loading the HF PEFT files instead/);
    const r = await run('train', '--resume', dir, '--model', bertDir, '--out', join(work, 'x'));
    oneLine(r);
    expect(r.err).toMatch(/training_state.json: version: 1 is not 2/);
  });
});

describe('an adapter refuses the wrong base', () => {
  it('a BERT adapter on GPT-2 names both models', async () => {
    const r = await run('generate', '--prompt', 'Hello', '--adapter', join(work, 'whole'), '--model', gptDir);
    oneLine(r);
    expect(r.err).toMatch(/the adapter was trained on bert \(2 layers, width 16, 2 heads, vocab \d+\), this model is gpt2 \(.*\) \(family.*differ\)/);
  });

  it('the same architecture with other weights is refused by the fingerprint', async () => {
    const other = await tinyBertDir(7);
    const r = await run('eval', '--task', 'spam', '--adapter', join(work, 'whole'), '--model', other, '--eval-limit', '4');
    oneLine(r);
    expect(r.err).toMatch(/trained on base weights [0-9a-f]{16}, this model's are [0-9a-f]{16}/);
  });
});

describe('an adapter is evaluated on what it was trained for', () => {
  it('eval refuses another --task than the saved one', async () => {
    const r = await run('eval', '--task', 'tokens', '--adapter', join(work, 'whole'), '--model', bertDir, '--eval-limit', '4');
    oneLine(r);
    expect(r.err).toMatch(/--task tokens is not the task the adapter in .* was trained for \(spam\)/);
  });

  it('an HF adapter naming another base_model_name_or_path loads (the shapes fit) with a note naming both', async () => {
    const hfOnly = join(work, 'hf-only');
    mkdirSync(hfOnly);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) copyFileSync(join(work, 'whole', f), join(hfOnly, f));
    const other = await tinyBertDir(7);
    const r = await run('eval', '--task', 'spam', '--adapter', hfOnly, '--model', other, '--max-length', '24', '--eval-limit', '4');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/note: .*adapter_config.json: base_model_name_or_path '.*webpeft-bert-\w+' is not '.*webpeft-bert-\w+' \(the shapes fit/);
  });
});

describe('numeric flags are checked for type and range', () => {
  for (const [argv, message] of [
    [['train', ...common, '--method', 'prompt', '--steps', '2.5'], /--steps must be an integer ≥ 1, got '2.5'/],
    [['train', ...common, '--method', 'prompt', '--lr', '0'], /--lr must be a number > 0, got '0'/],
    [['train', ...common, '--method', 'prompt', '--batch-size', '2.5'], /--batch-size must be an integer ≥ 1, got '2.5'/],
    [['train', ...common, '--method', 'prompt', '--virtual-tokens=-1'], /--virtual-tokens must be an integer ≥ 0, got '-1'/],
    [['generate', '--model', gptDir, '--prompt', 'Hi', '--top-p', '2'], /--top-p must be a number > 0 and ≤ 1, got '2'/],
    [['generate', '--model', gptDir, '--prompt', 'Hi', '--temperature', '0'], /--temperature must be a number > 0, got '0'/],
    [['generate', '--model', gptDir, '--prompt', 'Hi', '--max-new-tokens', 'x'], /--max-new-tokens must be an integer ≥ 1, got 'x'/],
    [['eval', '--task', 'spam', '--model', bertDir, '--eval-limit', '1e400'], /--eval-limit must be an integer ≥ 1/],
  ] as const) {
    it(`${argv[0]} ${argv.slice(-2).join(' ')} is refused`, async () => {
      const r = await run(...(argv as readonly string[] as string[]), ...(argv[0] === 'train' ? ['--out', join(work, 'never')] : []));
      oneLine(r);
      expect(r.err).toMatch(message);
    });
  }
});

describe('non-finite training and the position limit, from the command line', () => {
  it('a run that diverges stops at the step, and --detect-anomaly names the op', async () => {
    const argv = ['train', ...common, '--method', 'full', '--lr', '1e30', '--steps', '6', '--out', join(work, 'diverged')];
    const plain = await run(...argv);
    oneLine(plain);
    expect(plain.err).toMatch(/step 1: the loss is NaN; training stopped .* run with --detect-anomaly/);
    const anomaly = await run(...argv, '--detect-anomaly');
    oneLine(anomaly);
    expect(anomaly.err).toMatch(/step 1: forward of \w+ \(inputs .*\) produced (NaN|-?Infinity) at element \d+ .* the first non-finite value/);
  });

  it('generate keeps and prints what it made before reaching n_positions, and says so', async () => {
    const prompt = 'a '.repeat(90);
    const r = await run('generate', '--model', gptDir, '--prompt', prompt, '--max-new-tokens', '30');
    oneLine(r);
    expect(r.out.startsWith(prompt.trimEnd())).toBe(true);
    expect(r.out.length).toBeGreaterThan(prompt.length);
    expect(r.err).toMatch(/stopped after \d+ of 30 new tokens: gpt2: positions: .* past n_positions 96/);
  });
});
