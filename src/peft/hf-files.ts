/**
 * HF PEFT adapters as the bytes of their two files, with no file system (browser-safe): what `save_pretrained`
 * writes and `PeftModel.from_pretrained` reads. The Node entry (src/node.ts) puts these bytes in folders.
 */
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import type { AnyModel } from '../models/model.js';
import { exportHfAdapter, importHfAdapter, AdapterError, type ExportInfo } from './hf-format.js';
import { PeftModel } from './peft-model.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface AdapterFiles {
  /** adapter_config.json's text. */
  config: string;
  /** adapter_model.safetensors' bytes. */
  weights: Uint8Array;
}

/** The adapter of a PeftModel (one adapter, one prompt-family method) as HF PEFT's two files, encoders collapsed. */
export async function adapterToFiles(peft: PeftModel, info: ExportInfo): Promise<AdapterFiles> {
  if (peft.adapters.length !== 1 || peft.adapters[0].length !== 1) {
    throw new AdapterError(`HF PEFT's format holds one method; this model has ${peft.adapters.length} adapter(s) of ${peft.adapters.map((a) => a.length).join('+')} method(s)`);
  }
  const { config, tensors } = await exportHfAdapter(peft.base, peft.adapters[0][0], info);
  return { config: `${JSON.stringify(config, null, 2)}\n`, weights: serializeSafetensors(tensors, null, ADAPTER_WEIGHTS) };
}

/** A model wrapped in the adapter of HF PEFT's two files (trained heads are loaded into the model's parameters). */
export function peftModelFromFiles<M extends AnyModel>(model: M, files: AdapterFiles, names = { config: ADAPTER_CONFIG, weights: ADAPTER_WEIGHTS }): PeftModel<M> {
  let json: unknown;
  try { json = JSON.parse(files.config); } catch (e) { throw new AdapterError(`${names.config}: ${(e as Error).message}`); }
  const peft0 = new PeftModel(model, []);
  const method = importHfAdapter(peft0.base, json, parseSafetensors(files.weights, names.weights), names);
  return new PeftModel(model, [method]);
}
