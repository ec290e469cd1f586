/**
 * Checkpoints in and out, in HF's key names. A checkpoint is a Map from key to {shape, data} — what
 * `parseSafetensors` returns and what `serializeSafetensors` takes — so a model round-trips through a
 * safetensors file bit for bit (f32 models write F32, f64 models F64).
 *
 * Each model supplies `KeyRules`: how a checkpoint key maps to a parameter (prefixes, old gamma/beta names),
 * which keys are buffers or tied copies to skip, and which parameters may be absent (a new task head, which
 * is then initialized as HF does). Everything else — a missing backbone tensor, an unknown key, a shape or
 * dtype that does not fit — is a CheckpointError, one line naming the key and the shapes.
 */
import { fmt, sameShape } from '../autograd/shape.js';
import { parseSafetensors, serializeSafetensors, type TensorData } from '../io/safetensors.js';
import type { ParamSpec, Params } from './params.js';

export interface CheckpointTensor { shape: readonly number[]; data: TensorData }
export type Checkpoint = ReadonlyMap<string, CheckpointTensor>;
/** What `save` produces: the model's own float arrays (copies). */
export type SavedCheckpoint = Map<string, { shape: number[]; data: Float32Array | Float64Array }>;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** How a checkpoint key is read: into a parameter, skipped (with the shape it must have, if any), or unknown (null). */
export type KeyTarget = { param: string } | { skip: string; shape?: readonly number[] } | null;

export interface KeyRules {
  /** 'gpt2' or 'bert', for messages. */
  model: string;
  target(key: string, keys: ReadonlySet<string>): KeyTarget;
  /** Parameters that may be missing from a checkpoint (heads): HF initializes them. */
  optional(name: string): boolean;
}

export interface LoadReport {
  /** Parameter ← checkpoint key. */
  loaded: Map<string, string>;
  /** Parameters the checkpoint did not have, initialized as HF does (a new head). */
  initialized: string[];
  /** Checkpoint keys not read, with the reason (buffers, tied copies, other heads). */
  skipped: Map<string, string>;
}

export interface LoadOptions {
  /** Refuse to initialize anything: every parameter must come from the checkpoint. */
  strict?: boolean;
}

function describeShape(t: CheckpointTensor): string {
  return fmt(t.shape);
}

/**
 * Matches a checkpoint against the parameter specs: the values for each loaded parameter, and a report.
 * Throws one CheckpointError listing every problem (first one first) on a single line.
 */
export function matchCheckpoint(specs: ParamSpec[], checkpoint: Checkpoint, rules: KeyRules, o: LoadOptions = {}):
  { values: Map<string, Float32Array | Float64Array>; report: LoadReport } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const keys = new Set(checkpoint.keys());
  const values = new Map<string, Float32Array | Float64Array>();
  const report: LoadReport = { loaded: new Map(), initialized: [], skipped: new Map() };
  const problems: string[] = [];
  for (const [key, t] of checkpoint) {
    const target = rules.target(key, keys);
    if (target === null) { problems.push(`unexpected key ${key} ${describeShape(t)}`); continue; }
    if ('skip' in target) {
      if (target.shape && !sameShape(t.shape, target.shape)) {
        problems.push(`${key} has shape ${describeShape(t)}, expected ${fmt(target.shape)}`);
      }
      report.skipped.set(key, target.skip);
      continue;
    }
    const spec = byName.get(target.param);
    if (!spec) { problems.push(`unexpected key ${key} ${describeShape(t)}`); continue; }
    const earlier = report.loaded.get(spec.name);
    if (earlier !== undefined) { problems.push(`${key} and ${earlier} both give ${spec.name}`); continue; }
    if (!sameShape(t.shape, spec.shape)) {
      problems.push(`${key} has shape ${describeShape(t)}, expected ${fmt(spec.shape)}`);
      continue;
    }
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      problems.push(`${key} holds ${t.data.constructor.name}, expected floating-point values`);
      continue;
    }
    values.set(spec.name, t.data);
    report.loaded.set(spec.name, key);
  }
  for (const s of specs) {
    if (values.has(s.name)) continue;
    if (rules.optional(s.name) && !o.strict) report.initialized.push(s.name);
    else problems.push(`missing ${s.name} (expected shape ${fmt(s.shape)})`);
  }
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (${problems.length} problems: ${problems.slice(1, 4).join('; ')}${problems.length > 4 ? '; …' : ''})` : '';
    throw new CheckpointError(`${rules.model} checkpoint: ${problems[0]}${more}`);
  }
  return { values, report };
}

/** Copies of every parameter's values, under the key `keyOf(name)` (async: a GPU tensor is read back). */
export async function saveParams(params: Params, keyOf: (name: string) => string): Promise<SavedCheckpoint> {
  const out: SavedCheckpoint = new Map();
  for (const [name, t] of params) {
    const data = await t.data();
    const copy = t.dtype === 'f64' ? Float64Array.from(data) : Float32Array.from(data);
    out.set(keyOf(name), { shape: [...t.shape], data: copy });
  }
  return out;
}

/** A checkpoint from safetensors bytes (F16/BF16 are widened to f32 by the reader). */
export function checkpointFromSafetensors(bytes: Uint8Array, fileName = '<buffer>'): Checkpoint {
  return parseSafetensors(bytes, fileName).tensors;
}

export function checkpointToSafetensors(checkpoint: SavedCheckpoint): Uint8Array {
  return serializeSafetensors(checkpoint);
}
