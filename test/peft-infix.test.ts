/**
 * Infix tuning [x; INFIX; y] on a tiny GPT-2 (src/peft/infix-tuning.ts): finite-difference gradients in f64,
 * override-by-own-value is the identity, the frozen base stays bit-identical through training, KV-cached generation
 * under an infix equals recomputation, and the WebGPU forward and gradients equal the CPU's.
 */
import * as fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { narrow } from '../src/autograd/functions.js';
import { F64_TOLERANCE, gradcheckTensors } from '../src/autograd/gradcheck.js';
import { noGrad } from '../src/autograd/op.js';
import { AdamW } from '../src/autograd/optim.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, tidyAsync, type Tensor } from '../src/autograd/tensor.js';
import { parseGpt2Config } from '../src/io/config.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { positionIdsFromMask } from '../src/models/generate.js';
import { baseOf } from '../src/peft/base.js';
import { activationsOfRun, infixPrompts, infixSlots, infixTuning, plainInfix } from '../src/peft/infix-tuning.js';
import { PeftModel, generateWith } from '../src/peft/peft-model.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { createMethod } from '../src/peft/registry.js';
import { acquireGpu } from './helpers/gpu.js';

const config = parseGpt2Config({ vocab_size: 17, n_positions: 40, n_embd: 8, n_head: 2, n_layer: 3 }, 'tiny-gpt2');
const { nLayer: L, nEmbd: D } = config;
const PLACEHOLDER = 0;

function tinyGpt2(seed = 3, dtype: 'f32' | 'f64' = 'f64', backend: Backend = cpu): Gpt2 {
  const model = Gpt2.init(config, { seed, dtype, backend });
  const rng = new Rng(seed + 1);
  for (const [name, t] of model.params) {
    const gain = /ln_\d\.weight|ln_f\.weight/.test(name) ? 1 : 0;
    model.params.assign(name, Array.from({ length: t.size }, () => gain + 0.3 * rng.normal()));
  }
  return model;
}

const ids = (rows: number[][], backend: Backend = cpu) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32', backend });
const values = (t: Tensor) => Array.from(t.dataSync());

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Rows x; P slots; y, right-padded to one length with their masks and LM labels on y only. */
function batchOf(rows: { x: number[]; y: number[] }[], P: number) {
  const seqs = rows.map((r) => [...r.x, ...new Array<number>(P).fill(PLACEHOLDER), ...r.y]);
  const T = Math.max(...seqs.map((s) => s.length));
  const pad = (s: number[], v: number) => [...s, ...new Array<number>(T - s.length).fill(v)];
  return {
    ids: seqs.map((s) => pad(s, 0)),
    mask: seqs.map((s) => pad(s.map(() => 1), 0)),
    labels: rows.map((r) => pad([...r.x.map(() => -100), ...new Array<number>(P).fill(3), ...r.y], -100)),
    layout: infixSlots(rows.map((r) => r.x.length), T, P),
  };
}

const tokens = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: config.vocabSize - 1 }), { minLength: min, maxLength: max });

