/**
 * GPT-2 and BERT on the WebGPU backend compute what they compute on the CPU backend: the same checkpoint, the
 * same inputs, f32 on both. Tolerance: each logit is a chain of at most a few hundred f32 roundings on these
 * tiny models, relative to max(1, |x|): 256 · 2^-23 ≈ 3e-5 (the f32 parity tolerance of gradcheck.ts).
 *
 * Needs a WebGPU adapter (lavapipe in CI). With CI=true and no adapter the file fails; locally it skips.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { GpuUnavailableError, WebGpuBackend } from '../src/kernels/wgsl/index.js';
import { Bert, type BertHead } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import type { Params } from '../src/models/params.js';
import { Rng } from '../src/kernels/rng.js';

let gpu: WebGpuBackend | null = null;
try {
  gpu = await WebGpuBackend.create({ backend: process.env.WEBPEFT_DAWN_BACKEND || undefined });
} catch (e) {
  if (!(e instanceof GpuUnavailableError) || process.env.CI === 'true') throw e;
  console.warn(`skipping the model GPU tests: ${e.message}`);
}
afterAll(() => gpu?.destroy());

const TOL = 256 * 2 ** -23;
const ids = [[3, 1, 4, 1, 5], [0, 0, 2, 6, 5]];
const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
const on = (backend: Backend) => ({
  ids: tensor(ids.flat(), [2, 5], { dtype: 'i32', backend }),
  attentionMask: tensor(mask.flat(), [2, 5], { dtype: 'i32', backend }),
});

/** Weights of a trained model's size (~N(0, 0.4²), gains ~1), not HF's tiny init, so differences would show. */
function randomize(params: Params, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, t] of params) {
    const gain = /(ln_\d|ln_f|LayerNorm)\.weight$/.test(name) ? 1 : 0;
    params.assign(name, Array.from({ length: t.size }, () => gain + 0.4 * rng.normal()));
  }
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(TOL);
}

describe.skipIf(!gpu)('models on WebGPU equal the CPU backend', () => {
  it('GPT-2: logits of a left-padded batch, and cached greedy generation', async () => {
    const config = parseGpt2Config({ vocab_size: 13, n_positions: 24, n_embd: 8, n_head: 2, n_layer: 2, bos_token_id: 0, eos_token_id: 0 });
    const onCpu = Gpt2.init(config, { seed: 3, backend: cpu });
    randomize(onCpu.params, 3);
    const onGpu = Gpt2.load(config, await onCpu.save(), { backend: gpu! });
    const [a, b] = noGrad(() => [onCpu.forward(on(cpu)).logits, onGpu.forward(on(gpu!)).logits]);
    expectClose(await b.data(), await a.data());
    const prompts = [[1, 2, 3], [4]];
    expect((await onGpu.generate(prompts, { maxNewTokens: 4 })).tokens).toEqual((await onCpu.generate(prompts, { maxNewTokens: 4 })).tokens);
  });

  for (const head of ['base', 'masked-lm', 'sequence-classification', 'token-classification'] as BertHead[]) {
    it(`BERT ${head}: hidden states and logits of a padded batch`, async () => {
      const config = parseBertConfig({
        vocab_size: 13, hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: 16, max_position_embeddings: 16, num_labels: 3,
      });
      const onCpu = Bert.init(config, { head, seed: 4, backend: cpu });
      randomize(onCpu.params, 4);
      const onGpu = Bert.load(config, await onCpu.save(), { head, backend: gpu!, strict: true });
      const [a, b] = noGrad(() => [onCpu.forward(on(cpu)), onGpu.forward(on(gpu!))]);
      expectClose(await b.hidden.data(), await a.hidden.data());
      if (a.logits) expectClose(await b.logits!.data(), await a.logits.data());
    });
  }
});
