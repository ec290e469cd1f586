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
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/node.js';
import { recoverFolder, writeFolderAtomic } from '../io/atomic-folder.js';
import type { AdamW } from '../autograd/optim.js';
import type { Tensor } from '../autograd/tensor.js';
import { AdapterError, exportHfAdapter, importHfAdapter } from '../peft/hf-format.js';
import { METHOD_NAMES, type MethodName } from '../peft/counts.js';
import type { BaseModel, PeftMethod } from '../peft/method.js';
import { buildMethod, type MethodSettings } from './methods.js';

export interface TrainingState {
  format: 'webpeft-training-state';
  version: 1;
  method: MethodName;
  settings: MethodSettings;
  task: string;
  model: string;
  step: number;
  lr: number;
  metrics?: Record<string, number>;
}

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

/** The settings `buildMethod` reads, checked so that a corrupt state is an error naming the field, not a crash. */
function checkSettings(settings: unknown, path: string): void {
  const fail = (field: string, detail: string): never => { throw new AdapterError(`${path}: settings.${field}: ${detail}`); };
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) fail('(all)', 'must be an object');
  const s = settings as Record<string, unknown>;
  for (const field of ['virtualTokens', 'hidden'] as const) {
    if (!Number.isSafeInteger(s[field]) || (s[field] as number) < 0 || (s[field] as number) > 1e6) fail(field, `must be a non-negative integer, found ${JSON.stringify(s[field])}`);
  }
  if (s.encoder !== 'lstm' && s.encoder !== 'mlp') fail('encoder', `must be "lstm" or "mlp", found ${JSON.stringify(s.encoder)}`);
  if (!Number.isSafeInteger(s.seed)) fail('seed', `must be an integer, found ${JSON.stringify(s.seed)}`);
}

/** Every file a saved adapter folder may hold; a new save drops those of them it does not write. */
export const ADAPTER_FILES = ['adapter_config.json', 'adapter_model.safetensors', 'training_state.json', 'training_state.safetensors', 'losses.json'] as const;

const HF_METHODS = new Set(['prompt', 'ptuning', 'prefix', 'ptuning-v2']);

/**
 * Saves both formats (HF PEFT only where it has one), plus any `extraFiles` (name → text, e.g. losses.json), as one
 * unit: all tensors are read first, then the folder is written beside `dir` and renamed into place
 * (`writeFolderAtomic`), so `dir` holds the complete old adapter or the complete new one at every instant.
 */
