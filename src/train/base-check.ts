/**
 * Which base model an adapter belongs to: its family and sizes, and a fingerprint of the weights the method
 * leaves frozen (an adapter trained on one 64-wide GPT-2 must not run silently on another). Saved in
 * training_state.json; checked on load, before any tensor is touched, with one line naming both models.
 */
import type { BaseModel, PeftMethod } from '../peft/method.js';
import type { BaseSignature } from './training-state.js';

export class BaseMismatchError extends Error {
  override name = 'BaseMismatchError';
}

/** FNV-1a style, two 32-bit lanes over names, shapes and f32 bit patterns, in key order. */
export async function baseFingerprint(base: BaseModel, frozen: (name: string) => boolean): Promise<string> {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (w: number) => {
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul(h2 ^ w, 0x5bd1e995) ^ (h2 >>> 15);
  };
  const names = [...base.params.keys()].filter(frozen).sort();
  if (names.length === 0) return '';
  for (const name of names) {
    for (let i = 0; i < name.length; i++) mix(name.charCodeAt(i));
    const t = base.params.tensor(name);
    for (const d of t.shape) mix(d);
    const values = await t.data();
    const bits = new Uint32Array((values instanceof Float32Array ? values : Float32Array.from(values)).buffer);
    for (let i = 0; i < bits.length; i++) mix(bits[i]);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** The base parameters a method leaves untouched (the fingerprint covers these). */
export const frozenUnder = (method: PeftMethod) => (name: string): boolean => !(method.trainsBase?.(name) ?? false);

export async function baseSignature(base: BaseModel, method: PeftMethod): Promise<BaseSignature> {
  return { family: base.family, layers: base.layers, heads: base.heads, hidden: base.hidden, vocabSize: base.vocabSize,
    fingerprint: await baseFingerprint(base, frozenUnder(method)) };
}

const describeBase = (s: Omit<BaseSignature, 'fingerprint'> & { fingerprint?: string }) =>
  `${s.family} (${s.layers} layers, width ${s.hidden}, ${s.heads} heads, vocab ${s.vocabSize}${s.fingerprint ? `, weights ${s.fingerprint}` : ''})`;

/** Shape check first (cheap, and the only one possible before the method is built), then the weights. */
export function checkBaseShape(saved: BaseSignature, base: BaseModel, where: string): void {
  const now = { family: base.family, layers: base.layers, heads: base.heads, hidden: base.hidden, vocabSize: base.vocabSize };
  const differs = (Object.keys(now) as (keyof typeof now)[]).filter((k) => saved[k] !== now[k]);
  if (differs.length > 0) {
    throw new BaseMismatchError(`${where}: the adapter was trained on ${describeBase({ ...saved, fingerprint: undefined })}, ` +
      `this model is ${describeBase(now)} (${differs.join(', ')} differ)`);
  }
}

export async function checkBaseWeights(saved: BaseSignature, base: BaseModel, method: PeftMethod, where: string): Promise<void> {
  if (!saved.fingerprint) return;
  const now = await baseFingerprint(base, frozenUnder(method));
  if (now !== saved.fingerprint) {
    throw new BaseMismatchError(`${where}: the adapter was trained on base weights ${saved.fingerprint}, this model's are ${now} ` +
      '(same shape, different weights: another checkpoint of the same architecture?)');
  }
}
