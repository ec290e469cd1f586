/**
 * The commands end to end, as a user runs them, on tiny random models written as HF folders:
 * train → save (HF PEFT + resumable state) → resume → eval; generate under an adapter; dump; tokenize; inspect.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { runCli } from './helpers/cli.js';
import { parseSafetensors } from '../src/io/safetensors.js';
import { tinyBertDir, tinyGpt2Dir } from './helpers/model-dirs.js';

const run = runCli;

const bertDir = await tinyBertDir();
const gptDir = await tinyGpt2Dir();
const work = mkdtempSync(join(tmpdir(), 'webpeft-cli-'));

describe('train, resume, eval', () => {
  it('trains P-tuning on spam, saves both adapter formats, resumes with optimizer state, and evaluates', async () => {
    const out = join(work, 'ptuning');
    const r = await run('train', '--task', 'spam', '--method', 'ptuning', '--model', bertDir, '--steps', '8', '--stop-after', '6', '--batch-size', '4',
      '--max-length', '24', '--virtual-tokens', '3', '--hidden', '8', '--eval-limit', '16', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/validation accuracy \d\.\d{4}/);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_state.json', 'training_state.safetensors', 'losses.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'P_TUNING', num_virtual_tokens: 3, token_dim: 16, task_type: 'SEQ_CLS', modules_to_save: ['classifier', 'score'] });
    const hf = parseSafetensors(readFileSync(join(out, 'adapter_model.safetensors')), 'adapter_model.safetensors');
    expect(hf.tensors.get('prompt_embeddings')!.shape).toEqual([3, 16]);
    // the resumable state keeps the LSTM encoder and AdamW's moments
    const state = parseSafetensors(readFileSync(join(out, 'training_state.safetensors')), 'training_state.safetensors');
    expect([...state.tensors.keys()]).toContain('method.lstm_head.weight_ih_l0');
    expect([...state.tensors.keys()]).toContain('adam_m.method.lstm_head.weight_ih_l0');

    const resumed = await run('train', '--task', 'spam', '--resume', out, '--model', bertDir, '--batch-size', '4',
      '--max-length', '24', '--eval-limit', '16', '--out', join(work, 'ptuning-2'));
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/steps 6…7 of 8/);
    expect(JSON.parse(readFileSync(join(work, 'ptuning-2', 'training_state.json'), 'utf8')).optimizerStep).toBe(8);

    for (const adapter of [out, join(work, 'ptuning-2')]) {
      const e = await run('eval', '--task', 'spam', '--adapter', adapter, '--model', bertDir, '--max-length', '24', '--eval-limit', '16');
      expect(e.code, e.err).toBe(0);
      expect(e.out).toMatch(/validation: accuracy \d\.\d{4}, macroF1/);
      expect(e.out).toMatch(/test: accuracy/);
    }
  });

  it('evaluates an HF PEFT adapter folder without webpeft state the same as with it', async () => {
    const out = join(work, 'prefix');
    expect((await run('train', '--task', 'spam', '--method', 'ptuning-v2', '--model', bertDir, '--steps', '3', '--batch-size', '4',
      '--max-length', '24', '--virtual-tokens', '2', '--eval-limit', '16', '--out', out)).code).toBe(0);
    const withState = await run('eval', '--task', 'spam', '--adapter', out, '--model', bertDir, '--max-length', '24', '--eval-limit', '16');
    const { rmSync } = await import('node:fs');
    rmSync(join(out, 'training_state.json'));
    const hfOnly = await run('eval', '--task', 'spam', '--adapter', out, '--model', bertDir, '--max-length', '24', '--eval-limit', '16');
    expect(hfOnly.code, hfOnly.err).toBe(0);
    expect(hfOnly.out).toBe(withState.out);
  });

  it('says clearly when the adapter does not fit the model', async () => {
    const r = await run('eval', '--task', 'subject', '--adapter', join(work, 'prefix'), '--model', gptDir, '--eval-limit', '4');
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toHaveLength(1);
    // same width and depth, so the prefix would fit; the task (and the BERT classifier head it carries) does not
    expect(r.err, r.err).toMatch(/adapter_config.json: task_type: SEQ_CLS needs a classification head; this gpt2 model has none/);
  });
});

describe('generate, dump, tokenize, inspect', () => {
  it('generates under a prompt adapter trained on the subject task', async () => {
    const out = join(work, 'subject-prompt');
    expect((await run('train', '--task', 'subject', '--method', 'prompt', '--model', gptDir, '--steps', '3', '--batch-size', '4',
      '--max-length', '40', '--virtual-tokens', '2', '--eval-limit', '4', '--out', out)).code).toBe(0);
    const g = await run('generate', '--model', gptDir, '--adapter', out, '--prompt', 'Dear all,', '--max-new-tokens', '5');
    expect(g.code, g.err).toBe(0);
    expect(g.out.startsWith('Dear all,')).toBe(true);
  });

  it('dumps logits, loss and a gradient for every trainable tensor, named by key', async () => {
    const file = join(work, 'dump.safetensors');
    const r = await run('dump', '--model', gptDir, '--text', 'Hello there', '--out', file, '--dtype', 'f64');
    expect(r.code, r.err).toBe(0);
    const d = parseSafetensors(readFileSync(file), file);
    expect(d.tensors.get('loss')!.dtype).toBe('F64');
    expect([...d.tensors.keys()]).toContain('grad.h.0.attn.c_attn.weight');
    expect([...d.tensors.keys()]).toContain('grad.wte.weight');
  });

  it('tokenizes with the real GPT-2 vocabulary and decodes back', async () => {
    const stdin = vi.spyOn(process, 'stdin', 'get');
    const { Readable } = await import('node:stream');
    stdin.mockReturnValue(Readable.from([Buffer.from('Hello world')]) as unknown as typeof process.stdin);
    const r = await run('tokenize', '--tokenizer', 'gpt2');
    expect(r.out).toBe('[15496,995]');
    stdin.mockReturnValue(Readable.from([Buffer.from('[15496,995]')]) as unknown as typeof process.stdin);
    const w = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    await run('tokenize', '--tokenizer', 'gpt2', '--decode');
    expect(w.mock.calls.map((c) => String(c[0])).join('')).toBe('Hello world');
    w.mockRestore();
    stdin.mockRestore();
  });

  it('inspects a model folder and a corrupt file gives one line naming it', async () => {
    const r = await run('inspect', gptDir);
    expect(r.out).toMatch(/gpt2: 2 layers, 2 heads, width 16/);
    expect(r.out).toMatch(/h\.0\.attn\.c_attn\.weight\s+F32\s+\[16, 48\]/);
    const bad = join(work, 'bad.safetensors');
    (await import('node:fs')).writeFileSync(bad, Buffer.from([1, 2, 3]));
    const e = await run('inspect', bad);
    expect(e.code).toBe(1);
    expect(e.err.split('\n')).toHaveLength(1);
    expect(e.err).toContain('bad.safetensors');
  });
});
