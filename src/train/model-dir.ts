/**
 * Model folders in HF layout (config.json, model.safetensors, tokenizer.json): the embedded tiny models shipped
 * under assets/models, or any folder a user brings (e.g. a downloaded `gpt2` or `bert-base-uncased`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../autograd/backend.js';
import type { FloatDType } from '../autograd/dtype.js';
import { loadConfig, loadSafetensors, loadTokenizer } from '../io/node.js';
import { recoverFolder } from '../io/atomic-folder.js';
import type { ModelConfig } from '../io/config.js';
import { CheckpointError } from '../models/checkpoint.js';
import { TokenizerError, type TextTokenizer } from '../io/tokenizer.js';
import { packageRoot } from '../data/load.js';
import { Bart } from '../models/bart.js';
import { Bert, type BertHead } from '../models/bert.js';
import { Gpt2 } from '../models/gpt2.js';

export const EMBEDDED_MODELS = ['gpt2-tiny', 'bert-tiny', 'bart-tiny'] as const;

/** A folder for a model name: an embedded one, or a path. */
export function modelDir(nameOrPath: string): string {
  if ((EMBEDDED_MODELS as readonly string[]).includes(nameOrPath)) return join(packageRoot(), 'assets', 'models', nameOrPath);
  if (!existsSync(nameOrPath)) {
    throw new Error(`model '${nameOrPath}' is neither an embedded model (${EMBEDDED_MODELS.join(', ')}) nor a folder`);
  }
  return nameOrPath;
}

/** modelDir, after putting back a folder that a save killed between its two renames left aside (`recoverFolder`). */
async function recoveredModelDir(nameOrPath: string): Promise<string> {
  if ((EMBEDDED_MODELS as readonly string[]).includes(nameOrPath)) return modelDir(nameOrPath);
  return modelDir(await recoverFolder(nameOrPath));
}

export interface LoadedModel<M> { model: M; tokenizer: TextTokenizer; dir: string }

export interface LoadModelOptions {
  backend: Backend;
  dtype?: FloatDType;
  /** BERT: the head to put on the body (a new classifier is initialised as HF does). */
  head?: BertHead;
  numLabels?: number;
  seed?: number;
  /** Load weights holding NaN or ±Inf (by default such a tensor is an error naming the file and the tensor). */
  allowNonfinite?: boolean;
}

/** Each layer count config.json states, with the checkpoint keys that hold those layers. */
function layerCounts(c: ModelConfig): { field: string; layers: number; key: RegExp }[] {
  switch (c.modelType) {
    case 'gpt2': return [{ field: 'n_layer', layers: c.nLayer, key: /(?:^|\.)h\.(\d+)\./ }];
    case 'bert': return [{ field: 'num_hidden_layers', layers: c.numHiddenLayers, key: /(?:^|\.)layer\.(\d+)\./ }];
    case 'bart': return [
      { field: 'encoder_layers', layers: c.encoderLayers, key: /(?:^|\.)encoder\.layers\.(\d+)\./ },
      { field: 'decoder_layers', layers: c.decoderLayers, key: /(?:^|\.)decoder\.layers\.(\d+)\./ },
    ];
    default: { const _: never = c; throw new Error(`unknown model ${(_ as ModelConfig).modelType}`); }
  }
}

/**
 * The weights and the tokenizer of a folder. Checked before any model is built: config.json's layer count against
 * the layers the checkpoint holds (a huge `n_layer` would otherwise build that many layers), and the tokenizer's
 * ids against the model's vocabulary.
 */
async function loadWeightsAndTokenizer(dir: string, config: ModelConfig, o: LoadModelOptions) {
  const weights = await loadSafetensors(join(dir, 'model.safetensors'), { requireFinite: !o.allowNonfinite });
  for (const { field, layers, key } of layerCounts(config)) {
    let held = 0;
    for (const name of weights.tensors.keys()) {
      const layer = key.exec(name);
      if (layer) held = Math.max(held, Number(layer[1]) + 1);
    }
    if (layers > held) throw new CheckpointError(`${join(dir, 'config.json')}: ${field}: ${layers} layers, but ${join(dir, 'model.safetensors')} holds ${held}`);
  }
  const vocabSize = config.vocabSize;
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer.vocabSize > vocabSize) {
    throw new TokenizerError(tokenizer.source, 'model.vocab', `has ids up to ${tokenizer.vocabSize - 1}, but ${join(dir, 'config.json')} vocab_size is ${vocabSize}`);
  }
  return { weights, tokenizer };
}

export async function loadGpt2(nameOrPath: string, o: LoadModelOptions): Promise<LoadedModel<Gpt2>> {
  const dir = await recoveredModelDir(nameOrPath);
  const config = await loadConfig(dir);
  if (config.modelType !== 'gpt2') throw new Error(`${join(dir, 'config.json')}: model_type: '${config.modelType}', a GPT-2 model is needed here`);
  const { weights, tokenizer } = await loadWeightsAndTokenizer(dir, config, o);
  const model = Gpt2.load(config, weights.tensors, { backend: o.backend, dtype: o.dtype ?? 'f32', seed: o.seed });
  return { model, tokenizer, dir };
}

export async function loadBert(nameOrPath: string, o: LoadModelOptions): Promise<LoadedModel<Bert>> {
  const dir = await recoveredModelDir(nameOrPath);
  const loaded = await loadConfig(dir);
  if (loaded.modelType !== 'bert') throw new Error(`${join(dir, 'config.json')}: model_type: '${loaded.modelType}', a BERT model is needed here`);
  const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
  const config = o.numLabels
    ? { ...loaded, numLabels: o.numLabels, id2label: labels(o.numLabels), label2id: Object.fromEntries(Object.entries(labels(o.numLabels)).map(([i, l]) => [l, Number(i)])) }
    : loaded;
  const { weights, tokenizer } = await loadWeightsAndTokenizer(dir, config, o);
  const model = Bert.load(config, weights.tensors, { backend: o.backend, dtype: o.dtype ?? 'f32', head: o.head ?? 'base', seed: o.seed });
  return { model, tokenizer, dir };
}

/** A BART folder (BartForConditionalGeneration or BartModel keys; `final_logits_bias` read when stored). */
export async function loadBart(nameOrPath: string, o: LoadModelOptions): Promise<LoadedModel<Bart>> {
  const dir = await recoveredModelDir(nameOrPath);
  const config = await loadConfig(dir);
  if (config.modelType !== 'bart') throw new Error(`${join(dir, 'config.json')}: model_type: '${config.modelType}', a BART model is needed here`);
  const { weights, tokenizer } = await loadWeightsAndTokenizer(dir, config, o);
  const model = Bart.load(config, weights.tensors, { backend: o.backend, dtype: o.dtype ?? 'f32', seed: o.seed });
  return { model, tokenizer, dir };
}
