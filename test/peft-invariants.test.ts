/**
 * The research-grade statements behind the PEFT transforms (MISSION.md, "Invariants"), each checked on a tiny
 * GPT-2 in float64 on the CPU, over random prompts and lengths where a property exists.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { narrow } from '../src/autograd/functions.js';
import { noGrad } from '../src/autograd/op.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseGpt2Config } from '../src/io/config.js';
import { Rng } from '../src/kernels/rng.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { kvOfText, prefixTuning } from '../src/peft/prefix-tuning.js';
import { pTuning } from '../src/peft/p-tuning.js';
import type { PeftMethod } from '../src/peft/method.js';

const config = parseGpt2Config({ vocab_size: 17, n_positions: 40, n_embd: 8, n_head: 2, n_layer: 2 }, 'tiny-gpt2');

function tinyGpt2(seed = 3): Gpt2 {
  const model = Gpt2.init(config, { seed, dtype: 'f64' });
  const rng = new Rng(seed + 1);
  for (const [name, t] of model.params) {
    const gain = /ln_\d\.weight|ln_f\.weight/.test(name) ? 1 : 0;
    model.params.assign(name, Array.from({ length: t.size }, () => gain + 0.3 * rng.normal()));
  }
  return model;
}

const ids = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });
const logitsOf = (t: Tensor) => Array.from(t.dataSync());

function baseLogits(model: Gpt2, rows: number[][]): number[] {
  return noGrad(() => tidy(() => logitsOf(model.forward({ ids: ids(rows) }).logits)));
}

function peftLogits(model: Gpt2, methods: PeftMethod[] | PeftMethod[][], rows: number[][], adapterIds?: Int32Array): Tensor {
  return noGrad(() => new PeftModel(model, methods).forward({ ids: ids(rows), adapterIds }).logits);
}

/** The last `n` positions of (B, S, V) logits as a flat array. */
function lastPositions(logits: Tensor, n: number): number[] {
  const S = logits.shape[1];
  return noGrad(() => logitsOf(narrow(logits, 1, S - n, n)));
}

function expectClose(a: number[], b: number[], tol = 1e-10): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

const tokens = (min: number, max: number) => fc.array(fc.integer({ min: 0, max: config.vocabSize - 1 }), { minLength: min, maxLength: max });

