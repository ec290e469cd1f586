/**
 * `webpeft/node`: what needs files and folders — models and adapters in HF folders, the embedded models (resolved
 * from the installed package itself), the shipped data sets, and `compare`. Everything else is in `webpeft`
 * (src/index.ts), which this entry re-exports, so one import gives the whole library in Node.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportInfo } from './peft/hf-format.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, adapterToFiles, peftModelFromFiles } from './peft/hf-files.js';
import type { AnyModel } from './models/model.js';
import { PeftModel } from './peft/peft-model.js';
import { baseOf } from './peft/base.js';
import { loadAdapter } from './train/adapter-dir.js';
import { saveSafetensors } from './io/node.js';

export * from './index.js';
export { loadSafetensors, loadSafetensorsHeader, saveSafetensors, loadConfig, loadTokenizer } from './io/node.js';
export { loadGpt2, loadBert, loadBart, modelDir, EMBEDDED_MODELS, type LoadedModel, type LoadModelOptions } from './train/model-dir.js';
export { loadSpam, loadSubject, loadTokens, loadCorpus, loadHeldoutCorpus, packageRoot, dataDir } from './data/load.js';
export { saveAdapter, loadAdapter, type TrainingState } from './train/adapter-dir.js';
export { runCompare, type CompareOptions } from './train/compare.js';
export { makeTask, TASK_INFO, TASK_NAMES, type Task, type TaskName } from './train/tasks.js';

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** HF PEFT's save_pretrained: adapter_config.json + adapter_model.safetensors in `dir` (encoders collapsed). */
export async function savePretrained(peft: PeftModel, dir: string, info: ExportInfo): Promise<string[]> {
  const files = await adapterToFiles(peft, info);
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, ADAPTER_WEIGHTS), files.weights);
  await writeAtomic(join(dir, ADAPTER_CONFIG), files.config);
  return [ADAPTER_CONFIG, ADAPTER_WEIGHTS];
}

/**
 * HF PEFT's PeftModel.from_pretrained: `model` under the adapter in `dir` — an HF PEFT folder, or a webpeft
 * training state (`webpeft train --out`), which rebuilds the method exactly, encoders included.
 */
export async function fromPretrained<M extends AnyModel>(model: M, dir: string): Promise<PeftModel<M>> {
  const configPath = join(dir, ADAPTER_CONFIG);
  try {
    const [config, weights] = await Promise.all([readFile(configPath, 'utf8'), readFile(join(dir, ADAPTER_WEIGHTS))]);
    return peftModelFromFiles(model, { config, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) },
      { config: configPath, weights: join(dir, ADAPTER_WEIGHTS) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { method } = await loadAdapter(dir, baseOf(model));
  return new PeftModel(model, [method]);
}

/** A model's weights in HF's checkpoint layout (e.g. a BitFit model after mergeAndUnload) as model.safetensors. */
export async function saveModelWeights(model: AnyModel, path: string): Promise<void> {
  await saveSafetensors(path, await model.save());
}
