/**
 * One input check for both models and both backends, before any kernel runs: ids outside the vocabulary,
 * positions past the position table (explicit positionIds, virtual tokens and KV prefixes included) and segment
 * ids outside type_vocab_size are a ModelInputError with the same one-line text on the CPU and on WebGPU (whose
 * embedding kernel would otherwise read zeros). Generation that runs into n_positions keeps what it made.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Bert } from '../src/models/bert.js';
import { ModelInputError } from '../src/models/common.js';
import { generate } from '../src/models/generate.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel, generateWith } from '../src/peft/peft-model.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import { acquireGpu } from './helpers/gpu.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());
const backends: Backend[] = gpu ? [cpu, gpu] : [cpu];
const gptConfig = parseGpt2Config({ vocab_size: 20, n_positions: 8, n_embd: 8, n_head: 2, n_layer: 1, eos_token_id: 19, bos_token_id: 19 }, 'tiny');
const bertConfig = parseBertConfig({ vocab_size: 20, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8,
  max_position_embeddings: 8, type_vocab_size: 2 }, 'tiny');
const i32 = (rows: number[][], backend: Backend) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32', backend });

/** The error a call throws, and how many kernels ran before it. */
function failure(backend: Backend, call: () => unknown): { message: string; launches: number } {
  const before = [...backend.stats.launches.values()].reduce((a, b) => a + b, 0);
  try { call(); } catch (e) {
    expect(e).toBeInstanceOf(ModelInputError);
    return { message: (e as Error).message, launches: [...backend.stats.launches.values()].reduce((a, b) => a + b, 0) - before };
  }
  throw new Error('expected a ModelInputError');
}

describe('model input is checked once, the same on every backend', () => {
  const cases: [string, (b: Backend) => () => unknown, RegExp][] = [
    ['a GPT-2 id ≥ vocab_size', (b) => { const m = Gpt2.init(gptConfig, { backend: b }); return () => m.forward({ ids: i32([[1, 2, 20]], b) }); },
      /^gpt2: ids: token 20 at \[0, 2\] is outside the vocabulary \[0, 20\) \(vocab_size\)$/],
    ['a negative BERT id', (b) => { const m = Bert.init(bertConfig, { backend: b }); return () => m.forward({ ids: i32([[1, -3]], b) }); },
      /^bert: ids: token -3 at \[0, 1\] is outside the vocabulary/],
    ['explicit GPT-2 positionIds past n_positions', (b) => { const m = Gpt2.init(gptConfig, { backend: b });
      return () => m.forward({ ids: i32([[1, 2]], b), positionIds: i32([[7, 8]], b) }); },
    /^gpt2: positions: positionIds \[0, 1\] = 8 reaches position 8, past n_positions 8/],
    ['an input longer than n_positions', (b) => { const m = Gpt2.init(gptConfig, { backend: b }); return () => m.forward({ ids: i32([[1, 2, 3, 4, 5, 6, 7, 8, 9]], b) }); },
      /^gpt2: positions: an input of 9 tokens reaches position 8, past n_positions 8/],
    ['BERT token type ids ≥ type_vocab_size', (b) => { const m = Bert.init(bertConfig, { backend: b });
      return () => m.forward({ ids: i32([[1, 2]], b), tokenTypeIds: i32([[0, 2]], b) }); },
    /^bert: tokenTypeIds: 2 at \[0, 1\] is outside \[0, 2\) \(type_vocab_size\)$/],
  ];
  for (const [name, make, message] of cases) {
    it(`${name}: one message on ${backends.map((b) => b.name).join(' and ')}, no kernel run`, () => {
      const got = backends.map((b) => failure(b, make(b)));
      for (const g of got) {
        expect(g.message).toMatch(message);
        expect(g.launches).toBe(0);
      }
      expect(new Set(got.map((g) => g.message)).size).toBe(1);
    });
  }

  it('virtual tokens count: a prompt of 3 on a 6-token input is past n_positions 8, said so (not "outside the vocabulary")', async () => {
    const model = Gpt2.init(gptConfig, { backend: cpu });
    const peft = new PeftModel(model, [await promptTuning(baseOf(model), { numVirtualTokens: 3 })]);
    expect(() => peft.forward({ ids: i32([[1, 2, 3, 4, 5, 6]], cpu) })).toThrow(/reaches position 8, past n_positions 8 .*virtual tokens count/);
    expect(() => peft.forward({ ids: i32([[1, 2, 3, 4, 5]], cpu) })).not.toThrow();
  });
});

describe('generation that reaches n_positions', () => {
  it('keeps what it produced and says why it stopped', async () => {
    const model = Gpt2.init(gptConfig, { backend: cpu, seed: 3 });
    const out = await generate(model, [[1, 2, 3]], { maxNewTokens: 20 });
    expect(out.tokens[0]).toHaveLength(6); // the logits at positions 2…7 each give one
    expect(out.stopped).toMatch(/past n_positions 8/);
    const peft = new PeftModel(model, [await promptTuning(baseOf(model), { numVirtualTokens: 2 })]);
    const withPrompt = await generateWith(peft, [[1, 2, 3]], { maxNewTokens: 20 });
    expect(withPrompt.tokens[0]).toHaveLength(4); // 2 virtual + 3 prompt tokens: positions 4…7
    expect(withPrompt.stopped).toMatch(/past n_positions 8/);
  });
});