describe('PEFT invariants on GPT-2 (f64)', () => {
  const model = tinyGpt2();
  const base = baseOf(model);

  it('a zero-length prompt and a zero-length prefix leave the logits unchanged', async () => {
    const x = [[1, 5, 2, 9]];
    const prompt = await promptTuning(base, { numVirtualTokens: 0 });
    const prefix = prefixTuning(base, { numVirtualTokens: 0, projection: null });
    expectClose(logitsOf(peftLogits(model, [prompt], x)), baseLogits(model, x), 0);
    expectClose(logitsOf(peftLogits(model, [prefix], x)), baseLogits(model, x), 0);
  });

  it('prompt = embeddings of text T ≡ the base model on T + x (positions shifted)', async () => {
    await fc.assert(fc.asyncProperty(tokens(1, 6), tokens(1, 6), async (text, x) => {
      const prompt = await promptTuning(base, { numVirtualTokens: text.length, init: { kind: 'text', ids: text } });
      const withPrompt = peftLogits(model, [prompt], [x]);
      expectClose(lastPositions(withPrompt, x.length), lastPositions(noGrad(() => model.forward({ ids: ids([[...text, ...x]]) }).logits), x.length));
    }), { numRuns: 15 });
  });

  it("prefix = the base model's own K/V of text T ≡ the base model on T + x", async () => {
    await fc.assert(fc.asyncProperty(tokens(1, 6), tokens(1, 6), async (text, x) => {
      const kv = await kvOfText(base, (hooks) => model.forward({ ids: ids([text]), hooks }));
      const prefix = prefixTuning(base, { numVirtualTokens: text.length, projection: null, initial: kv });
      const withPrefix = peftLogits(model, [prefix], [x]);
      expectClose(logitsOf(withPrefix), lastPositions(noGrad(() => model.forward({ ids: ids([[...text, ...x]]) }).logits), x.length));
    }), { numRuns: 15 });
  });

  it('a collapsed reparameterisation equals the encoder it replaced (prefix MLP, P-tuning LSTM and MLP)', async () => {
    const x = [[4, 2, 7], [1, 1, 3]];
    const methods: { collapse(): PeftMethod }[] = [
      prefixTuning(base, { numVirtualTokens: 3, projection: { hidden: 5 }, seed: 1 }),
      prefixTuning(base, { numVirtualTokens: 2, projection: { hidden: 4 }, embeddingOnly: true, seed: 2 }),
      pTuning(base, { numVirtualTokens: 3, encoder: 'lstm', encoderHidden: 4, seed: 3 }),
      pTuning(base, { numVirtualTokens: 2, encoder: 'mlp', encoderHidden: 4, seed: 4 }),
    ];
    for (const m of methods) {
      expectClose(logitsOf(peftLogits(model, [m.collapse()], x)), logitsOf(peftLogits(model, [m as unknown as PeftMethod], x)), 1e-12);
    }
  });

  it('a mixed-adapter batch equals per-row runs (prompts and prefixes)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }), tokens(2, 4), fc.integer({ min: 0, max: 100 }),
      async (choice, x, seed) => {
        const prompts = await Promise.all([0, 1, 2].map((k) => promptTuning(base, { numVirtualTokens: 2, init: { kind: 'random' }, seed: seed + k })));
        const prefixes = [0, 1, 2].map((k) => prefixTuning(base, { numVirtualTokens: 3, projection: null, seed: seed + 10 + k }));
        const rows = choice.map((c) => x.map((t) => (t + c) % config.vocabSize));
        for (const kind of [prompts, prefixes]) {
          const mixed = logitsOf(peftLogits(model, kind.map((m) => [m]), rows, Int32Array.from(choice)));
          const perRow = rows.flatMap((r, b) => logitsOf(peftLogits(model, [kind[choice[b]]], [r])));
          expectClose(mixed, perRow, 1e-12);
        }
      }), { numRuns: 10 });
  });

  it('methods compose: prompt = embed(A) with prefix = K/V of B ≡ the base model on B + A + x', async () => {
    await fc.assert(fc.asyncProperty(tokens(1, 4), tokens(1, 4), tokens(1, 4), async (a, b, x) => {
      const prompt = await promptTuning(base, { numVirtualTokens: a.length, init: { kind: 'text', ids: a } });
      const kv = await kvOfText(base, (hooks) => model.forward({ ids: ids([b]), hooks }));
      const prefix = prefixTuning(base, { numVirtualTokens: b.length, projection: null, initial: kv });
      const both = peftLogits(model, [prompt, prefix], [x]);
      expectClose(lastPositions(both, x.length), lastPositions(noGrad(() => model.forward({ ids: ids([[...b, ...a, ...x]]) }).logits), x.length));
    }), { numRuns: 10 });
  });
});

describe('generation with adapters', () => {
  const model = tinyGpt2(11);
  const base = baseOf(model);

  it('cached generation with a prompt, a prefix, or both equals full recomputation', async () => {
    const { generateWith } = await import('../src/peft/peft-model.js');
    await fc.assert(fc.asyncProperty(fc.array(tokens(1, 5), { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 4 }),
      async (prompts, which, n) => {
        const methods: PeftMethod[] = [];
        if (which !== 1) methods.push(await promptTuning(base, { numVirtualTokens: 2, seed: 7 }));
        if (which !== 0) methods.push(prefixTuning(base, { numVirtualTokens: 3, projection: null, seed: 8 }));
        const peft = new PeftModel(model, methods);
        const out = await generateWith(peft, prompts, { maxNewTokens: n, returnLogits: true });
        // recompute: each row alone, full forward over prompt + generated tokens, logits at the last position
        for (let b = 0; b < prompts.length; b++) {
          const seq = [...prompts[b], ...out.tokens[b]];
          for (let step = 0; step < out.tokens[b].length; step++) {
            const upto = seq.slice(0, prompts[b].length + step);
            const full = lastPositions(peftLogits(model, methods, [upto]), 1);
            expectClose(Array.from(out.stepLogits![step][b]), full, 1e-9);
          }
        }
      }), { numRuns: 12 });
  });
});
