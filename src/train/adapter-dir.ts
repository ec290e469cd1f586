/**
 * Adapters on disk. Two formats side by side in one folder:
 *   - HF PEFT's (adapter_config.json + adapter_model.safetensors), collapsed, for prompt-family methods — what
 *     `peft` loads;
 *   - webpeft's resumable training state (training_state.json + training_state.safetensors): every tensor the
 *     method owns (encoders included), the trainable base tensors (heads, BitFit biases), AdamW's moments and the
 *     step, so training continues exactly where it stopped.
 * The folder is saved as one unit (written beside it, fsync'd, renamed into place): a crash or a full disk never
 * leaves a half-written adapter, and never damages the previous one.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/node.js';
import { recoverFolder, writeFolderAtomic } from '../io/atomic-folder.js';
import type { AdamW } from '../autograd/optim.js';
import type { Tensor } from '../autograd/tensor.js';
import { AdapterError, exportHfAdapter, importHfAdapter } from '../peft/hf-format.js';
import { peftTypeOf } from '../peft/registry.js';
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { buildMethod } from './methods.js';
import { parseTrainingState, TrainingStateError, type TrainingState } from './training-state.js';
import { checkBaseShape, checkBaseWeights } from './base-check.js';
import { stateTensors } from './state-tensors.js';

export type { TrainingState } from './training-state.js';

/** A JSON file, parsed; unreadable or invalid JSON is an AdapterError naming the file. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new AdapterError(`${path}: file: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AdapterError(`${path}: (root): is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Every file a saved adapter folder may hold; a new save drops those of them it does not write. */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors', 'training_state.json', 'training_state.safetensors', 'losses.json'] as const;


/**
 * Saves both formats (HF PEFT only where it has one), plus any `extraFiles` (name → text, e.g. losses.json), as one
 * unit: all tensors are read first, then the folder is written beside `dir` and renamed into place
 * (`writeFolderAtomic`), so `dir` holds the complete old adapter or the complete new one at every instant.
 */
export async function saveAdapter(dir: string, base: BaseModel, method: PeftMethod, state: TrainingState, opt: AdamW | null,
  taskType: string, extraFiles: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const hf = peftTypeOf(method.kind)
    ? await exportHfAdapter(base, method, { taskType, baseModelNameOrPath: state.model, promptInit: state.settings.promptInit ?? 'vocab' })
    : null;
  const tensors = await stateTensors(base, method, opt);
  const written: string[] = [];
  await writeFolderAtomic(dir, async (folder) => {
    if (hf) {
      await saveSafetensors(join(folder, 'adapter_model.safetensors'), hf.tensors, hf.metadata);
      await writeFile(join(folder, 'adapter_config.json'), `${JSON.stringify(hf.config, null, 2)}\n`);
      written.push('adapter_config.json', 'adapter_model.safetensors');
    }
    await saveSafetensors(join(folder, 'training_state.safetensors'), tensors, { format: 'webpeft-training-state' });
    await writeFile(join(folder, 'training_state.json'), `${JSON.stringify({ ...state, optimizerStep: opt?.step_ ?? state.optimizerStep }, null, 2)}\n`);
    written.push('training_state.json', 'training_state.safetensors');
    for (const [name, text] of Object.entries(extraFiles)) {
      await writeFile(join(folder, name), text);
      written.push(name);
    }
  }, ADAPTER_FILES);
  return written;
}

/** The folder's training_state.json, validated; null when the folder has none (an HF PEFT adapter). */
export async function readTrainingState(dir: string): Promise<TrainingState | null> {
  const statePath = join(dir, 'training_state.json');
  if (!existsSync(statePath)) return null;
  let json: unknown;
  try { json = JSON.parse(await readFile(statePath, 'utf8')); } catch (e) { throw new TrainingStateError(`${statePath}: (root): is not valid JSON (${(e as Error).message.split('\n')[0]})`); }
  return parseTrainingState(json, statePath);
}

/**
 * Rebuilds a method from a folder: the resumable state when present (exact, encoders included), else the HF
 * PEFT adapter. Returns the saved AdamW moments by tensor for `AdamW.importState`. The state must fit `base`
 * (family, sizes, frozen weights) and hold exactly the tensors the method owns and trains, each named when
 * missing, extra or of the wrong size.
 */
