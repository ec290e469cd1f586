/**
 * HF PEFT's adapter format, so adapters move between webpeft and `peft`: `adapter_config.json` plus
 * `adapter_model.safetensors` with the collapsed prompt under `prompt_embeddings` — [n, D] for prompt tuning
 * and P-tuning, [n, 2·L·D] for prefix tuning / P-tuning v2 — and trained task heads (modules_to_save).
 * Encoders (the prefix MLP, P-tuning's LSTM) are collapsed first, as PEFT does on save; the resumable
 * format (train/adapter-dir.ts) keeps them.
 *
 * What PEFT writes, read from its source (peft_model.py, utils/save_and_load.py, config.py, tuners/<type>/config.py):
 *   - for prompt-learning types `PeftModel.base_model` is the transformers model itself, so a head kept in
 *     modules_to_save is saved as `base_model.<head>.weight` (`base_model.classifier.weight` for BERT);
 *     LoRA-style adapters wrap the model once more (`base_model.model.*`) — accepted on import, never written;
 *   - PeftModelForSequenceClassification / …ForTokenClassification put ['classifier', 'score'] into the
 *     config's modules_to_save when the config has that field (newer PEFT); a PEFT whose PromptLearningConfig
 *     lacks it drops the unknown key with a warning on load (config.py, _check_and_remove_unused_kwargs);
 *   - adapter_config.json is `asdict(config)` dumped with sorted keys: every field of PeftConfig,
 *     PromptLearningConfig and the type's own config, `null` where unset, inference_mode true;
 *   - the safetensors file carries the metadata {"format": "pt"}.
 */
import { fmt } from '../autograd/shape.js';
import { tensor } from '../autograd/create.js';
import { keep } from '../autograd/tensor.js';
import type { TensorsToWrite, SafetensorsFile } from '../io/safetensors.js';
import type { BaseModel, PeftMethod } from './method.js';
import { isTaskHead } from './baselines.js';
import { PROMPT_KEY, promptMethod } from './prompt-tuning.js';
import { plainPrefix } from './prefix-tuning.js';
import { peftTypeOf } from './registry.js';

export class AdapterError extends Error {
  override name = 'AdapterError';
}

export type { PeftType } from './spec.js';

export interface ExportInfo {
  /** HF task type: SEQ_CLS, TOKEN_CLS, CAUSAL_LM, … */
  taskType: string;
  baseModelNameOrPath?: string;
  /** How the prompt was initialised (prompt tuning): 'vocab' is PEFT's SAMPLE_VOCAB, anything else RANDOM. */
  promptInit?: string;
}

/** PEFT's SEQ_CLS and TOKEN_CLS models add these to the config's modules_to_save (peft_model.py). */
const CLASSIFIER_MODULE_NAMES = ['classifier', 'score'];

/** The saved key of a base-model tensor kept in modules_to_save, for prompt-learning types. */
export const hfHeadKey = (name: string): string => `base_model.${name}`;