describe('infix tuning on GPT-2 (f64, CPU)', () => {
  const model = tinyGpt2();
  const base = baseOf(model);

  it('finite differences ≡ autograd for the plain table and for every tensor of the MLP, padded batch', async () => {
    const b = batchOf([{ x: [1, 4, 9], y: [2, 5] }, { x: [3], y: [7, 7, 8] }], 2);
    for (const method of [infixTuning(base, { numVirtualTokens: 2, projection: null, seed: 1 }), infixTuning(base, { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 2 })]) {
      const peft = new PeftModel(model, [method]);
      const mask = tensor(b.mask.flat(), [2, b.ids[0].length], { dtype: 'f64' });
      const report = gradcheckTensors(() => peft.forward({ ids: ids(b.ids), attentionMask: mask, labels: ids(b.labels), layout: b.layout }).loss!,
        method.params.trainable(), { samples: 6, seed: 4 });
      expect(report.length).toBe(method.params.size);
      for (const r of report) expect(r.maxRelErr, r.name).toBeLessThanOrEqual(F64_TOLERANCE);
      // every layer's block of the table gets a gradient (layers 1 … L − 1 through the hidden hook, 0 through the input)
      if (method.params.size === 1) {
        const g = method.params.trainable()[0].grad!.dataSync();
        for (let l = 0; l < L; l++) expect(Math.max(...Array.from({ length: D }, (_, d) => Math.abs(g[l * D + d]))), `layer ${l}`).toBeGreaterThan(0);
      }
      peft.unload();
    }
  });

  it("an infix of the model's own activations of text T between x and y ≡ the base model on x; T; y (every position)", async () => {
    await fc.assert(fc.asyncProperty(tokens(1, 5), tokens(1, 4), tokens(1, 5), async (x, text, y) => {
      const full = [[...x, ...text, ...y]];
      const table = await activationsOfRun(base, (hooks) => model.forward({ ids: ids(full), hooks }), x.length, text.length);
      const peft = new PeftModel(model, [plainInfix(tensor(table, [text.length, L * D], { dtype: 'f64', requiresGrad: true }), false)]);
      const b = batchOf([{ x, y }], text.length);
      const withInfix = noGrad(() => values(peft.forward({ ids: ids(b.ids), layout: b.layout }).logits));
      const baseline = noGrad(() => values(model.forward({ ids: ids(full) }).logits));
      expectClose(withInfix, baseline, 1e-12);
    }), { numRuns: 20, seed: 7 });
  });

  it('each layer block of the table is in effect: moving block l at a slot changes the logits of y, never those of x', async () => {
    const [x, text, y] = [[1, 4, 9], [6, 2], [2, 5, 11]];
    const full = [[...x, ...text, ...y]];
    const own = await activationsOfRun(base, (hooks) => model.forward({ ids: ids(full), hooks }), x.length, text.length);
    const b = batchOf([{ x, y }], text.length);
    const V = config.vocabSize;
    const baseline = noGrad(() => values(model.forward({ ids: ids(full) }).logits));
    for (let l = 0; l < L; l++) {
      const moved = Float64Array.from(own);
      moved[1 * L * D + l * D + 3] += 0.5; // slot 1, layer l, one feature
      const peft = new PeftModel(model, [plainInfix(tensor(moved, [text.length, L * D], { dtype: 'f64' }), false)]);
      const logits = noGrad(() => values(peft.forward({ ids: ids(b.ids), layout: b.layout }).logits));
      const split = (x.length + 1) * V; // positions up to and including slot 0 cannot see slot 1
      expectClose(logits.slice(0, split), baseline.slice(0, split), 0);
      const yStart = (x.length + text.length) * V;
      expect(Math.max(...logits.slice(yStart).map((v, i) => Math.abs(v - baseline[yStart + i]))), `layer ${l}`).toBeGreaterThan(1e-6);
    }
  });

  it('x never sees the infix (causal); y does, and its labels at the slots are ignored', async () => {
    const b = batchOf([{ x: [1, 4, 9], y: [2, 5] }], 2);
    const [a, c] = [infixTuning(base, { numVirtualTokens: 2, projection: null, seed: 1 }), infixTuning(base, { numVirtualTokens: 2, projection: null, seed: 9 })];
    const run = (m: typeof a, labels?: number[][]) => noGrad(() => new PeftModel(model, [m]).forward({ ids: ids(b.ids), layout: b.layout, labels: labels && ids(labels) }));
    const [la, lc] = [run(a).logits, run(c).logits];
    expectClose(values(narrow(la, 1, 0, 3)), values(narrow(lc, 1, 0, 3)), 0);
    expectClose(values(narrow(noGrad(() => model.forward({ ids: ids([[1, 4, 9]]) }).logits), 1, 0, 3)), values(narrow(la, 1, 0, 3)), 1e-12);
    expect(Math.max(...values(narrow(la, 1, 4, 3)).map((v, i) => Math.abs(v - values(narrow(lc, 1, 4, 3))[i])))).toBeGreaterThan(1e-3);
    // a label written at a slot changes nothing: the slots are −100 whatever the batch says
    const other = b.labels.map((r) => r.map((v, t) => (b.layout.slots[t] >= 0 ? 11 : v)));
    expect(run(a, b.labels).loss!.dataSync()[0]).toBe(run(a, other).loss!.dataSync()[0]);
  });

  it('the frozen base is bit-identical after training steps; the infix moves and the loss falls', async () => {
    const fresh = tinyGpt2(5);
    const before = new Map([...fresh.params].map(([n, t]) => [n, Float64Array.from(t.dataSync())]));
    const method = infixTuning(baseOf(fresh), { numVirtualTokens: 2, seed: 3 });
    const peft = new PeftModel(fresh, [method]);
    const table0 = Float64Array.from(method.collapse().params.trainable()[0].dataSync());
    const b = batchOf([{ x: [1, 4, 9], y: [2, 5] }, { x: [3, 3], y: [7, 8] }], 2);
    const mask = tensor(b.mask.flat(), [2, b.ids[0].length], { dtype: 'f64' });
    const opt = new AdamW(peft.trainable(), { lr: 0.01, weightDecay: 0 });
    const losses: number[] = [];
    for (let s = 0; s < 10; s++) {
      opt.zeroGrad();
      tidy(() => {
        const loss = peft.forward({ ids: ids(b.ids), attentionMask: mask, labels: ids(b.labels), layout: b.layout }).loss!;
        losses.push(loss.dataSync()[0]);
        backward(loss);
      });
      opt.step();
    }
    for (const [n, t] of fresh.params) {
      expect(Buffer.from(Float64Array.from(t.dataSync()).buffer).equals(Buffer.from(before.get(n)!.buffer)), n).toBe(true);
      expect(t.grad, n).toBeNull();
    }
    expect(method.collapse().params.trainable()[0].dataSync()).not.toEqual(table0);
    expect(losses[9]).toBeLessThan(losses[0]);
    opt.dispose();
  });

  it('KV-cached greedy generation under an infix ≡ recomputation of every step, ragged left-padded prompts, with a prefix too', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ x: tokens(1, 5), after: tokens(0, 2) }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.boolean(),
      async (rows, P, steps, withPrefix) => {
        const methods = [infixTuning(base, { numVirtualTokens: P, projection: { hidden: 4 }, seed: P })];
        if (withPrefix) methods.push(prefixTuning(base, { numVirtualTokens: 2, projection: null, seed: 8 }));
        const peft = new PeftModel(model, [methods]);
        const { prompts, layout } = infixPrompts(rows, P, PLACEHOLDER, 0);
        const result = await generateWith(peft, prompts, { maxNewTokens: steps, returnLogits: true, padTokenId: 0, layout });
        const T0 = result.sequences[0].length - result.stepLogits!.length;
        const offset = withPrefix ? 2 : 0;
        result.stepLogits!.forEach((stepRows, s) => {
          const seqs = result.sequences.map((r) => r.slice(0, T0 + s));
          const mask = result.attentionMask.map((r) => r.slice(0, T0 + s));
          const slots = new Int32Array(seqs.length * (T0 + s)).fill(-1);
          seqs.forEach((_, b) => { for (let t = 0; t < T0; t++) slots[b * (T0 + s) + t] = layout.slots[b * T0 + t]; });
          const logits = noGrad(() => peft.forward({
            ids: ids(seqs), attentionMask: tensor(mask.flat(), [seqs.length, T0 + s], { dtype: 'f64' }),
            positionIds: ids(positionIdsFromMask(mask, offset)), layout: { kind: 'slots', slots },
          }).logits);
          const last = values(narrow(logits, 1, T0 + s - 1, 1));
          stepRows.forEach((row, b) => {
            expectClose(row, last.slice(b * config.vocabSize, (b + 1) * config.vocabSize), 1e-9);
            expect(result.sequences[b][T0 + s]).toBe(row.indexOf(Math.max(...row)));
          });
        });
        for (const m of methods) m.params.dispose();
      }), { numRuns: 15, seed: 11 });
  });

  it('composes: bitfit+infix trains the biases and the infix, and at the start computes what the infix alone computes', async () => {
    const { buildMethod } = await import('../src/peft/registry.js');
    const fresh = tinyGpt2(6);
    const b = batchOf([{ x: [1, 4, 9], y: [2, 5] }], 2);
    const settings = { virtualTokens: 2, hidden: 0, seed: 4 };
    const infixAlone = new PeftModel(fresh, [await buildMethod('infix', baseOf(fresh), settings)]);
    const alone = noGrad(() => values(infixAlone.forward({ ids: ids(b.ids), layout: b.layout }).logits));
    infixAlone.unload();
    const composed = await buildMethod('bitfit+infix', baseOf(fresh), settings);
    const peft = new PeftModel(fresh, [composed]);
    expectClose(noGrad(() => values(peft.forward({ ids: ids(b.ids), layout: b.layout }).logits)), alone, 0);
    const report = gradcheckTensors(() => peft.forward({ ids: ids(b.ids), labels: ids(b.labels), layout: b.layout }).loss!,
      peft.trainable().filter((t) => t.name === 'infix_activations' || t.name === 'h.1.mlp.c_fc.bias'), { samples: 4, seed: 2 });
    expect(report.map((r) => r.name).sort()).toEqual(['h.1.mlp.c_fc.bias', 'infix_activations']);
    for (const r of report) expect(r.maxRelErr, r.name).toBeLessThanOrEqual(F64_TOLERANCE);
  });

  it('refuses what it cannot do, in one line: BERT, no slots, an input prompt beside it, a wrong-sized table', async () => {
    expect(() => infixTuning({ ...base, family: 'bert' }, { numVirtualTokens: 2 })).toThrow('infix tuning: GPT-2 and BART only (a bert model has no per-layer hidden hook)');
    const peft = new PeftModel(model, [infixTuning(base, { numVirtualTokens: 2, projection: null })]);
    expect(() => peft.forward({ ids: ids([[1, 2, 3]]) })).toThrow(/infix tuning needs the positions of its slots/);
    const both = new PeftModel(model, [[infixTuning(base, { numVirtualTokens: 2, projection: null }), await promptTuning(base, { numVirtualTokens: 2 })]]);
    expect(() => both.forward({ ids: ids([[1, 2, 3, 4]]), layout: infixSlots([1], 4, 2) })).toThrow(/does not compose with an input prompt/);
    expect(() => infixTuning(base, { numVirtualTokens: 2, projection: null, initial: new Float64Array(5) })).toThrow('expected 2×24');
    // the registry builds it from the CLI's settings (virtual tokens, --hidden 0 = no MLP)
    expect((await createMethod('infix', base, { numVirtualTokens: 3, projection: null })).params.count()).toBe(3 * L * D);
  });
});

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());

