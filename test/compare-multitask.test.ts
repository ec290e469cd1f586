/**
 * P-tuning v2's multi-task prompt pretraining (`webpeft compare --ablation multitask`), piece by piece on bert-tiny:
 * the task order is a seeded sequence of permutations; one prompt tensor is shared by every task's model while each
 * task's head gets gradients (and AdamW updates) only from its own batches, and nothing is evaluated; the target run
 * starts exactly from the pretrained prompt's values, with a fresh head; --tasks is checked in one line; the report
 * plots the rows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backward } from '../src/autograd/tape.js';
import { tidy, keep, type Tensor } from '../src/autograd/tensor.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PROMPT_KEY } from '../src/peft/prompt-tuning.js';
import { buildMethod } from '../src/peft/registry.js';
import { renderReport } from '../src/report/report.js';
import type { AblationResult, CompareResult } from '../src/report/results.js';
import { methodValues, multitaskSetup, pretrainShared, resolvePretrainTasks, runPretrained, taskSchedule } from '../src/train/compare-multitask.js';
import type { RunOptions } from '../src/train/compare-run.js';
import { loadBert } from '../src/train/model-dir.js';
import { readRerun } from '../src/cli/compare.js';
import { mergeResults } from '../tools/merge-results.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const values = async (t: Tensor) => Float64Array.from(await t.data());
const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

describe('the pretraining task order', () => {
  it('is cycles of seeded permutations: every whole cycle visits each task once; a function of the seed', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, steps, seed) => {
      const s = taskSchedule(n, steps, seed);
      expect(s.length).toBe(steps);
      for (let c = 0; (c + 1) * n <= steps; c++) expect([...s.slice(c * n, (c + 1) * n)].sort()).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(s.every((t) => t >= 0 && t < n)).toBe(true);
      expect(taskSchedule(n, steps, seed)).toEqual(s);
      // a shorter run is the longer run's beginning
      expect(taskSchedule(n, Math.floor(steps / 2), seed)).toEqual(s.slice(0, Math.floor(steps / 2)));
    }), { numRuns: 100 });
    // two tasks over 40 steps: 20 coin flips, so two seeds give the same order with probability 2^-20
    expect(taskSchedule(2, 40, 1)).not.toEqual(taskSchedule(2, 40, 2));
    expect(() => taskSchedule(0, 4, 1)).toThrow(/at least one task/);
  });
});

describe('--tasks', () => {
  it('defaults to every BERT task and keeps the order given', () => {
    expect(resolvePretrainTasks(undefined, 'spam')).toEqual(['spam', 'tokens']);
    expect(resolvePretrainTasks(['tokens', 'spam'], 'tokens')).toEqual(['tokens', 'spam']);
    expect(resolvePretrainTasks(['tokens'], 'spam')).toEqual(['tokens']);
  });

  it('refuses unknown, repeated and other-model tasks, and non-BERT targets, in one line', () => {
    const cases: [string[] | undefined, string, RegExp][] = [
      [['spam', 'nope'], 'spam', /^--tasks: unknown task 'nope' \(the BERT tasks: spam, tokens\)$/],
      [['spam', 'subject'], 'spam', /^--tasks: 'subject' runs on GPT-2, the target spam on BERT; one shared prompt needs one base model \(spam, tokens\)$/],
      [['subject-seq2seq'], 'tokens', /^--tasks: 'subject-seq2seq' runs on BART, the target tokens on BERT/],
      [['spam', 'spam'], 'spam', /^--tasks: 'spam' is listed twice in spam,spam$/],
      [[], 'spam', /^--tasks: expected at least one task$/],
      [undefined, 'subject', /^--ablation multitask: P-tuning v2 multi-task pretraining runs on the BERT tasks \(spam, tokens\), not --task subject \(GPT-2\)$/],
      [undefined, 'subject-seq2seq', /not --task subject-seq2seq \(BART\)$/],
    ];
    for (const [tasks, target, message] of cases) expect(() => resolvePretrainTasks(tasks, target), String(tasks)).toThrow(message);
  });
});

describe('multi-task pretraining on bert-tiny', () => {
  const o = { backend: cpu, batchSize: 2, maxLength: 12 };
  const settings = { virtualTokens: 2, seed: 3 };

  it('one prompt tensor serves every task; a task batch sends gradients to the prompt and its own head only', async () => {
    const { tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 1 });
    const setup = await multitaskSetup(['spam', 'tokens'], 'ptuning-v2', settings, 5, o, tokenizer);
    try {
      const [spam, tokens] = setup.members;
      const prompt = setup.method.params.tensor(PROMPT_KEY);
      expect(spam!.peft.adapters[0]![0]).toBe(setup.method);
      expect(tokens!.peft.adapters[0]![0]).toBe(setup.method);
      // each member's own head, distinct tensors with the heads' shapes (2 classes; the token labels)
      expect(spam!.head.map((t) => t.shape)).toEqual([[2, 64], [2]]);
      expect(tokens!.head.map((t) => t.shape[0])).toEqual([tokens!.data.numLabels, tokens!.data.numLabels]);
      expect(setup.trainable).toEqual([prompt, ...spam!.head, ...tokens!.head]);
      // the models' bodies are frozen
      for (const m of setup.members) expect([...m.peft.base.params].filter(([, t]) => t.requiresGrad).length).toBe(2);

      const gradsAfter = async (m: typeof spam) => {
        const loss = tidy(() => {
          const l = m!.data.loss(m!.peft, m!.data.batch(0), 0);
          backward(l);
          return keep(l.detach());
        });
        loss.dispose();
        const out = { prompt: prompt.grad ? await values(prompt.grad) : null, heads: await Promise.all(setup.members.map((x) => Promise.all(x.head.map((t) => (t.grad ? values(t.grad) : null))))) };
        for (const t of setup.trainable) { t.grad?.dispose(); t.grad = null; }
        return out;
      };
      const fromSpam = await gradsAfter(spam);
      const fromTokens = await gradsAfter(tokens);
      const nonzero = (g: Float64Array | null) => g !== null && g.some((x) => x !== 0);
      expect(nonzero(fromSpam.prompt)).toBe(true);
      expect(nonzero(fromTokens.prompt)).toBe(true);
      expect(same(fromSpam.prompt!, fromTokens.prompt!)).toBe(false);
      expect(fromSpam.heads[0]!.every(nonzero)).toBe(true);
      expect(fromSpam.heads[1]).toEqual([null, null]);
      expect(fromTokens.heads[0]).toEqual([null, null]);
      expect(fromTokens.heads[1]!.every(nonzero)).toBe(true);
    } finally {
      setup.dispose();
    }
  }, 60_000);

  it('training moves the prompt every step and only the scheduled task\u2019s head; no split but training is read', async () => {
    const { tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 1 });
    const setup = await multitaskSetup(['spam', 'tokens'], 'ptuning-v2', settings, 5, o, tokenizer);
    try {
      for (const m of setup.members) m.data.evaluate = () => { throw new Error(`pretraining evaluated ${m.task}`); };
      const snapshot = async () => ({ prompt: await values(setup.method.params.tensor(PROMPT_KEY)), heads: await Promise.all(setup.members.map((m) => Promise.all(m.head.map(values)))) });
      let before = await snapshot();
      const trained: string[] = [];
      const checks: boolean[] = [];
      const r = await pretrainShared(setup, {
        steps: 6, lr: 0.05, seed: 11,
        onStep: async (_log, task) => {
          const now = await snapshot();
          trained.push(task);
          checks.push(!same(now.prompt, before.prompt));
          setup.members.forEach((m, i) => {
            const moved = now.heads[i]!.map((h, k) => !same(h, before.heads[i]![k]!));
            // the scheduled task's head moves (weight and bias), the other's is bit for bit what it was
            checks.push(m.task === task ? moved.every(Boolean) : !moved.some(Boolean));
          });
          before = now;
        },
      });
      expect(trained).toEqual([...r.schedule].map((i) => setup.members[i]!.task));
      expect(new Set(trained)).toEqual(new Set(['spam', 'tokens']));
      expect(checks.every(Boolean), JSON.stringify(checks)).toBe(true);
      expect(r.losses.length).toBe(6);
    } finally {
      setup.dispose();
    }
  }, 120_000);

  it('the target run starts exactly from the pretrained prompt, with a fresh head', async () => {
    const seed = 5;
    const { tokenizer, model: fresh } = await loadBert('bert-tiny', { backend: cpu, seed, head: 'sequence-classification', numLabels: 2 });
    const freshHead = await Promise.all(['classifier.weight', 'classifier.bias'].map((k) => values(fresh.params.tensor(k))));
    const scratchPrompt = await values((await buildMethod('ptuning-v2', baseOf(fresh), { ...settings })).params.tensor(PROMPT_KEY));
    fresh.dispose();
    const run: RunOptions = { task: 'spam', backend: cpu, steps: 2, evalEvery: 1, patience: 1, batchSize: 2, maxLength: 12, evalLimit: 4 };
    // stage 1 alone (deterministic), for what the target run must start from and what its spam head became
    const setup = await multitaskSetup(['spam', 'tokens'], 'ptuning-v2', settings, seed, run, tokenizer);
    await pretrainShared(setup, { steps: 4, lr: 0.05, seed });
    const expected = await methodValues(setup.method);
    const trainedHead = await Promise.all(setup.members[0]!.head.map(values));
    setup.dispose();

    let start: { prompt: Float64Array; head: Float64Array[] } | null = null;
    const r = await runPretrained({ label: 'pretrained', method: 'ptuning-v2', settings: { virtualTokens: 2 }, evalTest: true, methodSeed: 3, pretrain: { tasks: ['spam', 'tokens'], steps: 4 } },
      seed, 0.05, run, tokenizer, {
        ready: async (peft) => {
          start = { prompt: await values(peft.adapters[0]![0]!.params.tensor(PROMPT_KEY)), head: await Promise.all(['classifier.weight', 'classifier.bias'].map((k) => values(peft.base.params.tensor(k)))) };
        },
      });
    expect(start).not.toBeNull();
    const got = start!;
    expect(same(got.prompt, expected.get(PROMPT_KEY)!)).toBe(true);
    expect(same(got.prompt, scratchPrompt)).toBe(false); // pretraining moved it from the scratch run's initial prompt
    got.head.forEach((h, k) => {
      expect(same(h, freshHead[k]!)).toBe(true); // the scratch run's initial head
      expect(same(h, trainedHead[k]!)).toBe(false); // not stage 1's spam head
    });
    expect(Number.isFinite(r.run.validation) && Number.isFinite(r.run.test)).toBe(true);
    expect(r.run.stepsRun).toBe(2);
  }, 120_000);

  it('refuses to share a method that trains base weights', async () => {
    const { tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 1 });
    await expect(multitaskSetup(['spam', 'tokens'], 'bitfit', { seed: 1 }, 1, o, tokenizer)).rejects.toThrow(/shares the method's own tensors across tasks; bitfit trains the base weight /);
  }, 60_000);
});

describe('the report draws the multitask ablation', () => {
  it('a bar with its whisker per row, the caption naming the tasks and steps, and the protocol columns', () => {
    const a: AblationResult = {
      kind: 'multitask', title: 'P-tuning v2 on spam: a prompt pretrained on spam+tokens vs from scratch', tasks: ['spam', 'tokens'], pretrainSteps: 120, rows: [
        { label: 'P-tuning v2 from scratch', method: 'ptuning-v2', x: 0, validation: 0.71, validationSe: 0.02, test: 0.7, testSe: 0.01, trainable: 5250, trainSeconds: 40, peakMB: 50, lr: 0.1, stepsKept: 75 },
        { label: 'prompt pretrained on spam+tokens', method: 'ptuning-v2', x: 1, validation: 0.77, validationSe: 0.015, test: 0.76, testSe: 0.02, trainable: 5250, trainSeconds: 90, peakMB: 60, lr: 0.1, stepsKept: 100 },
      ],
    };
    const r: CompareResult = {
      task: 'spam', taskDescription: 'spam vs ham', metric: 'accuracy', model: 'bert-tiny', backend: 'cpu', device: 'cpu', steps: 100, seed: 1, baseParams: 474_818,
      methods: [], ablations: [a], totalSeconds: 1, date: '2026-12-03T00:00:00Z',
    };
    const html = renderReport(r);
    expect(html).toContain('Ablation: multi-task prompt pretraining (P-tuning v2)');
    for (const row of a.rows) expect(html).toContain(`<title>${row.label}: ${row.validation.toFixed(3)}</title>`);
    expect(html).toContain('0.710 ± 0.020');
    expect(html).toContain('0.770 ± 0.015');
    expect((html.match(/class="error-bar"/g) ?? []).length).toBe(2);
    expect(html).toContain('shared by spam, tokens');
    expect(html).toContain('for 120 steps');
    expect(html).toContain('<td>5,250</td><td>0.1</td><td>75</td>');
  });
});

describe('the multitask settings in results.json', () => {
  const settings = { task: 'spam', model: 'bert-tiny', modelSha256: 'ab', methods: ['frozen'], backend: 'cpu', steps: 4, evalEvery: 2, patience: 1, seeds: [1],
    batchSize: 4, maxLength: 16, lr: { frozen: 0.01 }, ablations: [] as string[], grid: false, quick: false };
  const result = (methods: string[], extra: object) => ({ task: 'spam', metric: 'accuracy', model: 'bert-tiny', backend: 'cpu', device: 'cpu', steps: 4, seed: 1,
    baseParams: 10, ablations: [], totalSeconds: 1, date: '2026-12-03', methods: methods.map((method) => ({ method, label: method, trainable: 1, percent: 1, validation: 0.5,
      test: 0.5, extra: {}, lr: 0.01, trainSeconds: 1, peakMB: 1, losses: [1] })), settings: { ...settings, methods, ...extra } }) as unknown as CompareResult;

  it('merge-results keeps --tasks and --pretrain-steps from the file that ran the ablation; two that disagree are refused', () => {
    const b = result(['ptuning-v2'], { ablations: ['multitask'], tasks: ['spam', 'tokens'], pretrainSteps: 50 });
    const m = mergeResults([{ path: 'a', result: result(['frozen'], {}) }, { path: 'b', result: b }]);
    expect(m.settings).toMatchObject({ ablations: ['multitask'], tasks: ['spam', 'tokens'], pretrainSteps: 50 });
    const c = result(['bitfit'], { ablations: ['multitask'], tasks: ['spam', 'tokens'], pretrainSteps: 60 });
    expect(() => mergeResults([{ path: 'b', result: b }, { path: 'c', result: c }])).toThrow('c: settings.pretrainSteps is 60, b has 50');
  });

  it('--rerun reads them back and names a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-multitask-rerun-'));
    const write = (name: string, extra: object) => { writeFileSync(join(dir, name), JSON.stringify({ settings: { ...settings, ablations: ['multitask'], ...extra } })); return join(dir, name); };
    expect(readRerun(write('ok.json', { tasks: ['tokens', 'spam'], pretrainSteps: 7 }))).toMatchObject({ tasks: ['tokens', 'spam'], pretrainSteps: 7 });
    expect(() => readRerun(write('a.json', { tasks: ['spam', 'subject'] }))).toThrow(/a\.json: settings\.tasks: --tasks: 'subject' runs on GPT-2/);
    expect(() => readRerun(write('b.json', { pretrainSteps: 0 }))).toThrow(/b\.json: settings\.pretrainSteps must be an integer ≥ 1 or absent, got 0/);
    expect(() => readRerun(write('c.json', { tasks: 'spam' }))).toThrow(/c\.json: settings\.tasks must be a list of task names or absent/);
  });
});
