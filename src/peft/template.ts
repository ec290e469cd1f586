/**
 * P-tuning templates: virtual tokens anywhere, real "anchor" tokens kept, e.g. "{p:3} {x} {p:3} [MASK]" or
 * "{p:2} {x} It was {p:1} [MASK] .". Rendering happens before the model: each row's ids get placeholder slots
 * for the virtual tokens (filled by the input hook, see hooks.ts `placeVirtual`), so the sequence length and
 * the positions are those of the rendered template. The [MASK] position is returned for verbalizer heads.
 */
import type { VirtualLayout } from './hooks.js';

export type TemplatePart = { kind: 'virtual'; count: number } | { kind: 'input' } | { kind: 'text'; text: string } | { kind: 'mask' };

/**
 * Parses "{p:N}" (virtual tokens), "{x}" (the input), "[MASK]" and literal text between them. The P-tuning paper's
 * notation works too: "[P3] x [P3] [MASK]" ([PN] = N virtual tokens; a lone x = the input when there is no {x}).
 */
export function parseTemplate(written: string): TemplatePart[] {
  let template = written.replace(/\[P(\d+)\]/g, '{p:$1}');
  if (!template.includes('{x}')) template = template.replace(/(^|\s)x(?=\s|$)/, '$1{x}');
  const parts: TemplatePart[] = [];
  const re = /\{p:(\d+)\}|\{x\}|\[MASK\]/g;
  let last = 0;
  for (const m of template.matchAll(re)) {
    const text = template.slice(last, m.index).trim();
    if (text) parts.push({ kind: 'text', text });
    if (m[0] === '{x}') parts.push({ kind: 'input' });
    else if (m[0] === '[MASK]') parts.push({ kind: 'mask' });
    else {
      const count = Number(m[1]);
      if (count < 1) throw new Error(`template "${template}": {p:${m[1]}} needs at least one virtual token`);
      parts.push({ kind: 'virtual', count });
    }
    last = m.index! + m[0].length;
  }
  const tail = template.slice(last).trim();
  if (tail) parts.push({ kind: 'text', text: tail });
  if (parts.filter((p) => p.kind === 'input').length !== 1) throw new Error(`template "${template}" must contain {x} exactly once`);
  return parts;
}

export const virtualCount = (parts: TemplatePart[]): number => parts.reduce((n, p) => n + (p.kind === 'virtual' ? p.count : 0), 0);

/** Tokens a template adds around the input: virtual slots, the [MASK] slot and the anchors' tokens. */
export const templateLength = (parts: TemplatePart[], encode: (text: string) => number[]): number =>
  parts.reduce((n, p) => n + (p.kind === 'virtual' ? p.count : p.kind === 'mask' ? 1 : p.kind === 'text' ? encode(p.text).length : 0), 0);

export interface RenderOptions {
  encode: (text: string) => number[];
  /** Id used at virtual slots (its embedding is replaced; any valid id). */
  placeholderId: number;
  maskId?: number;
  /** Tokens around the rendered template ([CLS] … [SEP] for BERT). */
  prefix?: number[];
  suffix?: number[];
  /** The input is truncated so the whole row fits. */
  maxLength: number;
  padId: number;
}

export interface RenderedBatch {
  ids: Int32Array;
  attentionMask: Int32Array;
  shape: [number, number];
  layout: VirtualLayout & { kind: 'slots' };
  /** Per row, the index of [MASK] (−1 if the template has none). */
  maskPositions: Int32Array;
}

/** Renders the template around each input: ids, mask, virtual slots (k-th virtual token → k), [MASK] positions. */
export function renderTemplate(parts: TemplatePart[], inputs: string[], o: RenderOptions): RenderedBatch {
  const rows = inputs.map((input) => {
    const fixed = templateLength(parts, o.encode);
    const room = o.maxLength - fixed - (o.prefix?.length ?? 0) - (o.suffix?.length ?? 0);
    if (room < 1) throw new Error(`template leaves no room for the input in ${o.maxLength} tokens`);
    const ids: number[] = [...(o.prefix ?? [])];
    const slots: number[] = ids.map(() => -1);
    let k = 0;
    let mask = -1;
    for (const p of parts) {
      if (p.kind === 'virtual') for (let i = 0; i < p.count; i++) { ids.push(o.placeholderId); slots.push(k++); }
      else if (p.kind === 'mask') {
        if (o.maskId === undefined) throw new Error('template has [MASK] but the tokenizer has no mask token');
        mask = ids.length; ids.push(o.maskId); slots.push(-1);
      } else {
        const t = p.kind === 'input' ? o.encode(input).slice(0, room) : o.encode(p.text);
        for (const id of t) { ids.push(id); slots.push(-1); }
      }
    }
    for (const id of o.suffix ?? []) { ids.push(id); slots.push(-1); }
    return { ids, slots, mask };
  });
  const T = Math.max(...rows.map((r) => r.ids.length));
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(o.padId);
  const attentionMask = new Int32Array(B * T);
  const slots = new Int32Array(B * T).fill(-1);
  rows.forEach((r, b) => {
    r.ids.forEach((id, t) => { ids[b * T + t] = id; attentionMask[b * T + t] = 1; slots[b * T + t] = r.slots[t]; });
  });
  return { ids, attentionMask, shape: [B, T], layout: { kind: 'slots', slots }, maskPositions: Int32Array.from(rows.map((r) => r.mask)) };
}