describe.skipIf(!gpu)('infix tuning on WebGPU equals the CPU backend (f32)', () => {
  const TOL = 256 * 2 ** -23;
  it('logits, loss and the gradients of every infix tensor (MLP) of a padded batch', async () => {
    const b = batchOf([{ x: [1, 4, 9], y: [2, 5] }, { x: [3], y: [7, 7, 8] }], 2);
    const onCpu = tinyGpt2(3, 'f32', cpu);
    const onGpu = Gpt2.load(config, await onCpu.save(), { backend: gpu! });
    const run = async (model: Gpt2, backend: Backend) => {
      const method = infixTuning(baseOf(model), { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 2 });
      const peft = new PeftModel(model, [method]);
      return tidyAsync(async () => {
        const out = peft.forward({
          ids: ids(b.ids, backend), attentionMask: tensor(b.mask.flat(), [2, b.ids[0].length], { dtype: 'f32', backend }),
          labels: ids(b.labels, backend), layout: b.layout,
        });
        backward(out.loss!);
        return { logits: await out.logits.data(), loss: await out.loss!.data(), grads: await Promise.all(method.params.trainable().map((t) => t.grad!.data())) };
      });
    };
    const [c, g] = [await run(onCpu, cpu), await run(onGpu, gpu!)];
    expectClose(g.logits, c.logits, TOL);
    expectClose(g.loss, c.loss, TOL);
    expect(g.grads.length).toBe(5);
    c.grads.forEach((grad, i) => expectClose(g.grads[i], grad, TOL));
    onCpu.dispose();
    onGpu.dispose();
  });
});

