/**
 * GPT-2 computes what HF's GPT2LMHeadModel computes: checked against an independent plain-loop implementation of
 * HF's formulas, by whole-model gradient checks, on checkpoints written with HF's key names and shapes, and by
 * cached generation against full recomputation.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { concat, expand } from '../src/autograd/functions.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { type Gpt2Config, parseGpt2Config } from '../src/io/config.js';
import { parseSafetensors, serializeSafetensors, type TensorData } from '../src/io/safetensors.js';
import { Rng } from '../src/kernels/rng.js';
import { CheckpointError, checkpointToSafetensors } from '../src/models/checkpoint.js';
import { generate, leftPad, positionIdsFromMask } from '../src/models/generate.js';
import { Gpt2, gpt2ParamSpecs } from '../src/models/gpt2.js';
import { KvCache } from '../src/models/cache.js';
import { presetConfig } from '../src/io/config-presets.js';
import type { ModelHooks } from '../src/models/hooks.js';
import type { Params } from '../src/models/params.js';

const config = parseGpt2Config(
  { vocab_size: 13, n_positions: 24, n_embd: 8, n_head: 2, n_layer: 2, bos_token_id: 0, eos_token_id: 0 }, 'tiny-gpt2');
const f64 = { dtype: 'f64' as const };
const ids32 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });
const mask64 = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], f64);

/** Every parameter moved far from HF's init (gains around 1, everything else ~N(0, 0.4²)), so no gradient is trivial. */
function randomize(params: Params, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, t] of params) {
    const gain = /(ln_\d|ln_f)\.weight$/.test(name) ? 1 : 0;
    params.assign(name, Array.from({ length: t.size }, () => gain + 0.4 * rng.normal()));
  }
}

function tinyModel(seed = 1, c: Gpt2Config = config): Gpt2 {
  const model = Gpt2.init(c, { seed, ...f64 });
  randomize(model.params, seed + 100);
  return model;
}

// ---- an independent implementation of HF's GPT-2 in plain loops (B, T, D as nested arrays)

type Weights = (name: string) => ArrayLike<number>;

function layerNorm(x: number[], g: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}

/** HF Conv1D: y = x W + b with W stored [in, out]. */
function conv1d(x: number[], W: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out = Array.from(b);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < out.length; j++) out[j] += x[i] * W[i * out.length + j];
  return out;
}

const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Logits (B, T, V) of HF's GPT2LMHeadModel: pre-LN blocks, causal + padding mask, tied head. */
function referenceGpt2(w: Weights, c: Gpt2Config, ids: number[][], mask: number[][], positions: number[][]): number[][][] {
  const { nEmbd: D, nHead: H, vocabSize: V } = c;
  const Dh = D / H;
  const eps = c.layerNormEpsilon;
  return ids.map((row, b) => {
    let h = row.map((id, t) => Array.from({ length: D }, (_, d) => w('wte.weight')[id * D + d] + w('wpe.weight')[positions[b][t] * D + d]));
    for (let l = 0; l < c.nLayer; l++) {
      const p = (n: string) => w(`h.${l}.${n}`);
      const qkv = h.map((x) => conv1d(layerNorm(x, p('ln_1.weight'), p('ln_1.bias'), eps), p('attn.c_attn.weight'), p('attn.c_attn.bias')));
      const context = h.map((_, i) => {
        const out = new Array<number>(D).fill(0);
        for (let head = 0; head < H; head++) {
          const visible = qkv.map((_, j) => j).filter((j) => j <= i && mask[b][j] === 1);
          const scores = visible.map((j) => {
            let s = 0;
            for (let d = 0; d < Dh; d++) s += qkv[i][head * Dh + d] * qkv[j][D + head * Dh + d];
            return s / Math.sqrt(Dh);
          });
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const total = e.reduce((s, v) => s + v, 0);
          visible.forEach((j, k) => {
            for (let d = 0; d < Dh; d++) out[head * Dh + d] += (e[k] / total) * qkv[j][2 * D + head * Dh + d];
          });
        }
        return out;
      });
      h = h.map((x, t) => {
        const attn = conv1d(context[t], p('attn.c_proj.weight'), p('attn.c_proj.bias'));
        const a = x.map((v, d) => v + attn[d]);
        const inner = conv1d(layerNorm(a, p('ln_2.weight'), p('ln_2.bias'), eps), p('mlp.c_fc.weight'), p('mlp.c_fc.bias')).map(geluNew);
        const ff = conv1d(inner, p('mlp.c_proj.weight'), p('mlp.c_proj.bias'));
        return a.map((v, d) => v + ff[d]);
      });
    }
    return h.map((x) => {
      const y = layerNorm(x, w('ln_f.weight'), w('ln_f.bias'), eps);
      return Array.from({ length: V }, (_, v) => y.reduce((s, yd, d) => s + yd * w('wte.weight')[v * D + d], 0));
    });
  });
}

