/**
 * HF PEFT's adapter format, so adapters move between webpeft and `peft`: `adapter_config.json` plus
 * `adapter_model.safetensors` with the collapsed prompt under `prompt_embeddings` — [n, D] for prompt tuning
 * and P-tuning, [n, 2·L·D] for prefix tuning / P-tuning v2 — and trained task heads (modules_to_save) under
 * `base_model.model.<head>.weight/bias`. Encoders (the prefix MLP, P-tuning's LSTM) are collapsed first, as
 * PEFT does on save; the resumable format (checkpoint.ts) keeps them.
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
}

/** A collapsed method (one prompt table) as HF PEFT's adapter_config.json + adapter_model.safetensors tensors. */
export async function exportHfAdapter(base: BaseModel, method: PeftMethod, info: ExportInfo):
  Promise<{ config: Record<string, unknown>; tensors: TensorsToWrite }> {
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
    tensors.set(`base_model.model.${name}`, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    const head = name.split('.')[0];
    if (!heads.includes(head)) heads.push(head);
  }
  const P = table.shape[0];
  const config: Record<string, unknown> = {
    peft_type: peftType,
    task_type: info.taskType,
    base_model_name_or_path: info.baseModelNameOrPath ?? null,
    inference_mode: true,
    num_virtual_tokens: P,
    token_dim: base.hidden,
    num_transformer_submodules: 1,
    num_attention_heads: base.heads,
    num_layers: base.layers,
    modules_to_save: heads.length ? heads : null,
  };
  if (peftType === 'PREFIX_TUNING') Object.assign(config, { prefix_projection: false, encoder_hidden_size: base.hidden });
  if (peftType === 'P_TUNING') {
    const m = method as { encoder?: string; encoderHidden?: number };
    Object.assign(config, { encoder_reparameterization_type: (m.encoder ?? 'mlp').toUpperCase(), encoder_hidden_size: m.encoderHidden ?? base.hidden, encoder_num_layers: 2, encoder_dropout: 0 });
  }
  if (peftType === 'PROMPT_TUNING') Object.assign(config, { prompt_tuning_init: 'RANDOM' });
  return { config, tensors };
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
    const name = key.replace(/^base_model\.model\./, '').replace(/\.modules_to_save(\.default)?\./, '.');
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
