/**
 * Garbage is refused with a typed, one-line error naming the file and the field: NaN/Inf in model weights or adapter
 * tensors (unless allowNonfinite / --allow-nonfinite), a tokenizer.json with an unknown model type, an array vocab,
 * missing fields, or ids past the model's vocab_size.
 */
import { stateFor } from './helpers/training-state.js';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { loadSafetensors, saveSafetensors } from '../src/io/node.js';
import { SafetensorsError } from '../src/io/safetensors.js';
import { tokenizerFromJson, TokenizerError } from '../src/io/tokenizer.js';
import { baseOf } from '../src/peft/base.js';
import { buildMethod } from '../src/train/methods.js';
import { loadAdapter, saveAdapter } from '../src/train/adapter-dir.js';
import { loadGpt2 } from '../src/train/model-dir.js';
import { runCli } from './helpers/cli.js';
import { tinyGpt2Dir } from './helpers/model-dirs.js';

const gptDir = await tinyGpt2Dir();
const work = mkdtempSync(join(tmpdir(), 'webpeft-valid-'));

/** A copy of the tiny GPT-2 folder with `value` at flat index 5 of `tensor`. */
async function poisoned(tensor: string, value: number): Promise<string> {
  const dir = mkdtempSync(join(work, 'model-'));
  cpSync(gptDir, dir, { recursive: true });
  const file = await loadSafetensors(join(dir, 'model.safetensors'));
  (file.tensors.get(tensor)!.data as Float32Array)[5] = value;
  await saveSafetensors(join(dir, 'model.safetensors'), file.tensors, file.metadata);
  return dir;
}

const oneLine = (error: unknown) => expect((error as Error).message).not.toContain('\n');

describe('non-finite weights', () => {
  it('a NaN in model.safetensors is a SafetensorsError naming the file, the tensor and the index; allowNonfinite loads it', async () => {
    const dir = await poisoned('transformer.h.1.mlp.c_fc.weight', Number.NaN);
    const error = await loadGpt2(dir, { backend: cpu }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message).toMatch(new RegExp(`^${join(dir, 'model.safetensors')}: tensor "transformer.h.1.mlp.c_fc.weight": holds NaN at flat index 5 of shape \\[16,64\\]`));
    oneLine(error);
    const { model } = await loadGpt2(dir, { backend: cpu, allowNonfinite: true });
    expect(Number.isNaN(model.params.tensor('h.1.mlp.c_fc.weight').dataSync()[5])).toBe(true);
    model.dispose();
  });

  it('generate refuses an Inf weight with exit 1 and one line; --allow-nonfinite runs it', async () => {
    const dir = await poisoned('transformer.wte.weight', Number.POSITIVE_INFINITY);
    const refused = await runCli('generate', '--model', dir, '--prompt', 'the', '--max-new-tokens', '2');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^webpeft generate: .*model\.safetensors: tensor "transformer\.wte\.weight": holds Infinity at flat index 5/);
    expect(refused.err).not.toContain('\n');
    const allowed = await runCli('generate', '--model', dir, '--prompt', 'the', '--max-new-tokens', '2', '--allow-nonfinite');
    expect(allowed.code, allowed.err).toBe(0);
  });

  it('an adapter whose prompt holds NaN is refused on load, naming adapter_model.safetensors or the training state', async () => {
    const { model } = await loadGpt2(gptDir, { backend: cpu });
    const base = baseOf(model);
    const settings = { virtualTokens: 2, hidden: 0, encoder: 'mlp' as const, seed: 1 };
    const method = await buildMethod('prompt', base, settings);
    method.params.assign('prompt_embeddings', new Float32Array(2 * 16).fill(Number.NaN));
    const dir = join(work, 'nan-adapter');
    await saveAdapter(dir, base, method, await stateFor(base, method, { method: 'prompt', settings, task: 'subject', model: gptDir, step: 1, lr: 0.1 }), null, 'CAUSAL_LM');
    const error = await loadAdapter(dir, base).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message).toMatch(/training_state\.safetensors: tensor "method\.prompt_embeddings": holds NaN at flat index 0/);
    rmSync(join(dir, 'training_state.json')); // without the state, the HF file is read and refused too
    await expect(loadAdapter(dir, base)).rejects.toThrow(/adapter_model\.safetensors: tensor "prompt_embeddings": holds NaN/);
    const allowed = await loadAdapter(dir, base, { allowNonfinite: true });
    expect(Number.isNaN(allowed.method.params.tensor('prompt_embeddings').dataSync()[0])).toBe(true);
    model.dispose();
  });
});

describe('tokenizer.json validated like config.json', () => {
  const good = JSON.parse(readFileSync(join(gptDir, 'tokenizer.json'), 'utf8')) as { model: Record<string, unknown> };
  const withModel = (change: (model: Record<string, unknown>) => void) => {
    const json = structuredClone(good);
    change(json.model);
    return json;
  };
  const rejects = (json: unknown, field: string, detail: RegExp) => {
    let error: unknown;
    try {
      tokenizerFromJson(json, {}, 'tok.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as TokenizerError).field).toBe(field);
    expect((error as Error).message).toMatch(detail);
    expect((error as Error).message.startsWith(`tok.json: ${field}: `)).toBe(true);
    oneLine(error);
  };

  it('an unknown model.type', () => rejects(withModel((m) => { m.type = 'Bogus'; }), 'model.type', /"Bogus" is not a known tokenizer model/));
  it('an array vocab for BPE', () => rejects(withModel((m) => { m.vocab = Object.keys(m.vocab as object); }), 'model.vocab', /must be an object of token → id for BPE, found an array/));
  it('missing merges', () => rejects(withModel((m) => { delete m.merges; }), 'model.merges', /must be an array/));
  it('a fractional id', () => rejects(withModel((m) => { (m.vocab as Record<string, number>).the = 2.5; }), 'model.vocab."the"', /non-negative integer id/));
  it('an id given to two tokens', () => rejects(withModel((m) => { const v = m.vocab as Record<string, number>; v.zzz_new = v.the; }), 'model.vocab."zzz_new"', /is given to both "the" and "zzz_new"/));
  it('a missing model', () => rejects({ version: '1.0' }, 'model', /is missing/));
  it('a pre_tokenizer without a type', () => rejects({ ...structuredClone(good), pre_tokenizer: { add_prefix_space: true } }, 'pre_tokenizer', /string "type"/));

  it('a tokenizer whose ids reach past the model\'s vocab_size is refused when the model folder loads', async () => {
    const dir = mkdtempSync(join(work, 'vocab-'));
    cpSync(gptDir, dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const json = structuredClone(good);
    (json.model.vocab as Record<string, number>)['zzz_extra'] = config.vocab_size; // one id too many
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const error = await loadGpt2(dir, { backend: cpu }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as Error).message).toBe(`${join(dir, 'tokenizer.json')}: model.vocab: has ids up to ${config.vocab_size}, but ${join(dir, 'config.json')} vocab_size is ${config.vocab_size}`);
  });
});
