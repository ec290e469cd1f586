/**
 * Infix tuning on BART ([x; INFIX; y]: x the source, P slots after decoder_start, then the target y; see
 * src/peft/infix-tuning.ts), in f64 on a tiny random BART: finite-difference gradients of the plain table and of the
 * MLP; an infix of the decoder's own activations of a text T ≡ the base model on the decoder input [start; T; y]
 * (logits and loss); every layer block is in effect and only after the slots; collapse() ≡ the reparameterised
 * method; KV-cached generation ≡ recomputation of every step; the frozen body stays bit-identical through training;
 * what it refuses, in one line.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { F64_TOLERANCE, gradcheckTensors } from '../src/autograd/gradcheck.js';
import { noGrad } from '../src/autograd/op.js';
import { AdamW } from '../src/autograd/optim.js';
import { backward } from '../src/autograd/tape.js';
import { tidy } from '../src/autograd/tensor.js';
import { parseBartConfig } from '../src/io/bart-config.js';
import { activationsOfRun, infixTuning, plainInfix } from '../src/peft/infix-tuning.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { buildMethod } from '../src/peft/registry.js';
import { BartPeftModel, bartBase, bartPrefixTuning, generateWithBart } from '../src/peft/seq2seq.js';
import { randomBart } from './helpers/tiny-bart.js';

const config = parseBartConfig({
  model_type: 'bart', vocab_size: 17, d_model: 8, encoder_layers: 2, decoder_layers: 3, encoder_attention_heads: 2,
  decoder_attention_heads: 4, encoder_ffn_dim: 12, decoder_ffn_dim: 12, max_position_embeddings: 32,
  dropout: 0, attention_dropout: 0, activation_dropout: 0,
}, 'tiny-bart');
const { decoderLayers: L, dModel: D, vocabSize: V, decoderStartTokenId: START } = config;
const PAD = config.padTokenId ?? 1;
const f64 = { dtype: 'f64' as const };
const i32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0]!.length], { dtype: 'i32' });
const values = (t: { dataSync(): ArrayLike<number> }) => Array.from(t.dataSync());
const tokens = (min: number, max: number) => fc.array(fc.integer({ min: 3, max: V - 1 }), { minLength: min, maxLength: max });

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

/** Right-padded sources with their mask, and right-padded labels (−100 at padding). */
function batchOf(sources: number[][], targets: number[][]) {
  const S = Math.max(...sources.map((s) => s.length));
  const T = Math.max(...targets.map((t) => t.length));
  return {
    ids: i32(sources.map((s) => [...s, ...new Array<number>(S - s.length).fill(PAD)])),
    attentionMask: tensor(sources.flatMap((s) => [...s.map(() => 1), ...new Array<number>(S - s.length).fill(0)]), [sources.length, S], f64),
    labels: i32(targets.map((t) => [...t, ...new Array<number>(T - t.length).fill(-100)])),
  };
}

const model = randomBart(config, 11);
const decoder = bartBase(model, 'decoder');
const infixOf = (table: Float64Array, P: number) => plainInfix(tensor(table, [P, L * D], { ...f64, requiresGrad: true }), false);

