/**
 * `webpeft compare --template` (spam): P-tuning's virtual tokens where a template puts them — "{p:3} {x}" after [CLS],
 * which the head reads — instead of in front of everything (HF PEFT's placement). The ptuning row uses it and says so,
 * the other rows do not, results.json records it and --rerun repeats it; the batches keep [CLS] first, the slots
 * next and the mail's max-length − 2 tokens; a template compare cannot use is one line naming the flag.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { cpu } from '../src/kernels/cpu/index.js';
import type { CompareResult } from '../src/report/results.js';

const SMALL = ['--backend', 'cpu', '--workers', '1', '--steps', '4', '--eval-every', '2', '--patience', '1', '--seeds', '7',
  '--eval-limit', '16', '--max-length', '16', '--batch-size', '4'];

describe('webpeft compare --template', () => {
  it('puts P-tuning\'s tokens at the template\'s slots, records the template, and --rerun repeats the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-template-'));
    const first = await runCli('compare', ...SMALL, '--methods', 'frozen,ptuning', '--template', '{p:3} {x}', '--out', dir);
    expect(first.err).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as CompareResult;
    expect(r.settings!.template).toBe('{p:3} {x}');
    expect(r.methods.map((m) => m.label)).toEqual(['frozen', 'ptuning (LSTM) in "{p:3} {x}"']);
    // 3 virtual tokens of the model width (64) in the LSTM encoder's embedding: the template set the prompt length
    const prompt = r.methods[1]!;
    const again = await runCli('compare', '--rerun', join(dir, 'results.json'), '--workers', '1', '--out', join(dir, 'again'));
    expect(again.code).toBe(0);
    const r2 = JSON.parse(readFileSync(join(dir, 'again', 'results.json'), 'utf8')) as CompareResult;
    expect(r2.settings!.template).toBe('{p:3} {x}');
    expect(r2.methods.map((m) => [m.label, m.validation, m.test, m.trainable])).toEqual(r.methods.map((m) => [m.label, m.validation, m.test, m.trainable]));
    // without the template the same run prepends 10 tokens: another prompt length, so another encoder size
    const plain = await runCli('compare', ...SMALL, '--methods', 'ptuning', '--out', join(dir, 'plain'));
    expect(plain.code).toBe(0);
    const r3 = JSON.parse(readFileSync(join(dir, 'plain', 'results.json'), 'utf8')) as CompareResult;
    expect(r3.settings!.template).toBeUndefined();
    expect(r3.methods[0]!.trainable - prompt.trainable).toBe((10 - 3) * 64);
  });

  it('keeps [CLS] first, the slots after it, and the mail at max length − 2 tokens', async () => {
    const { model, tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 1, head: 'sequence-classification', numLabels: 2 });
    model.dispose();
    // what a --template run builds: the template's 3 slots on top of --max-length 16
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16 + 3, seed: 1, template: '{p:3} {x}' });
    const b = task.batch(0) as ReturnType<typeof task.batch> & { layout?: { kind: string; slots: Int32Array } };
    const [B, T] = b.shape;
    expect(T).toBe(19);
    const cls = tokenizer.specialTokenId('cls');
    for (let row = 0; row < B; row++) {
      expect(b.ids[row * T]).toBe(cls);
      expect(Array.from(b.layout!.slots.subarray(row * T, row * T + 5))).toEqual([-1, 0, 1, 2, -1]);
    }
    // a mail longer than the row keeps 14 tokens between the slots and [SEP]: [CLS] + 3 + 14 + [SEP] = 19
    const lengths = Array.from({ length: B }, (_, row) => Array.from(b.attentionMask.subarray(row * T, (row + 1) * T)).filter((x) => x === 1).length);
    expect(Math.max(...lengths)).toBe(19);
    for (let row = 0; row < B; row++) expect(b.ids[row * T + lengths[row]! - 1]).toBe(tokenizer.specialTokenId('sep'));
  });

  it('refuses a template it cannot use, in one line naming --template', async () => {
    const cases: [string[], RegExp][] = [
      [['--methods', 'frozen', '--template', '{p:3} {x}'], /--template is P-tuning's; --methods \(frozen\) has no ptuning/],
      [['--methods', 'ptuning', '--template', '{p:3} {x}', '--virtual-tokens', '5'], /--template "\{p:3\} \{x\}" has 3 virtual slots, --virtual-tokens says 5/],
      [['--methods', 'ptuning', '--template', '{p:3}'], /--template: template "\{p:3\}" must contain \{x\} exactly once/],
      [['--methods', 'ptuning', '--template', '{x} is mail'], /--template "\{x\} is mail" has no virtual slots/],
      [['--task', 'tokens', '--methods', 'ptuning', '--template', '{p:3} {x}'], /--template: P-tuning templates are for --task spam \(the mail is \{x\}\), not tokens/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli('compare', ...SMALL, ...args, '--out', mkdtempSync(join(tmpdir(), 'webpeft-template-bad-')));
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  });
});