/** Keys as PEFT's json.dumps(…, sort_keys=True) orders them. */
function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** A collapsed method (one prompt table) as HF PEFT's adapter_config.json + adapter_model.safetensors tensors. */
export async function exportHfAdapter(base: BaseModel, method: PeftMethod, info: ExportInfo):
  Promise<{ config: Record<string, unknown>; tensors: TensorsToWrite; metadata: Record<string, string> }> {
  const peftType = peftTypeOf(method.kind);
  if (!peftType) throw new AdapterError(`HF PEFT has no format for a '${method.kind}' adapter (prompt, ptuning, prefix, ptuning-v2 have one)`);
  const collapsed = (method as { collapse?: () => PeftMethod }).collapse?.() ?? method;
  const table = collapsed.params.get(PROMPT_KEY);
  if (!table) throw new AdapterError(`adapter '${method.kind}' has no ${PROMPT_KEY} table after collapse`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  tensors.set(PROMPT_KEY, { shape: [...table.shape], data: Float32Array.from(await table.data()) });
  const heads: string[] = [];
  for (const [name, t] of base.params) {
    if (!isTaskHead(name) || !(method.trainsBase?.(name) ?? false)) continue;
    tensors.set(hfHeadKey(name), { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    const head = name.split('.')[0];
    if (!heads.includes(head)) heads.push(head);
  }
  const classifies = info.taskType === 'SEQ_CLS' || info.taskType === 'TOKEN_CLS';
  const modulesToSave = classifies ? [...CLASSIFIER_MODULE_NAMES, ...heads.filter((h) => !CLASSIFIER_MODULE_NAMES.includes(h))]
    : heads.length ? heads : null;
  const config: Record<string, unknown> = {
    // PeftConfigMixin + PeftConfig
    auto_mapping: null, base_model_name_or_path: info.baseModelNameOrPath ?? null, revision: null,
    peft_type: peftType, task_type: info.taskType, inference_mode: true,
    // PromptLearningConfig (_prepare_prompt_learning_config fills the model's sizes)
    num_virtual_tokens: table.shape[0], token_dim: base.hidden, num_transformer_submodules: 1,
    num_attention_heads: base.heads, num_layers: base.layers, modules_to_save: modulesToSave,
  };
  switch (peftType) {
    case 'PROMPT_TUNING':
      Object.assign(config, { prompt_tuning_init: info.promptInit === 'vocab' ? 'SAMPLE_VOCAB' : 'RANDOM',
        prompt_tuning_init_text: null, tokenizer_name_or_path: null, tokenizer_kwargs: null });
      break;
    case 'P_TUNING': {
      const m = method as { encoder?: string; encoderHidden?: number };
      Object.assign(config, { encoder_reparameterization_type: (m.encoder ?? 'mlp').toUpperCase(),
        encoder_hidden_size: m.encoderHidden ?? base.hidden, encoder_num_layers: 2, encoder_dropout: 0.0 });
      break;
    }
    case 'PREFIX_TUNING':
      // collapsed: the table is the prefix itself, which PEFT reads with prefix_projection false
      Object.assign(config, { init_weights: null, encoder_hidden_size: base.hidden, prefix_projection: false });
      break;
    default: { const unknown: never = peftType; throw new AdapterError(`no config fields for ${String(unknown)}`); }
  }
  return { config: sortedKeys(config), tensors, metadata: { format: 'pt' } };
}

/**
 * An HF PEFT adapter as a method on `base`: checks it fits (peft_type, token_dim, num_layers, table shape)
 * with one-line errors naming the file and field, and loads the heads into the base model's parameters.
 */
export function importHfAdapter(base: BaseModel, configJson: unknown, file: SafetensorsFile,
  names = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' }): PeftMethod {
  const cfg = configJson as Record<string, unknown>;
  const field = (k: string) => cfg[k];
  const bad = (k: string, why: string): never => { throw new AdapterError(`${names.config}: ${k}: ${why}`); };
  if (typeof cfg !== 'object' || cfg === null) bad('(root)', 'must be a JSON object');
  const peftType = field('peft_type');
  if (peftType !== 'PROMPT_TUNING' && peftType !== 'P_TUNING' && peftType !== 'PREFIX_TUNING') {
    bad('peft_type', `'${String(peftType)}' is not a prompt-learning adapter webpeft reads (PROMPT_TUNING, P_TUNING, PREFIX_TUNING)`);
  }
  if (field('token_dim') !== undefined && field('token_dim') !== base.hidden) {
    bad('token_dim', `${String(field('token_dim'))} does not match the base model's hidden size ${base.hidden} (adapter for another model?)`);
  }
  if (field('num_layers') !== undefined && field('num_layers') !== base.layers) {
    bad('num_layers', `${String(field('num_layers'))} does not match the base model's ${base.layers} layers`);
  }
  if (field('num_attention_heads') !== undefined && field('num_attention_heads') !== null && field('num_attention_heads') !== base.heads) {
    bad('num_attention_heads', `${String(field('num_attention_heads'))} does not match the base model's ${base.heads} heads`);
  }
  const taskType = field('task_type');
  const hasClassifier = [...base.params.keys()].some(isTaskHead);
  if ((taskType === 'SEQ_CLS' || taskType === 'TOKEN_CLS') && !hasClassifier) {
    bad('task_type', `${taskType} needs a classification head; this ${base.family} model has none`);
  }
  if (taskType === 'CAUSAL_LM' && base.family !== 'gpt2') bad('task_type', `CAUSAL_LM is for a decoder; this model is ${base.family}`);
  if ((field('num_transformer_submodules') ?? 1) !== 1) bad('num_transformer_submodules', 'only 1 (decoder-only or encoder-only models) is supported');
  if (peftType === 'PREFIX_TUNING' && field('prefix_projection') === true && !file.tensors.has(PROMPT_KEY)) {
    bad('prefix_projection', 'true with no collapsed prompt_embeddings: save the adapter from PEFT in inference mode');
  }
  const raw = file.tensors.get(PROMPT_KEY);
  if (!raw) throw new AdapterError(`${names.weights}: ${PROMPT_KEY}: missing`);
  const P = Number(field('num_virtual_tokens') ?? raw.shape[0]);
  const width = peftType === 'PREFIX_TUNING' ? 2 * base.layers * base.hidden : base.hidden;
  if (raw.shape.length !== 2 || raw.shape[0] !== P || raw.shape[1] !== width) {
    throw new AdapterError(`${names.weights}: ${PROMPT_KEY}: shape ${fmt(raw.shape)}, expected ${fmt([P, width])} for ${String(peftType)} on this model`);
  }
  const w = base.wordEmbeddings;
  const table = keep(tensor(raw.data as Float32Array, raw.shape, { backend: w.backend, dtype: w.dtype, name: PROMPT_KEY, requiresGrad: true }));
  // check every head first, so a mismatched adapter leaves the base model untouched
  const heads = new Map<string, Float32Array>();
  for (const [key, t] of file.tensors) {
    if (key === PROMPT_KEY) continue;
    const name = headName(key, base);
    const target = base.params.get(name);
    if (!target) throw new AdapterError(`${names.weights}: ${key}: the base model has no parameter ${name}`);
    if (fmt(target.shape) !== fmt(t.shape)) throw new AdapterError(`${names.weights}: ${key}: shape ${fmt(t.shape)}, the base model's ${name} is ${fmt(target.shape)}`);
    heads.set(name, t.data as Float32Array);
  }
  for (const [name, values] of heads) base.params.assign(name, values);
  const trainHead = heads.size > 0;
  const kind = peftType === 'PROMPT_TUNING' ? 'prompt' : peftType === 'P_TUNING' ? 'ptuning' : 'prefix';
  return kind === 'prefix' ? plainPrefix(kind, table, 0, trainHead) : promptMethod(kind, table, trainHead);
}

/**
 * The base-model parameter a saved head key names: PEFT's prompt-learning form `base_model.<name>`, the
 * LoRA-style `base_model.model.<name>`, with or without a leftover `.modules_to_save[.default].`.
 */
function headName(key: string, base: BaseModel): string {
  const plain = key.replace(/\.modules_to_save(\.default)?\./, '.');
  const wrapped = plain.replace(/^base_model\.model\./, '');
  if (wrapped !== plain && base.params.get(wrapped)) return wrapped;
  return plain.replace(/^base_model\./, '');
}
