/**
 * Adapters on disk. Two formats side by side in one folder:
 *   - HF PEFT's (adapter_config.json + adapter_model.safetensors), collapsed, for prompt-family methods — what
 *     `peft` loads;
 *   - webpeft's resumable training state (training_state.json + training_state.safetensors): every tensor the
 *     method owns (encoders included), the trainable base tensors (heads, BitFit biases), AdamW's moments and the
 *     step, so training continues exactly where it stopped.
 * Every file is written to a temporary name and renamed: a crash never leaves a half-written adapter.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/node.js';
import type { AdamW } from '../autograd/optim.js';
import type { Tensor } from '../autograd/tensor.js';
import { exportHfAdapter, importHfAdapter } from '../peft/hf-format.js';
import type { MethodName } from '../peft/counts.js';
import { peftTypeOf } from '../peft/registry.js';
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

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}


/** Saves both formats (HF PEFT only where it has one). */
export async function saveAdapter(dir: string, base: BaseModel, method: PeftMethod, state: TrainingState, opt: AdamW | null,
  taskType: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  if (peftTypeOf(method.kind)) {
    const { config, tensors } = await exportHfAdapter(base, method, { taskType, baseModelNameOrPath: state.model });
    await saveSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
    await writeJsonAtomic(join(dir, 'adapter_config.json'), config);
    written.push('adapter_config.json', 'adapter_model.safetensors');
  }
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
  await saveSafetensors(join(dir, 'training_state.safetensors'), tensors, { format: 'webpeft-training-state' });
  await writeJsonAtomic(join(dir, 'training_state.json'), { ...state, optimizerStep: opt?.step_ ?? 0 });
  written.push('training_state.json', 'training_state.safetensors');
  return written;
}

/**
 * Rebuilds a method from a folder: the resumable state when present (exact, encoders included), else the HF
 * PEFT adapter. Returns the saved AdamW moments by tensor for `AdamW.importState`.
 */
export async function loadAdapter(dir: string, base: BaseModel): Promise<{
  method: PeftMethod; state: TrainingState | null; moments: Map<Tensor, { m: Float32Array; v: Float32Array }>; optimizerStep: number;
}> {
  const statePath = join(dir, 'training_state.json');
  if (existsSync(statePath)) {
    const state = JSON.parse(await readFile(statePath, 'utf8')) as TrainingState & { optimizerStep?: number };
    if (state.format !== 'webpeft-training-state') throw new Error(`${statePath}: format: not a webpeft training state`);
    const file = await loadSafetensors(join(dir, 'training_state.safetensors'));
    const method = await buildMethod(state.method, base, state.settings);
    const byKey = new Map<string, Tensor>();
    for (const [name, t] of method.params) byKey.set(`method.${name}`, t);
    for (const [name, t] of base.params) byKey.set(`base.${name}`, t);
    for (const [key, t] of file.tensors) {
      if (key.startsWith('adam_')) continue;
      const target = byKey.get(key);
      if (!target) throw new Error(`${join(dir, 'training_state.safetensors')}: ${key}: no such tensor in a '${state.method}' adapter on this model`);
      const params = key.startsWith('method.') ? method.params : base.params;
      const name = key.replace(/^(method|base)\./, '');
      if (target.size !== t.data.length) throw new Error(`${join(dir, 'training_state.safetensors')}: ${key}: ${t.data.length} values, expected ${target.size}`);
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
  if (!existsSync(cfgPath)) throw new Error(`${dir}: no adapter_config.json or training_state.json`);
  let config: unknown;
  try { config = JSON.parse(await readFile(cfgPath, 'utf8')); } catch (e) { throw new Error(`${cfgPath}: ${(e as Error).message}`); }
  const file = await loadSafetensors(join(dir, 'adapter_model.safetensors'));
  const method = importHfAdapter(base, config, file, { config: cfgPath, weights: join(dir, 'adapter_model.safetensors') });
  return { method, state: null, moments: new Map(), optimizerStep: 0 };
}
