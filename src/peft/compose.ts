/**
 * Composition: several methods as one (BitFit + prompt tuning, prefix + prompt). The parameter masks are OR-ed
 * (element masks too), input prompts, KV prefixes and infix activations of the parts are concatenated along the virtual-token axis in
 * the order given, and each part's own tensors are kept under `<part>.<key>` so two parts may use the same key.
 */
import { concat } from '../autograd/functions.js';
import { Params } from '../models/params.js';
import type { PassContext, PeftMethod } from './method.js';

export function composeMethods(parts: PeftMethod[]): PeftMethod {
  if (parts.length === 0) throw new Error('composeMethods: no methods');
  if (parts.length === 1) return parts[0];
  const params = new Params();
  for (const m of parts) for (const [key, t] of m.params) params.set(`${m.kind}.${key}`, t);
  const inputs = parts.flatMap((m) => (m.input ? [m.input] : []));
  const kvs = parts.flatMap((m) => (m.kv ? [m.kv] : []));
  const hiddens = parts.flatMap((m) => (m.hidden ? [m.hidden] : []));
  const composed: PeftMethod & { collapse?: () => PeftMethod } = {
    kind: parts.map((m) => m.kind).join('+'),
    params,
    trainsBase: (name) => parts.some((m) => m.trainsBase?.(name) ?? false),
    gradMask(name) {
      const training = parts.filter((m) => m.trainsBase?.(name) ?? false);
      const masks = training.map((m) => m.gradMask?.(name) ?? null);
      if (masks.length === 0 || masks.some((mask) => mask === null)) return null; // some part trains all of it
      const union = new Float32Array(masks[0]!.length);
      for (const mask of masks) mask!.forEach((x, i) => { if (x) union[i] = 1; });
      return union;
    },
    ...(inputs.length ? { input: {
      numVirtualTokens: inputs.reduce((n, s) => n + s.numVirtualTokens, 0),
      embeddings: (ctx: PassContext) => (inputs.length === 1 ? inputs[0].embeddings(ctx) : concat(inputs.map((s) => s.embeddings(ctx)), 0)),
    } } : {}),
    ...(kvs.length ? { kv: {
      numVirtualTokens: kvs.reduce((n, s) => n + s.numVirtualTokens, 0),
      prefix: (ctx: PassContext) => (kvs.length === 1 ? kvs[0].prefix(ctx) : concat(kvs.map((s) => s.prefix(ctx)), 0)),
    } } : {}),
    ...(hiddens.length ? { hidden: {
      numVirtualTokens: hiddens.reduce((n, s) => n + s.numVirtualTokens, 0),
      activations: (ctx: PassContext) => (hiddens.length === 1 ? hiddens[0].activations(ctx) : concat(hiddens.map((s) => s.activations(ctx)), 0)),
    } } : {}),
  };
  if (parts.some((m) => 'collapse' in m)) {
    composed.collapse = () => composeMethods(parts.map((m) => (m as { collapse?: () => PeftMethod }).collapse?.() ?? m));
  }
  return composed;
}
