/**
 * Mutations of real files, as fast-check arbitraries: for JSON files a path into the parsed value and an edit there
 * (delete, retype, huge/negative/fractional numbers, rename, truncation and byte flips of the text); for safetensors
 * byte flips (mostly in the header), truncation, a wrong length prefix, edits of the header's entries (dtype, shape,
 * offsets, names, metadata) and NaN/Inf written into a float tensor.
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values a field may be replaced by: every JSON type, and the numbers that break naive code. */
export const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, '', 'x', 'NaN', '-1', [], {}, [1, 2], { a: 1 }),
  fc.constantFrom<Json>(0, -1, -0.5, 0.5, 2.5, 1e9, -1e9, 2 ** 31, 2 ** 32 + 1, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: -5, max: 300 }),
  fc.string({ maxLength: 8 }),
);

const pickKey = (value: Json, choice: number): string | number | null => {
  if (Array.isArray(value)) return value.length ? choice % value.length : null;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    return keys.length ? keys[choice % keys.length] : null;
  }
  return null;
};

export type JsonEdit =
  | { kind: 'delete' | 'rename' | 'set' | 'wrap'; path: number[]; value: Json }
  | { kind: 'truncate' | 'flip'; at: number; bit: number };

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constantFrom('delete', 'rename', 'set', 'set', 'set', 'wrap'), path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), value: oddValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('truncate', 'flip'), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }) },
) as fc.Arbitrary<JsonEdit>;

/** Apply an edit to the JSON text of a file; returns the new text and a label for reports. */
export function applyJsonEdit(text: string, anyEdit: JsonEdit): { bytes: Uint8Array; label: string } {
  if (anyEdit.kind === 'truncate' || anyEdit.kind === 'flip') {
    const edit = anyEdit as Extract<JsonEdit, { at: number }>;
    const bytes = new TextEncoder().encode(text);
    const at = Math.min(bytes.length - 1, Math.floor(edit.at * bytes.length));
    if (edit.kind === 'truncate') return { bytes: bytes.subarray(0, at), label: `truncate at ${at}` };
    const out = new Uint8Array(bytes);
    out[at] ^= 1 << edit.bit;
    return { bytes: out, label: `flip bit ${edit.bit} of byte ${at}` };
  }
  const edit = anyEdit as Extract<JsonEdit, { path: number[] }>;
  const root = JSON.parse(text) as Json;
  // walk: each step descends into a child (the path's numbers choose among the keys); stop early at a leaf
  let parent: Json = root;
  let key = pickKey(parent, edit.path[0]);
  const names: Array<string | number> = [];
  for (let i = 1; key !== null && i < edit.path.length; i++) {
    const child: Json = (parent as Record<string, Json>)[key as string];
    const next = pickKey(child, edit.path[i]);
    if (next === null) break;
    names.push(key);
    parent = child;
    key = next;
  }
  if (key === null) return { bytes: new TextEncoder().encode(JSON.stringify(edit.value)), label: `replace root by ${JSON.stringify(edit.value)}` };
  names.push(key);
  const container = parent as Record<string, Json> & Json[];
  const where = names.join('.');
  switch (edit.kind) {
    case 'delete':
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
      break;
    case 'rename':
      if (!Array.isArray(container)) {
        container[`${key}_x`] = container[key as string];
        delete container[key as string];
      }
      break;
    case 'set':
      container[key as string] = edit.value;
      break;
    case 'wrap':
      container[key as string] = [container[key as string]];
      break;
  }
  return { bytes: new TextEncoder().encode(JSON.stringify(root)), label: `${edit.kind} ${where}${edit.kind === 'set' ? ` = ${JSON.stringify(edit.value)}` : ''}` };
}

export type SafetensorsEdit =
  | { kind: 'flip-header' | 'flip-data'; at: number; bit: number }
  | { kind: 'truncate' | 'append'; at: number }
  | { kind: 'length'; value: bigint }
  | { kind: 'entry'; tensor: number; field: 'dtype' | 'shape' | 'offsets' | 'delete' | 'rename' | 'extra' | 'metadata'; value: Json; index: number }
  | { kind: 'nonfinite'; tensor: number; at: number; value: number };

