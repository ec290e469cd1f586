/**
 * webpeft's resumable training state, `training_state.json`: what a run needs to continue exactly where it
 * stopped (the method and its settings, the schedule over the whole run, the data order, AdamW's step) and
 * what the adapter was trained on (the base model's shape and a fingerprint of its frozen weights).
 * `parseTrainingState` checks every field and names the file and field of the first bad one; it is pure, so
 * a fuzz suite can call it on mutated files.
 */
import { METHOD_NAMES, parseMethodList } from '../peft/registry.js';
import type { MethodSettings } from './methods.js';

export const TRAINING_STATE_FORMAT = 'webpeft-training-state';
export const TRAINING_STATE_VERSION = 2;

/** The base model an adapter was trained on. */
export interface BaseSignature {
  family: 'gpt2' | 'bert' | 'bart';
  layers: number;
  heads: number;
  hidden: number;
  vocabSize: number;
  /** Hex digest of the base weights the method does not train (names, shapes, f32 values); '' when it trains all. */
  fingerprint: string;
}

export interface TrainingState {
  format: typeof TRAINING_STATE_FORMAT;
  version: typeof TRAINING_STATE_VERSION;
  /** A method name or a composition ('bitfit+prompt'). */
  method: string;
  settings: MethodSettings;
  task: string;
  model: string;
  /** Steps done: the next step to run. */
  step: number;
  /** AdamW's step count (the bias corrections). */
  optimizerStep: number;
  /** The schedule of the whole run, not of one invocation. */
  schedule: { totalSteps: number; warmup: number; lr: number; weightDecay: number; clip: number; beta2: number };
  /** What fixes the order and content of the batches of step s. */
  data: { batchSize: number; maxLength: number; seed: number; /** Trained on the first N training examples only. */ trainLimit?: number };
  base: BaseSignature;
  metrics?: Record<string, number>;
}

export class TrainingStateError extends Error {
  override name = 'TrainingStateError';
  /** The bad field ('schedule.lr', '(root)', …), when one is named. */
  constructor(message: string, readonly field?: string) { super(message); }
}

type Json = Record<string, unknown>;