describe('webpeft train --method infix on the subject task', () => {
  it('the subject task lays out body; INFIX; separator; subject: P placeholder slots right before the separator, labels −100 there', async () => {
    const { loadTokenizer } = await import('../src/io/node.js');
    const { makeTask } = await import('../src/train/tasks.js');
    const { SUBJECT_SEPARATOR } = await import('../src/data/datasets.js');
    const tok = await loadTokenizer('assets/data/tokenizer/gpt2');
    const sep = tok.encode(SUBJECT_SEPARATOR, { addSpecialTokens: false });
    const P = 3;
    const plain = makeTask('subject', tok, { batchSize: 4, maxLength: 40, seed: 1 }).batch(0);
    const b = makeTask('subject', tok, { batchSize: 4, maxLength: 40, seed: 1, infix: P }).batch(0) as typeof plain & { layout?: { kind: string; slots: Int32Array } };
    const [B, T] = b.shape;
    const [, T0] = plain.shape;
    expect(b.layout!.kind).toBe('slots');
    for (let r = 0; r < B; r++) {
      const row = Array.from(b.ids.subarray(r * T, (r + 1) * T));
      const slots = Array.from(b.layout!.slots.subarray(r * T, (r + 1) * T));
      const first = slots.indexOf(0);
      expect(slots.slice(first, first + P)).toEqual([0, 1, 2]);
      expect(slots.filter((k) => k >= 0)).toHaveLength(P);
      expect(row.slice(first + P, first + P + sep.length)).toEqual(sep);
      expect(Array.from(b.labels.subarray(r * T + first, r * T + first + P))).toEqual([-100, -100, -100]);
      // the same mail and subject as without the infix: the row is the plain row with P slots inserted
      const plainRow = Array.from(plain.ids.subarray(r * T0, (r + 1) * T0));
      expect([...row.slice(0, first), ...row.slice(first + P)].slice(0, T0)).toEqual(plainRow);
    }
  });

  it('trains, saves the resumable state (no HF PEFT files: HF has no infix format), evaluates, and refuses a BERT task', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const { tinyGpt2Dir, tinyBertDir } = await import('./helpers/model-dirs.js');
    const { existsSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const out = join(mkdtempSync(join(tmpdir(), 'webpeft-infix-')), 'infix');
    const gptDir = await tinyGpt2Dir();
    const r = await runCli('train', '--task', 'subject', '--method', 'infix', '--model', gptDir, '--steps', '4', '--batch-size', '4',
      '--max-length', '40', '--virtual-tokens', '2', '--hidden', '8', '--eval-limit', '4', '--out', out);
    expect(r.code, r.err).toBe(0);
    // P = 2, width 16, 2 layers, MLP hidden 8: Embedding(2, 16) + Linear(16 → 8) + Linear(8 → 2·16)
    expect(r.out).toMatch(new RegExp(`infix on .*: ${2 * 16 + (8 * 16 + 8) + (32 * 8 + 32)} trainable`));
    expect(r.out).toMatch(/validation ROUGE-L \d\.\d{4}/);
    expect(existsSync(join(out, 'training_state.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'adapter_config.json'))).toBe(false);
    const e = await runCli('eval', '--task', 'subject', '--adapter', out, '--model', gptDir, '--max-length', '40', '--eval-limit', '4');
    expect(e.code, e.err).toBe(0);
    expect(e.out).toMatch(/validation: ROUGE-L \d\.\d{4}, targetLoss \d/);
    const bert = await runCli('train', '--task', 'spam', '--method', 'infix', '--model', await tinyBertDir(), '--steps', '1', '--out', `${out}-bert`);
    expect(bert.code).toBe(1);
    expect(bert.err).toMatch(/infix tuning: GPT-2 and BART only/);

    // --stop-after 2, then --resume, equals the uninterrupted run: the MLP encoder and its AdamW moments, bit for bit
    const { readFileSync } = await import('node:fs');
    const { parseSafetensors } = await import('../src/io/safetensors.js');
    const args = ['--task', 'subject', '--method', 'infix', '--model', gptDir, '--steps', '4', '--batch-size', '4', '--max-length', '40',
      '--virtual-tokens', '2', '--hidden', '8', '--eval-limit', '2'];
    expect((await runCli('train', ...args, '--stop-after', '2', '--out', `${out}-half`)).code).toBe(0);
    const rest = await runCli('train', '--resume', `${out}-half`, '--model', gptDir, '--eval-limit', '2', '--out', `${out}-rest`);
    expect(rest.code, rest.err).toBe(0);
    const state = (dir: string) => parseSafetensors(readFileSync(join(dir, 'training_state.safetensors')), dir).tensors;
    const [whole, resumed] = [state(out), state(`${out}-rest`)];
    expect([...resumed.keys()].sort()).toEqual([...whole.keys()].sort());
    expect([...whole.keys()]).toContain('adam_m.method.transform.2.weight');
    for (const [k, t] of whole) expect([...resumed.get(k)!.data], k).toEqual([...t.data]);
  }, 90_000);
});