export const safetensorsEdit: fc.Arbitrary<SafetensorsEdit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('flip-header', 'flip-data'), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('truncate', 'append'), at: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('length'), value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 20_000n })) }) },
  { weight: 6, arbitrary: fc.record({
    kind: fc.constant('entry'), tensor: fc.nat(), index: fc.nat(),
    field: fc.constantFrom('dtype', 'dtype', 'shape', 'shape', 'shape', 'offsets', 'offsets', 'delete', 'rename', 'extra', 'metadata'),
    value: fc.oneof(oddValue, fc.constantFrom<Json>('F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'f32', 'Q4')),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('nonfinite'), tensor: fc.nat(), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) }) },
) as fc.Arbitrary<SafetensorsEdit>;

function splitSafetensors(bytes: Uint8Array): { header: Record<string, Json>; data: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, Json>, data: bytes.subarray(8 + length) };
}

function joinSafetensors(header: Json, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + data.length).fill(0x20, 8 + json.length, 8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.set(data, 8 + padded);
  return out;
}

/** Apply an edit to a valid safetensors file; returns the new bytes and a label for reports. */
export function applySafetensorsEdit(file: Uint8Array, edit: SafetensorsEdit): { bytes: Uint8Array; label: string; valuesOnly?: boolean } {
  const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  switch (edit.kind) {
    case 'flip-header': case 'flip-data': {
      const [from, to] = edit.kind === 'flip-header' ? [0, headerEnd] : [headerEnd, file.length];
      if (to <= from) return { bytes: file, label: 'no-op' };
      const at = from + Math.min(to - from - 1, Math.floor(edit.at * (to - from)));
      const out = new Uint8Array(file);
      out[at] ^= 1 << edit.bit;
      return { bytes: out, label: `flip bit ${edit.bit} of ${edit.kind === 'flip-header' ? 'header' : 'data'} byte ${at}`, valuesOnly: edit.kind === 'flip-data' };
    }
    case 'truncate': {
      const at = Math.floor(edit.at * file.length);
      return { bytes: file.subarray(0, at), label: `truncate at ${at}` };
    }
    case 'append': {
      const extra = 1 + Math.floor(edit.at * 64);
      const out = new Uint8Array(file.length + extra);
      out.set(file);
      return { bytes: out, label: `append ${extra} bytes` };
    }
    case 'length': {
      const out = new Uint8Array(file);
      new DataView(out.buffer).setBigUint64(0, edit.value, true);
      return { bytes: out, label: `header length = ${edit.value}` };
    }
    case 'entry': {
      const { header, data } = splitSafetensors(file);
      const names = Object.keys(header).filter((n) => n !== '__metadata__');
      const name = names[edit.tensor % names.length];
      const entry = header[name] as { dtype: Json; shape: Json[]; data_offsets: Json[] };
      switch (edit.field) {
        case 'dtype': entry.dtype = edit.value; break;
        case 'shape':
          if (edit.index % 3 === 0) entry.shape = edit.value as Json[];
          else if (edit.index % 3 === 1 && entry.shape.length) entry.shape[edit.index % entry.shape.length] = edit.value;
          else entry.shape = [...entry.shape, typeof edit.value === 'number' ? edit.value : 1];
          break;
        case 'offsets':
          if (edit.index % 2 === 0) entry.data_offsets = edit.value as Json[];
          else entry.data_offsets[edit.index % 2] = edit.value;
          break;
        case 'delete': delete header[name]; break;
        case 'rename': // to an unknown key, or a second name for the same bytes
          header[`${name}.bogus`] = entry;
          if (edit.index % 2) delete header[name];
          break;
        case 'extra': header[`extra.${edit.index}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }; break;
        case 'metadata': header.__metadata__ = edit.index % 2 ? { format: edit.value } : edit.value; break;
      }
      return { bytes: joinSafetensors(header, data), label: `${edit.field} of ${name} = ${JSON.stringify(edit.value)}` };
    }
    case 'nonfinite': {
      const { header } = splitSafetensors(file);
      const floats = Object.entries(header).filter(([n, e]) => n !== '__metadata__' && (e as { dtype: string }).dtype === 'F32');
      if (floats.length === 0) return { bytes: file, label: 'no-op' };
      const [name, entry] = floats[edit.tensor % floats.length];
      const [begin, end] = (entry as { data_offsets: number[] }).data_offsets;
      if (end === begin) return { bytes: file, label: 'no-op' };
      const index = Math.min((end - begin) / 4 - 1, Math.floor(edit.at * ((end - begin) / 4)));
      const out = new Uint8Array(file);
      new DataView(out.buffer).setFloat32(headerEnd + begin + 4 * index, edit.value, true);
      return { bytes: out, label: `${name}[${index}] = ${edit.value}` };
    }
  }
}
