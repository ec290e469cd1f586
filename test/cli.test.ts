import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const run = runCli;

describe('webpeft params', () => {
  it("prints HF's exact counts for gpt2 and bert-base-uncased", async () => {
    expect((await run('params', '--preset', 'gpt2')).out).toMatch(/total\s+124,439,808/);
    expect((await run('params', '--preset', 'bert-base-uncased')).out).toMatch(/total\s+109,482,240/);
  });

  it("gives BitFit's share as the seed reports it: ≈0.09 % of BERT-base, ≈0.08 % of BERT-large", async () => {
    const base = JSON.parse((await run('params', '--preset', 'bert-base-uncased', '--method', 'bitfit', '--json')).out);
    const large = JSON.parse((await run('params', '--preset', 'bert-large-uncased', '--method', 'bitfit', '--json')).out);
    expect(base.method.percent).toBeGreaterThan(0.085);
    expect(base.method.percent).toBeLessThan(0.095);
    expect(large.method.percent).toBeGreaterThan(0.075);
    expect(large.method.percent).toBeLessThan(0.085);
  });

  it('counts P-tuning v2 prefixes as P·2·L·D (0.1–3 % of BERT-base)', async () => {
    const r = JSON.parse((await run('params', '--preset', 'bert-base-uncased', '--method', 'ptuning-v2', '--virtual-tokens', '20', '--json')).out);
    expect(r.method.trainable).toBe(20 * 2 * 12 * 768);
    expect(r.method.percent).toBeGreaterThan(0.1);
    expect(r.method.percent).toBeLessThan(3);
  });

  it("prints HF's 139,420,416 for bart-base, by part: the shared table, each stack's modules, cross-attention", async () => {
    const r = await run('params', '--preset', 'bart-base');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/total\s+139,420,416/);
    const D = 768, F = 3072, L = 6;
    const attention = L * 4 * (D * D + D);
    const rows: [string, number][] = [
      ['shared embeddings', 50265 * D], ['encoder: embeddings', 1026 * D + 2 * D], ['encoder: self-attention', attention],
      ['encoder: layer norms', L * 2 * 2 * D], ['encoder: ffn', L * (D * F + F + F * D + D)], ['decoder: embeddings', 1026 * D + 2 * D],
      ['decoder: self-attention', attention], ['decoder: layer norms', L * 3 * 2 * D], ['decoder: cross-attention', attention],
      ['decoder: ffn', L * (D * F + F + F * D + D)],
    ];
    const json = JSON.parse((await run('params', '--preset', 'bart-base', '--json')).out);
    expect(json.groups.map((g: { group: string; params: number }) => [g.group, g.params])).toEqual(rows);
    expect(rows.reduce((n, [, k]) => n + k, 0)).toBe(139_420_416);
  });

  it('counts methods on bart-base: a prefix in each of the three stacks, BitFit ≈ 0.09 %', async () => {
    const prefix = JSON.parse((await run('params', '--preset', 'bart-base', '--method', 'ptuning-v2', '--virtual-tokens', '20', '--json')).out);
    expect(prefix.method.detail).toEqual(['encoder', 'decoder', 'cross'].map((s) => ({ group: `ptuning-v2 parameters (${s})`, params: 20 * 2 * 6 * 768 })));
    const bitfit = JSON.parse((await run('params', '--preset', 'bart-base', '--method', 'bitfit', '--json')).out);
    // q/k/v/out biases of 18 attention modules, fc1/fc2 of 12 layers, 32 layer norms
    expect(bitfit.method.trainable).toBe(18 * 4 * 768 + 12 * (3072 + 768) + 32 * 768);
    expect(bitfit.method.percent).toBeGreaterThan(0.085);
    expect(bitfit.method.percent).toBeLessThan(0.095);
  });

  it('rejects bad input with one line and exit code 1', async () => {
    const r = await run('params', '--preset', 'gpt3');
    expect(r.code).toBe(1);
    expect(r.err).toBe("webpeft params: unknown preset 'gpt3' (known: gpt2, gpt2-medium, gpt2-large, gpt2-xl, bert-base-uncased, bert-large-uncased, bart-base)");
  });
});

describe('webpeft gradcheck', () => {
  it('prints the per-op table and exits 0', async () => {
    const r = await run('gradcheck', '--backend', 'cpu', '--cases', '5', '--op', 'matmul,layernorm');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/matmul\s+5\s+\S+\s+1\.0e-6\s+ok/);
    expect(r.out).toMatch(/layernorm/);
  });

  it('names an unknown op', async () => {
    const r = await run('gradcheck', '--op', 'conv2d');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown op\(s\): conv2d/);
  });
});

describe('webpeft compare --lr', () => {
  it('one rate for every selected method, or method=rate pairs; bad input is one clear error', async () => {
    const { parseLr } = await import('../src/cli/compare.js');
    expect(parseLr(undefined, ['full', 'prompt'])).toBeUndefined();
    expect(parseLr('0.1', ['frozen', 'bitfit'])).toEqual({ frozen: 0.1, bitfit: 0.1 });
    expect(parseLr('prompt=0.3, bitfit=3e-2', ['full', 'prompt', 'bitfit'])).toEqual({ prompt: 0.3, bitfit: 0.03 });
    expect(() => parseLr('lora=0.1', ['full'])).toThrow(/--lr: expected method=rate with a method of full, frozen/);
    expect(() => parseLr('-1', ['full'])).toThrow("--lr: expected a learning rate > 0, got '-1'");
    expect(() => parseLr('prompt=abc', ['prompt'])).toThrow("--lr: expected a learning rate > 0, got 'abc'");
  });
});
