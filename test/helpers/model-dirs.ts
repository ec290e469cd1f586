/** Tiny random models written as HF folders (config.json, model.safetensors, tokenizer files) for CLI tests. */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBartConfig } from '../../src/io/bart-config.js';
import { configToJson, parseBertConfig, parseGpt2Config } from '../../src/io/config.js';
import { Bart } from '../../src/models/bart.js';
import { checkpointToSafetensors } from '../../src/models/checkpoint.js';
import { Bert } from '../../src/models/bert.js';
import { Gpt2 } from '../../src/models/gpt2.js';

function copyTokenizer(flavor: 'gpt2' | 'bert', dir: string): void {
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join('assets', 'data', 'tokenizer', flavor, f), join(dir, f));
}

export async function tinyGpt2Dir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-gpt2-'));
  const config = parseGpt2Config({ vocab_size: 4096, n_positions: 96, n_embd: 16, n_layer: 2, n_head: 2, bos_token_id: 4095, eos_token_id: 4095 }, 'tiny');
  const model = Gpt2.init(config, { seed: 1 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToJson(config)));
  writeFileSync(join(dir, 'model.safetensors'), checkpointToSafetensors(await model.save()));
  copyTokenizer('gpt2', dir);
  model.dispose();
  return dir;
}

export async function tinyBertDir(seed = 1): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-bert-'));
  const config = parseBertConfig({ vocab_size: 4096, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32,
    max_position_embeddings: 96, pad_token_id: 0 }, 'tiny');
  const model = Bert.init(config, { seed, head: 'masked-lm' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToJson(config)));
  writeFileSync(join(dir, 'model.safetensors'), checkpointToSafetensors(await model.save()));
  copyTokenizer('bert', dir);
  model.dispose();
  return dir;
}

/** A tiny random BART folder (BartForConditionalGeneration's keys, the GPT-2-style byte-level tokenizer as BART's). */
export async function tinyBartDir(seed = 1): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-bart-'));
  const config = parseBartConfig({ vocab_size: 4096, d_model: 16, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 2,
    decoder_attention_heads: 2, encoder_ffn_dim: 32, decoder_ffn_dim: 32, max_position_embeddings: 64 }, 'tiny');
  const model = Bart.init(config, { seed });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToJson(config)));
  writeFileSync(join(dir, 'model.safetensors'), checkpointToSafetensors(await model.save()));
  copyTokenizer('gpt2', dir);
  model.dispose();
  return dir;
}
