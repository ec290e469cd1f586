import { parseArgs } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadConfig, loadSafetensorsHeader, loadTokenizer } from '../io/node.js';
import { packageRoot } from '../data/load.js';
import { modelDir } from '../train/model-dir.js';
import { formatTable } from './table.js';

export const tokenizeHelp = `webpeft tokenize --tokenizer DIR|gpt2|gpt2-tiny|bert-tiny [--decode] [--no-special]
  Reads text on stdin and prints the token ids as JSON; with --decode reads a JSON array of ids and prints the text.`;

/** A tokenizer folder: 'gpt2' is the real GPT-2 vocabulary shipped in assets/gpt2; embedded models by name. */
export function tokenizerDir(name: string): string {
  if (name === 'gpt2') return join(packageRoot(), 'assets', 'gpt2');
  return modelDir(name);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function tokenizeCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: {
    tokenizer: { type: 'string' }, decode: { type: 'boolean' }, 'no-special': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } });
  if (v.help) { console.log(tokenizeHelp); return 0; }
  if (!v.tokenizer) throw new Error('--tokenizer DIR|gpt2|gpt2-tiny|bert-tiny is required');
  const tok = await loadTokenizer(tokenizerDir(v.tokenizer));
  const input = await readStdin();
  if (v.decode) {
    let ids: unknown;
    try { ids = JSON.parse(input); } catch { throw new Error('--decode expects a JSON array of token ids on stdin'); }
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0 && x < tok.vocabSize)) {
      throw new Error(`--decode expects a JSON array of ids in [0, ${tok.vocabSize})`);
    }
    process.stdout.write(tok.decode(ids as number[]));
    return 0;
  }
  console.log(JSON.stringify(tok.encode(input, { addSpecialTokens: !v['no-special'] })));
  return 0;
}

export const inspectHelp = `webpeft inspect FILE|DIR
  Tensors of a safetensors file or of a model/adapter folder (name, dtype, shape, bytes) and a config summary.`;

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (v.help || positionals.length !== 1) { console.log(inspectHelp); return v.help ? 0 : 2; }
  const path = positionals[0];
  let info;
  try { info = await stat(path); } catch { throw new Error(`${path}: no such file or folder`); }
  const files: string[] = [];
  if (info.isDirectory()) {
    if (existsSync(join(path, 'config.json'))) {
      const c = await loadConfig(path);
      const summary = c.modelType === 'gpt2'
        ? `gpt2: ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, vocab ${c.vocabSize}, positions ${c.nPositions}`
        : c.modelType === 'bert'
          ? `bert: ${c.numHiddenLayers} layers, ${c.numAttentionHeads} heads, width ${c.hiddenSize}, vocab ${c.vocabSize}, labels ${c.numLabels}`
          : `bart: ${c.encoderLayers} + ${c.decoderLayers} layers, ${c.encoderAttentionHeads} heads, width ${c.dModel}, vocab ${c.vocabSize}, positions ${c.maxPositionEmbeddings}`;
      console.log(`config.json — ${summary}`);
    }
    if (existsSync(join(path, 'adapter_config.json'))) {
      const a = JSON.parse(await readFile(join(path, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      console.log(`adapter_config.json — ${a.peft_type}, ${a.num_virtual_tokens} virtual tokens, task ${a.task_type}, modules_to_save ${JSON.stringify(a.modules_to_save ?? null)}`);
    }
    for (const f of ['model.safetensors', 'adapter_model.safetensors', 'training_state.safetensors']) if (existsSync(join(path, f))) files.push(join(path, f));
    if (existsSync(join(path, 'tokenizer.json'))) console.log(`tokenizer.json — vocabulary ${(await loadTokenizer(path)).vocabSize}`);
  } else {
    files.push(path);
  }
  for (const f of files) {
    const header = await loadSafetensorsHeader(f);
    let total = 0;
    const rows = [...header.tensors].map(([name, t]) => {
      const bytes = t.dataOffsets[1] - t.dataOffsets[0];
      total += bytes;
      return [name, t.dtype, `[${t.shape.join(', ')}]`, bytes.toLocaleString('en-US')];
    });
    console.log(`\n${f}: ${header.tensors.size} tensors, ${total.toLocaleString('en-US')} bytes${header.metadata ? `, metadata ${JSON.stringify(header.metadata)}` : ''}`);
    console.log(formatTable(['tensor', 'dtype', 'shape', 'bytes'], rows));
  }
  return 0;
}