describe('infix tuning on BART (f64, CPU)', () => {
  it('finite differences ≡ autograd for the plain table and every tensor of the MLP, padded batch; every decoder layer block gets a gradient', () => {
    const b = batchOf([[0, 5, 9, 4, 2], [0, 7, 2]], [[6, 11, 2], [8, 2]]);
    for (const method of [infixTuning(decoder, { numVirtualTokens: 2, projection: null, seed: 1 }), infixTuning(decoder, { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 2 })]) {
      const peft = new BartPeftModel(model, { decoder: [method] });
      const report = gradcheckTensors(() => peft.forward(b).loss!, method.params.trainable(), { samples: 6, seed: 4 });
      expect(report.length).toBe(method.params.size);
      for (const r of report) expect(r.maxRelErr, r.name).toBeLessThanOrEqual(F64_TOLERANCE);
      if (method.params.size === 1) {
        const g = method.params.trainable()[0]!.grad!.dataSync();
        for (let k = 0; k < 2; k++) {
          for (let l = 0; l < L; l++) expect(Math.max(...Array.from({ length: D }, (_, d) => Math.abs(g[k * L * D + l * D + d]!))), `slot ${k} layer ${l}`).toBeGreaterThan(0);
        }
      }
      method.params.dispose();
    }
    expect(model.params.trainable()).toEqual([]);
  });

  it("an infix of the decoder's own activations of T ≡ the base model on the decoder input [start; T; y]: every logit, and the loss of y", async () => {
    await fc.assert(fc.asyncProperty(tokens(1, 5), tokens(1, 4), tokens(1, 4), async (x, text, y) => {
      const full = [[START, ...text, ...y.slice(0, -1)]];
      const table = await activationsOfRun(decoder, (hooks) => model.forward({ ids: i32([x]), decoderIds: i32(full), hooks: { decoder: hooks } }), 1, text.length);
      const method = infixOf(table, text.length);
      const peft = new BartPeftModel(model, { decoder: [method] });
      // the caller gives [start; y] (or only the labels y): the wrapper puts the slots after decoder_start
      const withInfix = noGrad(() => peft.forward({ ids: i32([x]), labels: i32([y]) }));
      const baseline = noGrad(() => model.forward({ ids: i32([x]), decoderIds: i32(full), labels: i32([[...text.map(() => -100), ...y]]) }));
      expect(withInfix.logits.shape).toEqual([1, 1 + text.length + y.length - 1, V]);
      expect(maxRelDiff(values(withInfix.logits), values(baseline.logits))).toBeLessThanOrEqual(1e-12);
      expect(maxRelDiff(values(withInfix.loss!), values(baseline.loss!))).toBeLessThanOrEqual(1e-12);
      const given = noGrad(() => peft.forward({ ids: i32([x]), decoderIds: i32([[START, ...y.slice(0, -1)]]) }));
      expect(values(given.logits)).toEqual(values(withInfix.logits));
      // a decoder mask of the caller's length gets 1s at the slots
      const masked = noGrad(() => peft.forward({ ids: i32([x]), labels: i32([y]), decoderAttentionMask: tensor(y.map(() => 1), [1, y.length], f64) }));
      expect(values(masked.logits)).toEqual(values(withInfix.logits));
      method.params.dispose();
    }), { numRuns: 20, seed: 7 });
  });

  it('each layer block is in effect: moving block l at slot 1 changes what y reads, never decoder_start or slot 0, and the loss ignores the slots', async () => {
    const [x, text, y] = [[0, 5, 9, 2], [6, 12], [4, 8, 2]];
    const full = [[START, ...text, ...y.slice(0, -1)]];
    const own = await activationsOfRun(decoder, (hooks) => model.forward({ ids: i32([x]), decoderIds: i32(full), hooks: { decoder: hooks } }), 1, text.length);
    const baseline = values(noGrad(() => model.forward({ ids: i32([x]), decoderIds: i32(full) }).logits));
    for (let l = 0; l < L; l++) {
      const moved = Float64Array.from(own);
      moved[1 * L * D + l * D + 3] += 0.5;
      const peft = new BartPeftModel(model, { decoder: [infixOf(moved, 2)] });
      const logits = values(noGrad(() => peft.forward({ ids: i32([x]), labels: i32([y]) }).logits));
      expect(maxRelDiff(logits.slice(0, 2 * V), baseline.slice(0, 2 * V))).toBe(0); // decoder_start and slot 0 cannot see slot 1
      // the last slot (where y₁ is read) and y see it
      expect(Math.max(...logits.slice(2 * V).map((v, i) => Math.abs(v - baseline[2 * V + i]!))), `layer ${l}`).toBeGreaterThan(1e-6);
    }
    // labels written at decoder_start and the first slot change nothing; the label at the last slot is y₁'s and counts
    const peft = new BartPeftModel(model, { decoder: [infixOf(own, 2)] });
    const hooks = peft.hooks({ batch: 1, train: false, seed: 0 }, full[0]!.length);
    const withLabels = (labels: number[]) => values(noGrad(() => model.forward({ ids: i32([x]), decoderIds: i32(full), labels: i32([labels]), hooks }).loss!))[0];
    expect(withLabels([3, 3, ...y])).toBe(withLabels([-100, -100, ...y]));
    expect(withLabels([-100, -100, 9, ...y.slice(1)])).not.toBe(withLabels([-100, -100, ...y]));
  });

  it('collapse() computes what the reparameterised infix computes (logits and loss, to the last bit)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1000 }), (P, h, seed) => {
      const method = infixTuning(decoder, { numVirtualTokens: P, projection: { hidden: h }, seed });
      const collapsed = method.collapse();
      expect(collapsed.params.count()).toBe(P * L * D);
      const b = batchOf([[0, 5, 9, 2], [0, 3, 2]], [[6, 11, 2], [8, 2]]);
      const [a, c] = [method, collapsed].map((m) => noGrad(() => new BartPeftModel(model, { decoder: [m] }).forward(b)));
      expect(values(c!.logits)).toEqual(values(a!.logits));
      expect(values(c!.loss!)).toEqual(values(a!.loss!));
      method.params.dispose();
      collapsed.params.dispose();
    }), { numRuns: 10, seed: 3 });
  });

  it('KV-cached greedy generation under an infix ≡ recomputation of every step, ragged sources, with and without prefixes in the three stacks', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(tokens(1, 5), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: 99 }),
      async (sources, P, steps, withPrefix, seed) => {
        const infix = infixTuning(decoder, { numVirtualTokens: P, projection: { hidden: 4 }, seed });
        const prefixes = withPrefix ? bartPrefixTuning(model, { numVirtualTokens: 2, projection: null, seed: seed + 1 }) : { encoder: [], decoder: [], cross: [] };
        const peft = new BartPeftModel(model, { ...prefixes, decoder: [...prefixes.decoder, infix] });
        const out = await generateWithBart(peft, sources, { maxNewTokens: steps, returnLogits: true, stopTokens: [] });
        const b = batchOf(sources, sources.map(() => [2]));
        const decoderIds = i32(out.tokens.map((row) => [START, ...row.slice(0, -1)]));
        const full = values(noGrad(() => peft.forward({ ids: b.ids, attentionMask: b.attentionMask, decoderIds }).logits));
        const T = P + steps; // decoder_start, P slots, steps − 1 generated tokens
        out.stepLogits!.forEach((rows, t) => rows.forEach((logits, r) => {
          const at = (r * T + P + t) * V; // step t is read at the last slot (t = 0) or the token t − 1 after it
          expect(maxRelDiff(logits, full.slice(at, at + V))).toBeLessThanOrEqual(1e-10);
          expect(out.tokens[r]![t]).toBe(logits.indexOf(Math.max(...logits)));
        }));
        for (const m of peft.methods()) m.params.dispose();
      }), { numRuns: 15, seed: 11 });
  });

  it('training lowers the loss and moves only the infix: every BART weight stays bit-identical', () => {
    const fresh = randomBart(config, 12);
    const before = new Map([...fresh.params].map(([n, t]) => [n, Float64Array.from(t.dataSync())]));
    const method = infixTuning(bartBase(fresh, 'decoder'), { numVirtualTokens: 3, projection: { hidden: 8 }, seed: 2 });
    const peft = new BartPeftModel(fresh, { decoder: [method] });
    const opt = new AdamW(peft.trainable(), { lr: 3e-2, weightDecay: 0 });
    const b = batchOf([[0, 5, 9, 4, 2], [0, 7, 3, 2]], [[6, 11, 2], [8, 3, 2]]);
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      losses.push(tidy(() => { const l = peft.forward(b).loss!; backward(l); return l.dataSync()[0]!; }));
      opt.step();
      opt.zeroGrad();
    }
    expect(losses[29]).toBeLessThan(0.9 * losses[0]!);
    for (const [n, t] of fresh.params) {
      expect(Buffer.from(Float64Array.from(t.dataSync()).buffer).equals(Buffer.from(before.get(n)!.buffer)), n).toBe(true);
      expect(t.grad, n).toBeNull();
    }
    opt.dispose();
    fresh.dispose();
  });

  it('the registry builds it on the decoder (its counts follow from P, h and the decoder depth); what it refuses, in one line', async () => {
    const settings = { virtualTokens: 3, hidden: 5, seed: 1 };
    const built = await buildMethod('infix', decoder, settings);
    expect(built.params.count()).toBe(3 * D + (D * 5 + 5) + (5 * L * D + L * D));
    expect((await buildMethod('infix', decoder, { ...settings, hidden: 0 })).params.count()).toBe(3 * L * D);
    expect(() => infixTuning({ ...decoder, family: 'bert' }, { numVirtualTokens: 2 })).toThrow(/^infix tuning: GPT-2 and BART only \(a bert model has no per-layer hidden hook\)$/);
    const onEncoder = infixTuning(bartBase(model, 'encoder'), { numVirtualTokens: 2, projection: null });
    expect(() => new BartPeftModel(model, { encoder: [onEncoder] })).toThrow(/^bart: infix rewrites decoder layers \(its slots are decoder positions\); it cannot sit in the encoder stack$/);
    expect(() => new BartPeftModel(model, { cross: [built] })).toThrow(/cannot sit in the cross stack/);
    // an infix composes with a decoder prefix (different hooks), and with no decoder input it says what is missing
    const both = new BartPeftModel(model, { decoder: [built, prefixTuning(decoder, { numVirtualTokens: 2, projection: null })] });
    expect(both.decoderSlots).toBe(3);
    expect(() => both.forward({ ids: i32([[0, 4, 2]]) })).toThrow(/give decoderIds or labels/);
  });
});
