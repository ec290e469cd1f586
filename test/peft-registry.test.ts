/**
 * The method registry and the PEFT model's guarantees: one set of defaults for every command, compositions, and the
 * gradient mask that no caller can forget (BitFit's query third of GPT-2's fused q/k/v bias).
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { presetConfig } from '../src/io/config-presets.js';
import { Bert } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { countParams } from '../src/peft/counts.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod, createMethod, METHOD_NAMES, METHOD_SPECS, methodSpec, parseMethodList } from '../src/peft/registry.js';
import { trainLoop } from '../src/train/trainer.js';

const gptConfig = parseGpt2Config({ vocab_size: 17, n_positions: 40, n_embd: 8, n_head: 2, n_layer: 2 }, 'tiny-gpt2');
const bertConfig = parseBertConfig({ vocab_size: 19, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
  max_position_embeddings: 40, num_labels: 3 }, 'tiny-bert');
const ids = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });

describe('method registry', () => {
  it('lists every method once, with a colour and a learning rate each', () => {
    expect(METHOD_NAMES).toEqual(['full', 'frozen', 'bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2']);
    expect(new Set(METHOD_SPECS.map((s) => s.color)).size).toBe(METHOD_SPECS.length);
    for (const s of METHOD_SPECS) expect(s.lr).toBeGreaterThan(0);
    expect(methodSpec('prompt').peftType).toBe('PROMPT_TUNING');
    expect(methodSpec('ptuning-v2').peftType).toBe('PREFIX_TUNING');
    expect(methodSpec('bitfit').peftType).toBeNull();
  });

  it('rejects unknown names and duplicate parts with a one-line error', () => {
    expect(() => parseMethodList('lora')).toThrow(/unknown method 'lora' \(known: full, frozen/);
    expect(() => parseMethodList('prompt+prompt')).toThrow(/names a method twice/);
    expect(parseMethodList('bitfit+prompt')).toEqual(['bitfit', 'prompt']);
  });

  it('params and training build the same method: counts from the config equal the built model\'s', async () => {
    const model = Bert.init(bertConfig, { head: 'sequence-classification', seed: 1 });
    for (const name of [...METHOD_NAMES, 'bitfit+prompt']) {
      const method = await buildMethod(name, baseOf(model), {});
      const peft = new PeftModel(model, [method]);
      const fromConfig = await countParams(bertConfig, { head: 'sequence-classification', method: name });
      expect(fromConfig.method!.trainable, name).toBe(peft.counts().trainable);
      peft.unload();
    }
    model.dispose();
  });

  it('defaults come from the spec: 10 virtual tokens, prefix MLP as wide as the model', async () => {
    const model = Gpt2.init(gptConfig, { seed: 1 });
    const prefix = await createMethod('prefix', baseOf(model));
    expect(prefix.kv!.numVirtualTokens).toBe(10);
    expect(prefix.params.tensor('transform.0.weight').shape).toEqual([8, 8]);
    const prompt = await createMethod('prompt', baseOf(model), { numVirtualTokens: 3 });
    expect(prompt.input!.numVirtualTokens).toBe(3);
    const report = await countParams(presetConfig('gpt2')!, { method: 'prompt' });
    expect(report.method!.detail).toEqual([{ group: 'prompt parameters', params: 10 * 768 }]);
    model.dispose();
  });

  it('a composition trains the union: BitFit biases and the prompt, prompt tokens in front', async () => {
    const model = Gpt2.init(gptConfig, { seed: 1 });
    const method = await buildMethod('bitfit+prompt', baseOf(model), { virtualTokens: 2 });
    expect(method.kind).toBe('bitfit+prompt');
    expect([...method.params.keys()]).toEqual(['prompt.prompt_embeddings']);
    const peft = new PeftModel(model, [method]);
    const out = peft.forward({ ids: ids([[1, 2, 3]]) });
    expect(out.logits.shape).toEqual([1, 5, 17]);
    expect(peft.trainable().some((t) => t.name === 'h.0.attn.c_attn.bias')).toBe(true);
    model.dispose();
  });
});

describe('the gradient mask cannot be forgotten', () => {
  it("query-only BitFit on GPT-2 leaves the k/v thirds of c_attn's bias bit-identical through trainLoop, with no mask call", async () => {
    const model = Gpt2.init(gptConfig, { seed: 3 });
    const peft = new PeftModel(model, [await createMethod('bitfit', baseOf(model), { types: ['query'] })]);
    const before = Float32Array.from(model.params.tensor('h.1.attn.c_attn.bias').dataSync());
    const r = await trainLoop({
      trainable: peft.trainable(), batch: () => null as never,
      loss: () => peft.forward({ ids: ids([[1, 2, 3, 4]]), labels: ids([[1, 2, 3, 4]]) }).loss!,
      config: { steps: 3, lr: 0.1, warmup: 0 },
    });
    r.optimizer.dispose();
    const after = Float32Array.from(model.params.tensor('h.1.attn.c_attn.bias').dataSync());
    const D = gptConfig.nEmbd;
    expect(Buffer.from(after.slice(D).buffer).equals(Buffer.from(before.slice(D).buffer))).toBe(true);
    expect([...after.slice(0, D)]).not.toEqual([...before.slice(0, D)]);
    // unload removes the hook: the whole bias trains again
    peft.unload();
    expect(model.params.tensor('h.1.attn.c_attn.bias').gradHook).toBeNull();
    model.dispose();
  });

  it('withAdaptersDisabled runs the base model', async () => {
    const model = Gpt2.init(gptConfig, { seed: 3 });
    const peft = new PeftModel(model, [await createMethod('prompt', baseOf(model), { numVirtualTokens: 2 })]);
    const x = ids([[1, 2, 3]]);
    const plain = peft.withAdaptersDisabled(() => peft.forward({ ids: x }).logits);
    expect(plain.shape).toEqual([1, 3, 17]);
    expect([...plain.dataSync()]).toEqual([...model.forward({ ids: x }).logits.dataSync()]);
    expect(peft.forward({ ids: x }).logits.shape).toEqual([1, 5, 17]);
    model.dispose();
  });
});
