/**
 * What the fuzz suite mutates, and how each mutated folder is judged. Every target is a real folder: the shipped
 * gpt2-tiny / bert-tiny (config.json, model.safetensors, tokenizer.json), and adapters written by this project
 * (adapter_config.json + adapter_model.safetensors; training_state.json + .safetensors). A case writes the folder
 * with one file mutated and loads it as a user would. The verdict:
 *   - rejected with a typed error (a class the project defines) and a one-line message → fine;
 *   - rejected with anything else (TypeError, RangeError, a plain Error, several lines) → failure;
 *   - accepted → the result must work: a forward pass gives finite logits, a tokenizer gives ids in range.
 */
import { stateFor } from '../helpers/training-state.js';
import { TrainingStateError } from '../../src/train/training-state.js';
import { BaseMismatchError } from '../../src/train/base-check.js';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { tensor } from '../../src/autograd/create.js';
import { tidy } from '../../src/autograd/tensor.js';
import { SaveError } from '../../src/io/atomic-folder.js';
import { ConfigError } from '../../src/io/config.js';
import { loadSafetensorsHeader } from '../../src/io/node.js';
import { SafetensorsError } from '../../src/io/safetensors.js';
import { TokenizerError } from '../../src/io/tokenizer.js';
import { cpu } from '../../src/kernels/cpu/index.js';
import { CheckpointError } from '../../src/models/checkpoint.js';
import { ModelInputError } from '../../src/models/common.js';
import type { Bert } from '../../src/models/bert.js';
import type { Gpt2 } from '../../src/models/gpt2.js';
import { baseOf } from '../../src/peft/base.js';
import { AdapterError } from '../../src/peft/hf-format.js';
import { PeftModel } from '../../src/peft/peft-model.js';
import { loadAdapter, saveAdapter, type TrainingState } from '../../src/train/adapter-dir.js';
import { buildMethod, type MethodSettings } from '../../src/train/methods.js';
import { loadBert, loadGpt2, modelDir } from '../../src/train/model-dir.js';
import type { MethodName } from '../../src/peft/counts.js';
import { applyJsonEdit, applySafetensorsEdit, jsonEdit, safetensorsEdit } from './mutate.js';

/** The error classes this project defines for bad input. */
export const TYPED_ERRORS = [SafetensorsError, ConfigError, TokenizerError, CheckpointError, AdapterError, ModelInputError, SaveError, TrainingStateError, BaseMismatchError];

export class AcceptedGarbage extends Error {}

export interface Target {
  name: string;
  /** The good folder's files. */
  files: Record<string, Uint8Array>;
  /** One mutated file of the folder: which, the new bytes, a label. */
  mutation: fc.Arbitrary<{ file: string; bytes: Uint8Array; label: string; valuesOnly?: boolean }>;
  /**
   * Load the folder at `dir` as a user would; throw AcceptedGarbage if what loaded does not work. `valuesOnly`: the
   * edit changed tensor bytes only (a valid file with other, finite weights — no format check can tell, so the
   * forward pass is not judged).
   */
  load(dir: string, valuesOnly: boolean): Promise<void>;
}

const read = (dir: string, names: string[]) => Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]));
const decoder = new TextDecoder();

/** A mutation of one of `files`: JSON edits for .json files, safetensors edits for .safetensors. */
function mutationOf(files: Record<string, Uint8Array>, names: string[]): Target['mutation'] {
  return fc.oneof(...names.map((file) => file.endsWith('.json')
    ? jsonEdit.map((edit) => ({ file, ...applyJsonEdit(decoder.decode(files[file]), edit) }))
    : safetensorsEdit.map((edit) => ({ file, ...applySafetensorsEdit(files[file], edit) }))));
}

function assertFiniteLogits(logits: Float32Array | Float64Array, what: string): void {
  const bad = logits.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new AcceptedGarbage(`${what}: accepted, but logits[${bad}] = ${logits[bad]}`);
}

/** A forward pass over a short input must give finite logits. */
function checkModel(model: Gpt2 | Bert, peft: PeftModel<Gpt2 | Bert> | null, what: string): void {
  tidy(() => {
    const ids = tensor([1, 2, 3, 4], [1, 4], { dtype: 'i32' });
    const out = (peft ?? model).forward({ ids } as never) as { logits?: { dataSync(): Float32Array | Float64Array }; lastHiddenState?: { dataSync(): Float32Array } };
    assertFiniteLogits((out.logits ?? out.lastHiddenState)!.dataSync(), what);
  });
}

