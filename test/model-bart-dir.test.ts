/**
 * BART through the generic model-folder path: config.json with `model_type: "bart"` is read by parseModelConfig /
 * loadConfig like GPT-2's and BERT's, `loadBart` loads an HF folder, and the folder's weights save back byte for byte.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { parseBartConfig } from '../src/io/bart-config.js';
import { configToJson, parseModelConfig } from '../src/io/config.js';
import { loadConfig } from '../src/io/node.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Bart } from '../src/models/bart.js';
import { CheckpointError, checkpointToSafetensors } from '../src/models/checkpoint.js';
import { loadBart, loadGpt2 } from '../src/train/model-dir.js';
import { tinyBartDir } from './helpers/model-dirs.js';

const dir = await tinyBartDir(3);

describe('BART in the generic config and folder loading', () => {
  it('parseModelConfig and loadConfig dispatch on model_type "bart"; configToJson writes it back', async () => {
    const c = await loadConfig(dir);
    expect(c.modelType).toBe('bart');
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(parseModelConfig(json, 'x')).toEqual(parseBartConfig(json, 'x'));
    expect(parseModelConfig(configToJson(c), 'x')).toEqual(c);
  });

  it('loadBart gives the saved model: same parameters, same logits, and model.safetensors saves back byte-identically', async () => {
    const { model, tokenizer } = await loadBart(dir, { backend: cpu });
    const reference = Bart.init(model.config, { seed: 3 });
    for (const [name, t] of reference.params) expect(model.params.tensor(name).dataSync(), name).toEqual(t.dataSync());
    const ids = tokenizer.encode('the whale swam');
    const run = (m: Bart) => m.forward({ ids: tensor(ids, [1, ids.length], { dtype: 'i32' }), decoderIds: tensor([2, ids[0]], [1, 2], { dtype: 'i32' }) }).logits.dataSync();
    expect(run(model)).toEqual(run(reference));
    expect(Buffer.from(checkpointToSafetensors(await model.save())).equals(readFileSync(join(dir, 'model.safetensors')))).toBe(true);
    model.dispose();
    reference.dispose();
  });

  it('a config with more layers than the checkpoint holds is refused naming the field, before any model is built', async () => {
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const bigger = await tinyBartDir(3);
    writeFileSync(join(bigger, 'config.json'), JSON.stringify({ ...json, decoder_layers: 1000 }));
    const error = await loadBart(bigger, { backend: cpu }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toBe(`${join(bigger, 'config.json')}: decoder_layers: 1000 layers, but ${join(bigger, 'model.safetensors')} holds 2`);
  });

  it('a GPT-2 loader given a BART folder says what it found', async () => {
    await expect(loadGpt2(dir, { backend: cpu })).rejects.toThrow(`${join(dir, 'config.json')}: model_type: 'bart', a GPT-2 model is needed here`);
  });
});