export async function loadAdapter(folder: string, base: BaseModel, options: { allowNonfinite?: boolean; modelName?: string } = {}): Promise<{
  method: PeftMethod; state: TrainingState | null; moments: Map<Tensor, { m: Float32Array; v: Float32Array }>; optimizerStep: number;
  /** Things worth a line on stderr that do not stop the load (an HF adapter naming another base model). */
  notes: string[];
}> {
  const dir = await recoverFolder(folder); // a save killed between its two renames left the old folder aside
  const finite = { requireFinite: !options.allowNonfinite, floatsOnly: true };
  const statePath = join(dir, 'training_state.json');
  const cfgPath = join(dir, 'adapter_config.json');
  const notes: string[] = [];
  const state = await readTrainingState(dir).catch((e: unknown) => {
    // a state from before exact resume: the HF PEFT files beside it still hold the adapter
    if (!(e instanceof TrainingStateError && e.field === 'version' && existsSync(cfgPath))) throw e;
    notes.push(`${e.message}; loading the HF PEFT files instead`);
    return null;
  });
  if (state) {
    checkBaseShape(state.base, base, statePath);
    const weightsPath = join(dir, 'training_state.safetensors');
    const file = await loadSafetensors(weightsPath, finite);
    const method = await buildMethod(state.method, base, state.settings).catch((e: unknown) => {
      throw new AdapterError(`${statePath}: settings: cannot build a '${state.method}' adapter from ${JSON.stringify(state.settings)} (${(e as Error).message.split('\n')[0]})`);
    });
    await checkBaseWeights(state.base, base, method, statePath);
    // every tensor the method owns and every base tensor it trains, by saved key
    const expected = new Map<string, { params: typeof base.params; name: string; t: Tensor }>();
    for (const [name, t] of method.params) expected.set(`method.${name}`, { params: method.params, name, t });
    for (const [name, t] of base.params) if (method.trainsBase?.(name)) expected.set(`base.${name}`, { params: base.params, name, t });
    const bad = (key: string, why: string): never => { throw new TrainingStateError(`${weightsPath}: ${key}: ${why}`); };
    for (const [key, t] of file.tensors) {
      const moment = /^adam_[mv]\.(.*)$/.exec(key);
      const target = expected.get(moment ? moment[1] : key);
      if (!target) bad(key, `not a tensor of a '${state.method}' adapter on this model (extra tensor)`);
      if (t.data.length !== target!.t.size) bad(key, `${t.data.length} values, expected ${target!.t.size}`);
    }
    for (const key of expected.keys()) {
      if (!file.tensors.has(key)) bad(key, 'missing (a resumed run would start it from its initial value)');
      if (file.tensors.has(`adam_m.${key}`) !== file.tensors.has(`adam_v.${key}`)) {
        bad(file.tensors.has(`adam_m.${key}`) ? `adam_v.${key}` : `adam_m.${key}`, 'missing (AdamW moments come in pairs)');
      }
    }
    for (const [key, { params, name }] of expected) params.assign(name, file.tensors.get(key)!.data as Float32Array);
    const moments = new Map<Tensor, { m: Float32Array; v: Float32Array }>();
    for (const [key, { t }] of expected) {
      const m = file.tensors.get(`adam_m.${key}`);
      if (m) moments.set(t, { m: m.data as Float32Array, v: file.tensors.get(`adam_v.${key}`)!.data as Float32Array });
    }
    return { method, state, moments, optimizerStep: state.optimizerStep, notes: [] };
  }
  if (!existsSync(cfgPath)) throw new AdapterError(`${dir}: no adapter_config.json or training_state.json`);
  const config = await readJson(cfgPath);
  const file = await loadSafetensors(join(dir, 'adapter_model.safetensors'), finite);
  const method = importHfAdapter(base, config, file, { config: cfgPath, weights: join(dir, 'adapter_model.safetensors') });
  // HF files carry no weights fingerprint: the shapes were checked; the name is compared where both are known
  const named = (config as { base_model_name_or_path?: unknown }).base_model_name_or_path;
  if (typeof named === 'string' && options.modelName && basename(named).toLowerCase() !== basename(options.modelName).toLowerCase()) {
    notes.push(`${cfgPath}: base_model_name_or_path '${named}' is not '${options.modelName}' (the shapes fit, so it loads; is it the model it was trained on?)`);
  }
  return { method, state: null, moments: new Map(), optimizerStep: 0, notes };
}