function modelTarget(name: 'gpt2-tiny' | 'bert-tiny', mutated: string[]): Target {
  const files = read(modelDir(name), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  return {
    name: `${name}: ${mutated.join(' + ')}`,
    files,
    mutation: mutationOf(files, mutated),
    async load(dir, valuesOnly) {
      const loaded = name === 'gpt2-tiny' ? await loadGpt2(dir, { backend: cpu }) : await loadBert(dir, { backend: cpu, head: 'sequence-classification', numLabels: 2 });
      try {
        if (!valuesOnly) checkModel(loaded.model, null, dir);
        const ids = loaded.tokenizer.encode('the ship and the sea');
        if (ids.length === 0) throw new AcceptedGarbage(`${dir}: tokenizer accepted, but 'the ship and the sea' encodes to []`);
        const outside = ids.find((id) => id >= loaded.model.config.vocabSize);
        if (outside !== undefined) throw new AcceptedGarbage(`${dir}: tokenizer accepted, but gives id ${outside} ≥ vocab_size ${loaded.model.config.vocabSize}`);
        loaded.tokenizer.decode(ids);
      } finally {
        loaded.model.dispose();
      }
    },
  };
}

interface AdapterSpec { method: MethodName; family: 'gpt2' | 'bert'; files: 'hf' | 'state' }

/** An adapter written by this project on the shipped model, then mutated; `files` picks the format loaded. */
async function adapterTarget(spec: AdapterSpec, work: string): Promise<Target> {
  const load = () => spec.family === 'gpt2' ? loadGpt2('gpt2-tiny', { backend: cpu })
    : loadBert('bert-tiny', { backend: cpu, head: 'sequence-classification', numLabels: 2 });
  const { model } = await load();
  const base = baseOf(model);
  const settings: MethodSettings = { virtualTokens: 3, hidden: 8, encoder: 'mlp', seed: 5 };
  const method = await buildMethod(spec.method, base, settings);
  const state: TrainingState = await stateFor(base, method, { method: spec.method, settings,
    task: spec.family === 'gpt2' ? 'subject' : 'spam', model: `${spec.family}-tiny`, step: 4, lr: 0.01 });
  const dir = join(work, `source-${spec.method}-${spec.family}-${spec.files}`);
  await saveAdapter(dir, base, method, state, null, spec.family === 'gpt2' ? 'CAUSAL_LM' : 'SEQ_CLS');
  const names = spec.files === 'hf' ? ['adapter_config.json', 'adapter_model.safetensors'] : ['training_state.json', 'training_state.safetensors'];
  const files = read(dir, names);
  return {
    name: `${spec.method} adapter on ${spec.family}-tiny: ${names.join(' + ')}`,
    files,
    mutation: mutationOf(files, names),
    async load(folder, valuesOnly) {
      const loaded = await loadAdapter(folder, base);
      for (const name of names.filter((n) => n.endsWith('.safetensors'))) {
        for (const [key, info] of (await loadSafetensorsHeader(join(folder, name))).tensors) {
          if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) throw new AcceptedGarbage(`${folder}/${name}: accepted, but ${key} is ${info.dtype}`);
        }
      }
      const peft = new PeftModel(model, [loaded.method]);
      if (!valuesOnly) checkModel(model, peft as PeftModel<Gpt2 | Bert>, folder);
    },
  };
}

export async function makeTargets(work: string): Promise<Target[]> {
  mkdirSync(work, { recursive: true });
  return [
    modelTarget('gpt2-tiny', ['config.json']),
    modelTarget('bert-tiny', ['config.json']),
    modelTarget('gpt2-tiny', ['model.safetensors']),
    modelTarget('bert-tiny', ['model.safetensors']),
    modelTarget('gpt2-tiny', ['tokenizer.json']),
    await adapterTarget({ method: 'prompt', family: 'gpt2', files: 'hf' }, work),
    await adapterTarget({ method: 'ptuning-v2', family: 'bert', files: 'hf' }, work),
    await adapterTarget({ method: 'prefix', family: 'gpt2', files: 'state' }, work),
    await adapterTarget({ method: 'ptuning', family: 'bert', files: 'state' }, work),
  ];
}

export type Verdict = { ok: true } | { ok: false; problem: string };

/** Whether a rejection is one this project means: a typed error with a one-line message. */
export function judgeRejection(error: unknown): Verdict {
  if (error instanceof AcceptedGarbage) return { ok: false, problem: `accepted garbage: ${error.message}` };
  const message = error instanceof Error ? error.message : String(error);
  if (!TYPED_ERRORS.some((type) => error instanceof type)) {
    return { ok: false, problem: `untyped ${(error as Error)?.constructor?.name ?? typeof error}: ${message.split('\n')[0].slice(0, 200)}` };
  }
  if (message.includes('\n')) return { ok: false, problem: `multi-line ${(error as Error).name}: ${message.slice(0, 200)}` };
  return { ok: true };
}

/** Write the folder at `dir` with `file` replaced by `bytes`. */
export function writeCase(dir: string, target: Target, file: string, bytes: Uint8Array): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(target.files)) writeFileSync(join(dir, name), name === file ? bytes : content);
}

