/**
 * BART and its three-stack prefix on the WebGPU backend compute what they compute on the CPU backend: the same
 * checkpoint and inputs, f32 on both (tolerance as in model-gpu.test.ts: 256 · 2^-23 relative to max(1, |x|)), and
 * the prefix and decoder-infix gradients within the f32 parity bound of gradcheck.ts. With CI=true a missing adapter fails.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidyAsync } from '../src/autograd/tensor.js';
import { parseBartConfig } from '../src/io/bart-config.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import { Bart } from '../src/models/bart.js';
import { infixTuning } from '../src/peft/infix-tuning.js';
import { BartPeftModel, bartBase, bartPrefixTuning, generateWithBart } from '../src/peft/seq2seq.js';
import { acquireGpu } from './helpers/gpu.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());

const TOL = 256 * 2 ** -23;
const config = parseBartConfig({
  model_type: 'bart', vocab_size: 17, d_model: 8, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2,
  decoder_attention_heads: 2, encoder_ffn_dim: 12, decoder_ffn_dim: 12, max_position_embeddings: 24,
});
const ids = [[0, 5, 9, 4, 2], [0, 7, 3, 2, 1]];
const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
const labels = [[0, 6, 11, 2], [0, 8, 3, -100]];
const on = (backend: Backend) => ({
  ids: tensor(ids.flat(), [2, 5], { dtype: 'i32', backend }),
  attentionMask: tensor(mask.flat(), [2, 5], { dtype: 'f32', backend }),
  labels: tensor(labels.flat(), [2, 4], { dtype: 'i32', backend }),
});

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = TOL): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

async function pair(): Promise<[Bart, Bart]> {
  const onCpu = Bart.init(config, { seed: 3, backend: cpu });
  const rng = new Rng(30);
  for (const [name, t] of onCpu.params) {
    const gain = /layer_?norm[^.]*\.weight$/.test(name) ? 1 : 0;
    onCpu.params.assign(name, Array.from({ length: t.size }, () => gain + 0.4 * rng.normal()));
  }
  return [onCpu, Bart.load(config, await onCpu.save(), { backend: gpu! })];
}

describe.skipIf(!gpu)('BART on WebGPU equals the CPU backend', () => {
  it('logits and loss of a padded batch, and cached greedy generation under a three-stack prefix', async () => {
    const [onCpu, onGpu] = await pair();
    const [a, b] = noGrad(() => [onCpu.forward(on(cpu)), onGpu.forward(on(gpu!))]);
    expectClose(await b.logits.data(), await a.logits.data());
    expectClose(await b.loss!.data(), await a.loss!.data());
    const prefixCpu = new BartPeftModel(onCpu, bartPrefixTuning(onCpu, { numVirtualTokens: 2, projection: null, seed: 5 }));
    const prefixGpu = new BartPeftModel(onGpu, bartPrefixTuning(onGpu, { numVirtualTokens: 2, projection: null, seed: 5 }));
    const sources = [[0, 5, 9, 2], [0, 7, 2]];
    const [gc, gg] = [await generateWithBart(prefixCpu, sources, { maxNewTokens: 4 }), await generateWithBart(prefixGpu, sources, { maxNewTokens: 4 })];
    expect(gg.tokens).toEqual(gc.tokens);
    onCpu.dispose();
    onGpu.dispose();
  });

  it('gradients of the reparameterised prefixes of every stack', async () => {
    const [onCpu, onGpu] = await pair();
    const grads = async (model: Bart, backend: Backend) => {
      const stacks = bartPrefixTuning(model, { numVirtualTokens: 2, projection: { hidden: 6 }, seed: 7 });
      const peft = new BartPeftModel(model, stacks);
      await tidyAsync(async () => backward(peft.forward(on(backend)).loss!));
      return Promise.all(peft.trainable().map((t) => t.grad!.data()));
    };
    const [gc, gg] = [await grads(onCpu, cpu), await grads(onGpu, gpu!)];
    expect(gg.length).toBe(gc.length);
    gc.forEach((g, i) => expectClose(gg[i], g));
    onCpu.dispose();
    onGpu.dispose();
  });

  it('a decoder infix (MLP): logits, loss and the gradient of every infix tensor, and cached greedy generation', async () => {
    const [onCpu, onGpu] = await pair();
    const run = async (model: Bart, backend: Backend) => {
      const method = infixTuning(bartBase(model, 'decoder'), { numVirtualTokens: 2, projection: { hidden: 6 }, seed: 9 });
      const peft = new BartPeftModel(model, { decoder: [method] });
      const pass = await tidyAsync(async () => {
        const out = peft.forward(on(backend));
        backward(out.loss!);
        return { logits: await out.logits.data(), loss: await out.loss!.data(), grads: await Promise.all(method.params.trainable().map((t) => t.grad!.data())) };
      });
      return { ...pass, tokens: (await generateWithBart(peft, [[0, 5, 9, 2], [0, 7, 2]], { maxNewTokens: 4, stopTokens: [] })).tokens };
    };
    const [c, g] = [await run(onCpu, cpu), await run(onGpu, gpu!)];
    expectClose(g.logits, c.logits);
    expectClose(g.loss, c.loss);
    expect(g.grads.length).toBe(5);
    c.grads.forEach((grad, i) => expectClose(g.grads[i]!, grad));
    expect(g.tokens).toEqual(c.tokens);
    onCpu.dispose();
    onGpu.dispose();
  });
});