/** HF's loss: mean over non-ignored (t, t+1) pairs of −log softmax(logits[t])[labels[t+1]]. */
function referenceLoss(logits: number[][][], labels: number[][]): number {
  let total = 0;
  let count = 0;
  logits.forEach((rows, b) => rows.slice(0, -1).forEach((row, t) => {
    const target = labels[b][t + 1];
    if (target === -100) return;
    const max = Math.max(...row);
    total += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[target];
    count++;
  }));
  return total / count;
}

const weightsOf = (params: Params): Weights => (name) => params.tensor(name).dataSync();

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** The engine's logits (B, T, V) as nested arrays. */
function logitsOf(t: Tensor): number[][][] {
  const [B, T, V] = t.shape;
  const data = t.dataSync();
  return Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, s) => Array.from(data.subarray((b * T + s) * V, (b * T + s + 1) * V))));
}

/** Rows at real (unpadded) positions only: HF leaves padded queries' outputs unspecified. */
const realRows = (logits: number[][][], mask: number[][]) => logits.flatMap((rows, b) => rows.filter((_, t) => mask[b][t] === 1)).flat();

const batch = { ids: [[3, 1, 4, 1, 5, 9], [0, 0, 2, 6, 5, 3]], mask: [[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]] };

describe('GPT-2 computes what HF GPT2LMHeadModel computes', () => {
  it('logits equal a plain-loop implementation of HF\'s formulas on a left-padded batch (f64, 1e-10)', () => {
    const model = tinyModel();
    const positions = positionIdsFromMask(batch.mask);
    const out = model.forward({ ids: ids32(batch.ids), attentionMask: mask64(batch.mask), positionIds: ids32(positions) });
    const expected = referenceGpt2(weightsOf(model.params), config, batch.ids, batch.mask, positions);
    expectClose(realRows(logitsOf(out.logits), batch.mask), realRows(expected, batch.mask), 1e-10);
  });

  it('default positions are 0..T−1 and the LM loss is CE(logits[:, :-1], labels[:, 1:]) ignoring −100', () => {
    const model = tinyModel(2);
    const ids = [[1, 2, 3, 4], [5, 6, 7, 8]];
    const labels = [[1, 2, -100, 4], [5, -100, 7, 8]];
    const out = model.forward({ ids: ids32(ids), labels: ids32(labels) });
    const expected = referenceGpt2(weightsOf(model.params), config, ids, [[1, 1, 1, 1], [1, 1, 1, 1]], [[0, 1, 2, 3], [0, 1, 2, 3]]);
    expectClose(out.logits.dataSync(), expected.flat(2), 1e-10);
    expectClose(out.loss!.dataSync(), [referenceLoss(expected, labels)], 1e-12);
  });
});