export async function saveAdapter(dir: string, base: BaseModel, method: PeftMethod, state: TrainingState, opt: AdamW | null,
  taskType: string, extraFiles: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const hf = HF_METHODS.has(method.kind)
    ? await exportHfAdapter(base, method, { taskType, baseModelNameOrPath: state.model, promptInit: state.settings.promptInit ?? 'vocab' })
    : null;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const keyOf = new Map<Tensor, string>();
  const add = async (key: string, t: Tensor) => {
    tensors.set(key, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    keyOf.set(t, key);
  };
  for (const [name, t] of method.params) await add(`method.${name}`, t);
  for (const t of base.params.trainable()) await add(`base.${t.name}`, t);
  if (opt) {
    const { moments } = await opt.exportState();
    for (const [t, { m, v }] of moments) {
      const key = keyOf.get(t);
      if (!key) continue;
      tensors.set(`adam_m.${key}`, { shape: [...t.shape], data: Float32Array.from(m) });
      tensors.set(`adam_v.${key}`, { shape: [...t.shape], data: Float32Array.from(v) });
    }
  }
  const written: string[] = [];
  await writeFolderAtomic(dir, async (folder) => {
    if (hf) {
      await saveSafetensors(join(folder, 'adapter_model.safetensors'), hf.tensors, hf.metadata);
      await writeFile(join(folder, 'adapter_config.json'), `${JSON.stringify(hf.config, null, 2)}\n`);
      written.push('adapter_config.json', 'adapter_model.safetensors');
    }
    await saveSafetensors(join(folder, 'training_state.safetensors'), tensors, { format: 'webpeft-training-state' });
    await writeFile(join(folder, 'training_state.json'), `${JSON.stringify({ ...state, optimizerStep: opt?.step_ ?? 0 }, null, 2)}\n`);
    written.push('training_state.json', 'training_state.safetensors');
    for (const [name, text] of Object.entries(extraFiles)) {
      await writeFile(join(folder, name), text);
      written.push(name);
    }
  }, ADAPTER_FILES);
  return written;
}

/**
 * Rebuilds a method from a folder: the resumable state when present (exact, encoders included), else the HF
 * PEFT adapter. Returns the saved AdamW moments by tensor for `AdamW.importState`.
 */
export async function loadAdapter(folder: string, base: BaseModel, options: { allowNonfinite?: boolean } = {}): Promise<{
  method: PeftMethod; state: TrainingState | null; moments: Map<Tensor, { m: Float32Array; v: Float32Array }>; optimizerStep: number;
}> {
  const dir = await recoverFolder(folder); // a save killed between its two renames left the old folder aside
  const finite = { requireFinite: !options.allowNonfinite, floatsOnly: true };
  const statePath = join(dir, 'training_state.json');
  if (existsSync(statePath)) {
    const state = await readJson(statePath) as TrainingState & { optimizerStep?: number };
    if (typeof state !== 'object' || state === null || Array.isArray(state)) throw new AdapterError(`${statePath}: (root): must be a JSON object`);
    if (state.format !== 'webpeft-training-state') throw new AdapterError(`${statePath}: format: not a webpeft training state`);
    if (!(METHOD_NAMES as readonly unknown[]).includes(state.method)) throw new AdapterError(`${statePath}: method: ${JSON.stringify(state.method)} is not one of ${METHOD_NAMES.join(', ')}`);
    const file = await loadSafetensors(join(dir, 'training_state.safetensors'), finite);
    checkSettings(state.settings, statePath);
    const method = await buildMethod(state.method, base, state.settings).catch((e: unknown) => {
      throw new AdapterError(`${statePath}: settings: cannot build a '${state.method}' adapter from ${JSON.stringify(state.settings)} (${(e as Error).message.split('\n')[0]})`);
    });
    const byKey = new Map<string, Tensor>();
    for (const [name, t] of method.params) byKey.set(`method.${name}`, t);
    for (const [name, t] of base.params) byKey.set(`base.${name}`, t);
    for (const [key, t] of file.tensors) {
      if (key.startsWith('adam_')) continue;
      const target = byKey.get(key);
      if (!target) throw new AdapterError(`${join(dir, 'training_state.safetensors')}: ${key}: no such tensor in a '${state.method}' adapter on this model`);
      const params = key.startsWith('method.') ? method.params : base.params;
      const name = key.replace(/^(method|base)\./, '');
      if (target.size !== t.data.length) throw new AdapterError(`${join(dir, 'training_state.safetensors')}: ${key}: ${t.data.length} values, expected ${target.size}`);
      params.assign(name, t.data as Float32Array);
    }
    const moments = new Map<Tensor, { m: Float32Array; v: Float32Array }>();
    for (const [key] of file.tensors) {
      if (key.startsWith('adam_') || !file.tensors.has(`adam_m.${key}`)) continue;
      const params = key.startsWith('method.') ? method.params : base.params;
      const t = params.tensor(key.replace(/^(method|base)\./, ''));
      moments.set(t, { m: file.tensors.get(`adam_m.${key}`)!.data as Float32Array, v: file.tensors.get(`adam_v.${key}`)!.data as Float32Array });
    }
    return { method, state, moments, optimizerStep: state.optimizerStep ?? 0 };
  }
  const cfgPath = join(dir, 'adapter_config.json');
  if (!existsSync(cfgPath)) throw new AdapterError(`${dir}: no adapter_config.json or training_state.json`);
  const config = await readJson(cfgPath);
  const file = await loadSafetensors(join(dir, 'adapter_model.safetensors'), finite);
  const method = importHfAdapter(base, config, file, { config: cfgPath, weights: join(dir, 'adapter_model.safetensors') });
  return { method, state: null, moments: new Map(), optimizerStep: 0 };
}