/** Validates a parsed training_state.json; `file` names it in the errors (`FILE: schedule.lr: …`). */
export function parseTrainingState(value: unknown, file: string): TrainingState {
  const fail = (field: string, why: string): never => { throw new TrainingStateError(`${file}: ${field}: ${why}`, field); };
  const show = (x: unknown) => (typeof x === 'string' ? `'${x.slice(0, 40)}'` : JSON.stringify(x) ?? String(x));
  const object = (x: unknown, field: string): Json => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(field, `must be an object, found ${show(x)}`);
    return x as Json;
  };
  const root = object(value, '(root)');
  const at = (o: Json, path: string, key: string) => ({ v: o[key], field: path ? `${path}.${key}` : key });
  const int = (o: Json, path: string, key: string, min: number): number => {
    const { v, field } = at(o, path, key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, `must be an integer ≥ ${min}, found ${show(v)}`);
    return v as number;
  };
  const real = (o: Json, path: string, key: string, ok: (x: number) => boolean, range: string): number => {
    const { v, field } = at(o, path, key);
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(field, `must be a number ${range}, found ${show(v)}`);
    return v as number;
  };
  const str = (o: Json, path: string, key: string): string => {
    const { v, field } = at(o, path, key);
    if (typeof v !== 'string' || v.length === 0) fail(field, `must be a non-empty string, found ${show(v)}`);
    return v as string;
  };
  const oneOf = <T extends string>(o: Json, path: string, key: string, known: readonly T[]): T => {
    const { v, field } = at(o, path, key);
    if (!known.includes(v as T)) fail(field, `must be one of ${known.join(', ')}, found ${show(v)}`);
    return v as T;
  };

  if (root.format !== TRAINING_STATE_FORMAT) fail('format', `not a webpeft training state (expected '${TRAINING_STATE_FORMAT}', found ${show(root.format)})`);
  if (root.version !== TRAINING_STATE_VERSION) {
    fail('version', `${show(root.version)} is not ${TRAINING_STATE_VERSION}` +
      (root.version === 1 ? ' (saved by a webpeft without exact resume; its HF PEFT files still load)' : ''));
  }
  const method = root.method;
  if (typeof method !== 'string') fail('method', `must be a method name such as ${METHOD_NAMES.join(', ')} (or a+b), found ${show(method)}`);
  try { parseMethodList(method as string); } catch (e) { fail('method', (e as Error).message); }

  const s = object(root.settings, 'settings');
  const optionalInt = (key: string) => (s[key] === undefined ? undefined : int(s, 'settings', key, 0));
  const settings: MethodSettings = { seed: int(s, 'settings', 'seed', 0) };
  const virtualTokens = optionalInt('virtualTokens');
  const hidden = optionalInt('hidden');
  if (virtualTokens !== undefined) settings.virtualTokens = virtualTokens;
  if (hidden !== undefined) settings.hidden = hidden;
  if (s.encoder !== undefined) settings.encoder = oneOf(s, 'settings', 'encoder', ['lstm', 'mlp'] as const);
  if (s.biasTypes !== undefined) {
    if (!Array.isArray(s.biasTypes) || s.biasTypes.some((b) => typeof b !== 'string')) fail('settings.biasTypes', `must be a list of bias types, found ${show(s.biasTypes)}`);
    settings.biasTypes = s.biasTypes as MethodSettings['biasTypes'];
  }
  if (s.promptInit !== undefined) settings.promptInit = oneOf(s, 'settings', 'promptInit', ['random', 'vocab'] as const);
  if (s.template !== undefined) {
    if (typeof s.template !== 'string') fail('settings.template', `must be a template string such as "[P3] x [P3] [MASK]", found ${show(s.template)}`);
    settings.template = s.template as string;
  }

  const step = int(root, '', 'step', 0);
  const optimizerStep = int(root, '', 'optimizerStep', 0);
  const sc = object(root.schedule, 'schedule');
  const schedule = {
    totalSteps: int(sc, 'schedule', 'totalSteps', 1), warmup: int(sc, 'schedule', 'warmup', 0),
    lr: real(sc, 'schedule', 'lr', (x) => x > 0, '> 0'), weightDecay: real(sc, 'schedule', 'weightDecay', (x) => x >= 0, '≥ 0'),
    clip: real(sc, 'schedule', 'clip', (x) => x >= 0, '≥ 0'), beta2: real(sc, 'schedule', 'beta2', (x) => x >= 0 && x < 1, 'in [0, 1)'),
  };
  if (step > schedule.totalSteps) fail('step', `${step} is past schedule.totalSteps ${schedule.totalSteps}`);
  const d = object(root.data, 'data');
  const data = { batchSize: int(d, 'data', 'batchSize', 1), maxLength: int(d, 'data', 'maxLength', 1), seed: int(d, 'data', 'seed', 0),
    ...(d.trainLimit !== undefined ? { trainLimit: int(d, 'data', 'trainLimit', 1) } : {}) };
  const b = object(root.base, 'base');
  const base: BaseSignature = {
    family: oneOf(b, 'base', 'family', ['gpt2', 'bert', 'bart'] as const), layers: int(b, 'base', 'layers', 1), heads: int(b, 'base', 'heads', 1),
    hidden: int(b, 'base', 'hidden', 1), vocabSize: int(b, 'base', 'vocabSize', 1),
    fingerprint: typeof b.fingerprint === 'string' && /^[0-9a-f]*$/.test(b.fingerprint) ? b.fingerprint : fail('base.fingerprint', `must be a hex string, found ${show(b.fingerprint)}`),
  };
  const state: TrainingState = {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: method as string, settings, task: str(root, '', 'task'), model: str(root, '', 'model'),
    step, optimizerStep, schedule, data, base,
  };
  if (root.metrics !== undefined) {
    const m = object(root.metrics, 'metrics');
    for (const k of Object.keys(m)) real(m, 'metrics', k, () => true, '');
    state.metrics = m as Record<string, number>;
  }
  return state;
}

/** The settings a resumed run asks for that differ from the saved ones, as `flag: saved X, asked Y`. */
export function resumeConflicts(saved: Record<string, unknown>, asked: Record<string, unknown>): string[] {
  return Object.entries(asked).filter(([, v]) => v !== undefined).filter(([k, v]) => JSON.stringify(saved[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k} ${String(v)} (saved: ${String(saved[k])})`);
}