describe('GPT-2 parameters', () => {
  it('gpt2 has 124,439,808 parameters and gpt2-medium 354,823,168, as HF counts them (tied head counted once)', () => {
    const count = (name: string) => gpt2ParamSpecs(presetConfig(name) as Gpt2Config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    expect(count('gpt2')).toBe(124_439_808);
    expect(count('gpt2-medium')).toBe(354_823_168);
  });

  it('are named with HF keys and can be frozen and counted by predicate', () => {
    const model = Gpt2.init(config);
    expect(model.params.tensor('h.1.attn.c_attn.weight').name).toBe('h.1.attn.c_attn.weight');
    model.params.freeze().unfreeze((n) => n.endsWith('.bias'));
    expect(model.params.countTrainable()).toBe(model.params.count((n) => n.endsWith('.bias')));
    expect(model.params.trainable().every((t) => t.name!.endsWith('.bias'))).toBe(true);
  });
});

describe('GPT-2 gradients', () => {
  it('the LM-loss gradient of every parameter tensor matches central differences (f64, dropout on, padded batch)', () => {
    const c = parseGpt2Config({ ...configJson(config), resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 }, 'tiny-gpt2-dropout');
    const model = tinyModel(3, c);
    const ids = [[3, 1, 4, 1, 5], [2, 7, 1, 8, 0]];
    const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
    const labels = [[3, 1, 4, 1, 5], [2, 7, 1, 8, -100]];
    const loss = () => model.forward({ ids: ids32(ids), attentionMask: mask64(mask), labels: ids32(labels), train: true, seed: 11 }).loss!;
    backward(loss());
    const rng = new Rng(5);
    const h = 1e-6;
    let worst = 0;
    for (const [name, t] of model.params.list()) {
      const analytic = t.grad!.dataSync();
      for (let k = 0; k < 2; k++) {
        const i = rng.int(t.size);
        const values = Float64Array.from(model.params.tensor(name).dataSync());
        const at = (v: number) => {
          values[i] = v;
          model.params.assign(name, values);
          return noGrad(() => tidy(() => loss().dataSync()[0]));
        };
        const x = values[i];
        const numeric = (at(x + h) - at(x - h)) / (2 * h);
        at(x);
        worst = Math.max(worst, Math.abs(analytic[i] - numeric) / Math.max(1, Math.abs(numeric)));
      }
    }
    expect(model.params.size).toBe(2 + 12 * config.nLayer + 2);
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});

/** The config.json object of a parsed config (only the fields the tiny configs use). */
function configJson(c: Gpt2Config): Record<string, unknown> {
  return { vocab_size: c.vocabSize, n_positions: c.nPositions, n_embd: c.nEmbd, n_head: c.nHead, n_layer: c.nLayer, bos_token_id: 0, eos_token_id: 0 };
}

// ---- checkpoints with HF's exact key names and shapes (as GPT2Model.state_dict() lists them)

function hfGpt2Keys(c: Gpt2Config): [string, number[]][] {
  const { nEmbd: D, nPositions: P, vocabSize: V } = c;
  const keys: [string, number[]][] = [['wte.weight', [V, D]], ['wpe.weight', [P, D]]];
  for (let l = 0; l < c.nLayer; l++) {
    keys.push(
      [`h.${l}.ln_1.weight`, [D]], [`h.${l}.ln_1.bias`, [D]],
      [`h.${l}.attn.bias`, [1, 1, P, P]], [`h.${l}.attn.masked_bias`, []],
      [`h.${l}.attn.c_attn.weight`, [D, 3 * D]], [`h.${l}.attn.c_attn.bias`, [3 * D]],
      [`h.${l}.attn.c_proj.weight`, [D, D]], [`h.${l}.attn.c_proj.bias`, [D]],
      [`h.${l}.ln_2.weight`, [D]], [`h.${l}.ln_2.bias`, [D]],
      [`h.${l}.mlp.c_fc.weight`, [D, 4 * D]], [`h.${l}.mlp.c_fc.bias`, [4 * D]],
      [`h.${l}.mlp.c_proj.weight`, [4 * D, D]], [`h.${l}.mlp.c_proj.bias`, [D]],
    );
  }
  keys.push(['ln_f.weight', [D]], ['ln_f.bias', [D]]);
  return keys;
}

/** An HF checkpoint with random F32 weights; `lmHead`: GPT2LMHeadModel layout (transformer. prefix + lm_head.weight). */
function hfGpt2Checkpoint(c: Gpt2Config, seed: number, lmHead: boolean): Map<string, { shape: number[]; data: TensorData }> {
  const rng = new Rng(seed);
  const out = new Map<string, { shape: number[]; data: TensorData }>();
  for (const [key, shape] of hfGpt2Keys(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: TensorData;
    if (/\.attn\.bias$/.test(key)) {
      const P = shape[3];
      data = Uint8Array.from({ length: n }, (_, k) => (k % P <= Math.floor(k / P) ? 1 : 0)); // HF's bool tril buffer
    } else if (key.endsWith('masked_bias')) {
      data = Float32Array.of(-1e4);
    } else {
      data = Float32Array.from({ length: n }, () => (/ln_\d\.weight|ln_f\.weight/.test(key) ? 1 : 0) + 0.4 * rng.normal());
    }
    out.set(lmHead ? `transformer.${key}` : key, { shape, data });
  }
  if (lmHead) out.set('lm_head.weight', out.get('transformer.wte.weight')!);
  return out;
}

describe('GPT-2 checkpoints', () => {
  const ids = [[1, 2, 3, 4, 5]];
  const referenceOn = (ckpt: Map<string, { shape: number[]; data: TensorData }>, prefix: string) =>
    referenceGpt2((name) => ckpt.get(prefix + name)!.data as Float32Array, config, ids, [[1, 1, 1, 1, 1]], [[0, 1, 2, 3, 4]]).flat(2);

  for (const lmHead of [true, false]) {
    it(`an HF ${lmHead ? 'GPT2LMHeadModel (transformer.-prefixed, tied lm_head.weight)' : 'GPT2Model (unprefixed)'} safetensors file loads and computes HF's logits`, () => {
      const ckpt = hfGpt2Checkpoint(config, 7, lmHead);
      const model = Gpt2.load(config, serializeSafetensors(ckpt), f64);
      const logits = model.forward({ ids: ids32(ids) }).logits.dataSync();
      expectClose(logits, referenceOn(ckpt, lmHead ? 'transformer.' : ''), 1e-10);
      expect(model.loadReport!.loaded.size).toBe(model.params.size);
      expect([...model.loadReport!.skipped.keys()].filter((k) => /\.attn\.bias$/.test(k))).toHaveLength(config.nLayer);
    });
  }

  it('save → safetensors → load → save is bit-exact, in GPT2LMHeadModel\'s layout', async () => {
    const model = Gpt2.init(config, { seed: 4 });
    const bytes = checkpointToSafetensors(await model.save());
    const names = [...parseSafetensors(bytes, 'saved').tensors.keys()];
    expect(names.every((k) => k.startsWith('transformer.'))).toBe(true);
    expect(names).toHaveLength(model.params.size);
    const again = checkpointToSafetensors(await Gpt2.load(config, bytes).save());
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a missing, mis-shaped or unexpected key is a one-line CheckpointError naming the key and shapes', () => {
    const cases: [string, (m: Map<string, { shape: number[]; data: TensorData }>) => void, RegExp][] = [
      ['missing', (m) => m.delete('h.1.mlp.c_fc.bias'), /missing h\.1\.mlp\.c_fc\.bias \(expected shape \[32\]\)/],
      ['mis-shaped', (m) => m.set('h.0.attn.c_attn.weight', { shape: [24, 8], data: new Float32Array(192) }),
        /h\.0\.attn\.c_attn\.weight has shape \[24, 8\], expected \[8, 24\]/],
      ['unexpected', (m) => m.set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) }), /unexpected key h\.2\.ln_1\.weight/],
    ];
    for (const [, edit, message] of cases) {
      const ckpt = hfGpt2Checkpoint(config, 8, false);
      edit(ckpt);
      const attempt = () => Gpt2.load(config, ckpt);
      expect(attempt).toThrow(CheckpointError);
      expect(attempt).toThrow(message);
      try { attempt(); } catch (e) { expect((e as Error).message).not.toContain('\n'); }
    }
  });
});

// ---- generation

/** A kv hook adding P fixed random key/value positions in front at every layer (prefix tuning's shape of rewrite). */
function prefixHook(c: Gpt2Config, P: number, seed: number): ModelHooks {
  const rng = new Rng(seed);
  const Dh = c.nEmbd / c.nHead;
  const make = () => tensor(Array.from({ length: c.nHead * P * Dh }, () => rng.normal()), [1, c.nHead, P, Dh], f64);
  const prefix = Array.from({ length: c.nLayer }, () => ({ keys: make(), values: make() }));
  return {
    kv(layer, kv) {
      const [B, H, , D] = kv.keys.shape;
      return {
        keys: concat([expand(prefix[layer].keys, [B, H, P, D]), kv.keys], 2),
        values: concat([expand(prefix[layer].values, [B, H, P, D]), kv.values], 2),
        attentionMask: concat([tensor(new Array<number>(B * P).fill(1), [B, P], f64), kv.attentionMask], 1),
      };
    },
    kvPrefixLength: () => P,
  };
}

/** Logits at the last position of a full forward (no cache) over padded rows. */
function fullLastLogits(model: Gpt2, ids: number[][], mask: number[][], hooks?: ModelHooks): number[][] {
  const positions = positionIdsFromMask(mask, hooks?.kvPrefixLength?.() ?? 0);
  return noGrad(() => tidy(() => {
    const logits = logitsOf(model.forward({ ids: ids32(ids), attentionMask: mask64(mask), positionIds: ids32(positions), hooks }).logits);
    return logits.map((rows) => rows[rows.length - 1]);
  }));
}

describe('GPT-2 generation', () => {
  const model = tinyModel(9);
  const prompt = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 5 });
  const sampling = fc.option(fc.record({
    temperature: fc.double({ min: 0.5, max: 2, noNaN: true }),
    topK: fc.integer({ min: 1, max: 13 }),
    topP: fc.double({ min: 0.3, max: 1, noNaN: true }),
    seed: fc.nat(),
  }), { nil: undefined });

  it('cached generation equals full recomputation: every step\'s logits (1e-9) and the greedy tokens, left-padded batches, with and without a kv prefix', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(prompt, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 }), sampling,
      async (prompts, steps, P, sample) => {
        const hooks = P > 0 ? prefixHook(config, P, P) : undefined;
        const result = await generate(model, prompts, { maxNewTokens: steps, returnLogits: true, hooks, padTokenId: 0, ...sample });
        const L = Math.max(...prompts.map((p) => p.length));
        result.stepLogits!.forEach((rows, s) => {
          const full = fullLastLogits(model, result.sequences.map((r) => r.slice(0, L + s)), result.attentionMask.map((r) => r.slice(0, L + s)), hooks);
          rows.forEach((row, b) => expectClose(row, full[b], 1e-9));
        });
        if (!sample) {
          // greedy decoding by full recomputation, one token at a time
          const { ids, mask } = leftPad(prompts, 0);
          for (let s = 0; s < steps; s++) {
            fullLastLogits(model, ids, mask, hooks).forEach((row, b) => { ids[b].push(row.indexOf(Math.max(...row))); mask[b].push(1); });
          }
          expect(result.sequences).toEqual(ids);
          // and each row of the batch is what that prompt alone generates
          for (const [b, p] of prompts.entries()) {
            expect((await generate(model, [p], { maxNewTokens: steps, hooks })).tokens[0]).toEqual(result.tokens[b]);
          }
        }
      }), { numRuns: 30, seed: 20240601 });
  });

  it('with a cache, HF\'s mask over past + new positions is accepted as well as the new positions\' mask', () => {
    const ids = [[0, 5, 6, 7], [1, 2, 3, 4]];
    const mask = [[0, 1, 1, 1], [1, 1, 1, 1]];
    const positions = positionIdsFromMask(mask);
    const full = fullLastLogits(model, ids, mask);
    for (const stepMask of [mask, mask.map((r) => r.slice(3))]) {
      const cache = new KvCache(config.nLayer);
      const cut = (rows: number[][], a: number, b: number) => rows.map((r) => r.slice(a, b));
      model.forward({ ids: ids32(cut(ids, 0, 3)), attentionMask: mask64(cut(mask, 0, 3)), positionIds: ids32(cut(positions, 0, 3)), cache });
      const last = model.forward({ ids: ids32(cut(ids, 3, 4)), attentionMask: mask64(stepMask), positionIds: ids32(cut(positions, 3, 4)), cache });
      expectClose(last.logits.dataSync(), full.flat(), 1e-12);
      expect(cache.length).toBe(4);
      cache.dispose();
    }
  });

  it('a stop token finishes its row, which is padded until the others finish', async () => {
    const free = await generate(model, [[1, 2], [3]], { maxNewTokens: 6 });
    const stop = free.tokens[0][1];
    const stopped = await generate(model, [[1, 2], [3]], { maxNewTokens: 6, stopTokens: [stop], padTokenId: 12 });
    expect(stopped.tokens[0]).toEqual(free.tokens[0].slice(0, 2));
    const L = 2;
    expect(stopped.sequences[0].slice(L + 2).every((t) => t === 12)).toBe(true);
  });

  it('sampling is reproducible from its seed, and top-k 1 is greedy', async () => {
    const opts = { maxNewTokens: 5, temperature: 1.5, topP: 0.9, seed: 3 };
    expect((await generate(model, [[4, 5]], opts)).tokens).toEqual((await generate(model, [[4, 5]], opts)).tokens);
    expect((await generate(model, [[4, 5]], { maxNewTokens: 5, topK: 1, seed: 1 })).tokens)
      .toEqual((await generate(model, [[4, 5]], { maxNewTokens: 5 })).tokens);
  });
});

describe('GPT-2 hooks', () => {
  it('an identity input hook and a kv hook adding a zero-length prefix leave logits unchanged', () => {
    const model = tinyModel(10);
    const input = { ids: ids32(batch.ids), attentionMask: mask64(batch.mask) };
    const plain = model.forward(input).logits.dataSync();
    const hooks: ModelHooks = { input: (x) => ({ ...x }), ...prefixHook(config, 0, 1) };
    expect(model.forward({ ...input, hooks }).logits.dataSync()).toEqual(plain);
  });

  it('the kv hook sees each layer once, in order, with (B, H, S, Dh) keys and a (B, S) mask', () => {
    const model = tinyModel(10);
    const seen: string[] = [];
    model.forward({
      ids: ids32(batch.ids),
      hooks: { kv: (layer, kv) => { seen.push(`${layer}:${kv.keys.shape}:${kv.values.shape}:${kv.attentionMask.shape}`); return kv; } },
    });
    expect(seen).toEqual(['0:2,2,6,4:2,2,6,4:2,6', '1:2,2,6,4:2,2,6,4:2,6']);
  });
});
