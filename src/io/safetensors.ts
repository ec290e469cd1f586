/**
 * The safetensors format (huggingface/safetensors), read and written on byte buffers. Browser-safe: no Node imports;
 * file access (reading by offsets, so files of any size load) lives in `node.ts`.
 *
 *   [u64 little-endian N] [N bytes of UTF-8 JSON header, space-padded] [byte buffer]
 *   header = { "__metadata__"?: {string: string}, NAME: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} }
 *
 * Reading validates what the reference reader validates (header ≤ 100 MB, starts with '{', valid UTF-8 JSON object,
 * known dtypes, offsets contiguous from 0 in offset order with no gap or overlap, `end - begin = numel × size`, the
 * last tensor ends exactly at the end of the file) and also rejects duplicate names, which JSON.parse would otherwise
 * silently collapse. Writing matches the reference writer byte for byte: tensors ordered by descending dtype
 * alignment then by name, compact JSON with `__metadata__` first, header padded with spaces to a multiple of 8.
 */
import {
  decodeBfloat16, decodeFp8, decodeHalf, encodeNarrowFloats,
} from './float-bits.js';

/** The format's dtypes, in the reference's order (increasing alignment); the writer sorts by it, descending. */
export const DTYPES = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
] as const;
export type Dtype = (typeof DTYPES)[number];

export const DTYPE_SIZE: Record<Dtype, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** The reference reader refuses headers above this many bytes. */
export const MAX_HEADER_SIZE = 100_000_000;

/**
 * What a tensor decodes to: F32/F16/BF16/F8 → Float32Array (exact), F64 → Float64Array, I32 → Int32Array,
 * I64 → BigInt64Array, and each other integer type to its own typed array (BOOL → Uint8Array of 0/1).
 */
export type TensorData =
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array
  | BigInt64Array | BigUint64Array;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** [begin, end) relative to the start of the byte buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors in file (offset) order. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string> | null;
  /** Absolute offset of the byte buffer: 8 + N. */
  dataStart: number;
}

export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string> | null;
}

/** Any bad safetensors input or output. The message is one line: `file: where: what`. */
export class SafetensorsError extends Error {
  constructor(
    readonly fileName: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${fileName}: ${field}: ${detail}`);
    this.name = 'SafetensorsError';
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const isDtype = (value: unknown): value is Dtype => typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // with the u flag, only unpaired surrogates match
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/**
 * Validate the header of a safetensors file. `bytes` holds the whole file, or — when `fileSize` is given — at least
 * its first 8 + N bytes (the length and the header; a reader by offsets passes only those). Throws SafetensorsError
 * naming the problem.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, fileName: string, fileSize = bytes.length): SafetensorsHeader {
  const fail: (field: string, detail: string) => never = (field, detail) => {
    throw new SafetensorsError(fileName, field, detail);
  };
  if (fileSize < 8 || bytes.length < 8) fail('header length', `file is ${fileSize} bytes, too short for the 8-byte header length`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_SIZE)) fail('header length', `${declared} bytes exceeds the ${MAX_HEADER_SIZE}-byte limit`);
  const headerLength = Number(declared);
  if (8 + headerLength > fileSize) {
    fail('header length', `header of ${headerLength} bytes runs past the end of the ${fileSize}-byte file`);
  }
  if (8 + headerLength > bytes.length) fail('header', `only ${bytes.length} of its ${8 + headerLength} bytes were given`);
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('header', 'is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('header', `must start with '{', found ${show(text.slice(0, 16))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail('header', `is not valid JSON (${(error as Error).message.split('\n')[0]})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header', 'is not a JSON object');
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(key === '__metadata__' ? key : `tensor ${show(key)}`, 'appears twice in the header');
    seen.add(key);
  }

  let metadata: Record<string, string> | null = null;
  const entries: Array<[string, TensorInfo]> = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(name, 'must be an object of strings');
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (typeof item !== 'string') fail(`__metadata__.${key}`, `must be a string, found ${show(item)}`);
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    const where = `tensor ${show(name)}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'entry must be an object');
    const entry = value as Record<string, unknown>;
    if (!isDtype(entry.dtype)) fail(`${where}.dtype`, `unknown dtype ${show(entry.dtype)}`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every(isIndex)) fail(`${where}.shape`, `must be an array of non-negative integers, found ${show(shape)}`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
      fail(`${where}.data_offsets`, `must be [begin, end] non-negative integers, found ${show(offsets)}`);
    }
    entries.push([name, { dtype: entry.dtype as Dtype, shape: [...(shape as number[])], dataOffsets: [(offsets as number[])[0], (offsets as number[])[1]] }]);
  }

  // Like the reference: order by offsets, then every tensor must start where the previous one ended.
  entries.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let position = 0;
  for (const [name, info] of entries) {
    const [begin, end] = info.dataOffsets;
    const where = `tensor ${show(name)}.data_offsets`;
    if (begin !== position || end < begin) {
      const problem = begin < position ? 'overlaps the previous tensor' : begin > position ? 'leaves a gap after the previous tensor' : 'ends before it begins';
      fail(where, `[${begin}, ${end}] ${problem} (expected to begin at ${position})`);
    }
    const count = info.shape.reduce((a, b) => a * b, 1);
    const needed = count * DTYPE_SIZE[info.dtype];
    if (!Number.isSafeInteger(needed)) fail(`tensor ${show(name)}.shape`, `[${info.shape}] overflows`);
    if (end - begin !== needed) {
      fail(where, `span ${end - begin} bytes but shape [${info.shape}] of ${info.dtype} needs ${needed}`);
    }
    position = end;
  }
  const available = fileSize - 8 - headerLength;
  if (position < available) fail('data', `${available - position} trailing bytes after the last tensor (tensors cover ${position} of ${available})`);
  if (position > available) fail('data', `file is truncated: tensors need ${position} bytes of data, ${available} present`);
  return { tensors: new Map(entries), metadata, dataStart: 8 + headerLength };
}

/** Parse and decode a whole safetensors file. `fileName` only labels error messages. */
export function parseSafetensors(bytes: Uint8Array, fileName: string): SafetensorsFile {
  const header = parseSafetensorsHeader(bytes, fileName);
  const tensors = new Map<string, Tensor>();
  for (const [name, info] of header.tensors) {
    const [begin, end] = info.dataOffsets;
    const data = decodeTensorBytes(bytes.subarray(header.dataStart + begin, header.dataStart + end), info.dtype);
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** Decode one tensor's little-endian bytes into a fresh, aligned typed array. */
export function decodeTensorBytes(raw: Uint8Array, dtype: Dtype): TensorData {
  return decodeTensorBuffer(new Uint8Array(raw).buffer, dtype); // a copy (Buffer#slice would share): aligned, owned, exact length
}

/** Decode a buffer holding exactly one tensor's little-endian bytes; integer and F32/F64 arrays are views on it. */
export function decodeTensorBuffer(buffer: ArrayBuffer, dtype: Dtype): TensorData {
  if (!LITTLE_ENDIAN_HOST) throw new Error('safetensors: big-endian hosts are not supported');
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'F64': return new Float64Array(buffer);
    case 'F16': return decodeHalf(new Uint16Array(buffer));
    case 'BF16': return decodeBfloat16(new Uint16Array(buffer));
    case 'F8_E4M3': return decodeFp8(new Uint8Array(buffer), 'E4M3');
    case 'F8_E5M2': return decodeFp8(new Uint8Array(buffer), 'E5M2');
    case 'I32': return new Int32Array(buffer);
    case 'U32': return new Uint32Array(buffer);
    case 'I16': return new Int16Array(buffer);
    case 'U16': return new Uint16Array(buffer);
    case 'I8': return new Int8Array(buffer);
    case 'U8': case 'BOOL': return new Uint8Array(buffer);
    case 'I64': return new BigInt64Array(buffer);
    case 'U64': return new BigUint64Array(buffer);
    default: {
      const unknown: never = dtype;
      throw new Error(`safetensors: unknown dtype ${show(unknown)}`);
    }
  }
}

/** The index of the first NaN or ±Inf in a float tensor's values, or -1 (always -1 for integer dtypes). */
export function firstNonfinite(data: TensorData): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Throws SafetensorsError naming the first tensor of `file` that holds a NaN or ±Inf, and where. */
export function assertFinite(file: SafetensorsFile, fileName: string): void {
  for (const [name, tensor] of file.tensors) {
    const index = firstNonfinite(tensor.data);
    if (index >= 0) {
      throw new SafetensorsError(fileName, `tensor ${show(name)}`, `holds ${tensor.data[index]} at flat index ${index} of shape [${tensor.shape}] (pass allowNonfinite / --allow-nonfinite to load it anyway)`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/**
 * A tensor to write. `data` may be a function, called once when its bytes are written (for tensors that live on a
 * device). Without `dtype` the array type decides (Float32Array → F32, Int32Array → I32, BigInt64Array → I64, ...).
 * F16/BF16 take a Float32Array (rounded to nearest even) or a Uint16Array of raw bits; F64 takes Float32Array or
 * Float64Array; I64 takes BigInt64Array or Int32Array.
 */
export interface TensorToWrite {
  dtype?: Dtype;
  shape: readonly number[];
  data: TensorData | (() => TensorData);
}

export type TensorsToWrite = ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>;

export interface PreparedEntry {
  name: string;
  dtype: Dtype;
  tensor: TensorToWrite;
  byteLength: number;
}

export interface PreparedSafetensors {
  /** The 8-byte length followed by the padded JSON header. */
  header: Uint8Array;
  /** Tensors in the order their bytes follow the header. */
  entries: PreparedEntry[];
  totalBytes: number;
}

function inferDtype(data: TensorData): Dtype | null {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Uint8Array) return 'U8';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof BigUint64Array) return 'U64';
  return null;
}

/** Compare by Unicode code points, which is the byte order of UTF-8 (the reference sorts Rust `String`s). */
function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a, (c) => c.codePointAt(0)!);
  const right = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(left.length, right.length); i++) if (left[i] !== right[i]) return left[i] - right[i];
  return left.length - right.length;
}

/** Validate names, shapes, dtypes and metadata, and lay out the header. Tensor data is not touched if lazy. */
export function prepareSafetensors(
  tensors: TensorsToWrite,
  metadata: Readonly<Record<string, string>> | null = null,
  fileName = '<buffer>',
): PreparedSafetensors {
  const fail: (field: string, detail: string) => never = (field, detail) => {
    throw new SafetensorsError(fileName, field, detail);
  };
  const pairs: Array<[string, TensorToWrite]> = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const entries: PreparedEntry[] = pairs.map(([name, tensor]) => {
    const where = `tensor ${show(name)}`;
    if (name === '__metadata__') fail(where, 'the name __metadata__ is reserved');
    if (LONE_SURROGATE.test(name)) fail(where, 'name is not well-formed Unicode (lone surrogate)');
    if (!Array.isArray(tensor.shape) || !tensor.shape.every(isIndex)) fail(`${where}.shape`, `must be non-negative integers, found ${show(tensor.shape)}`);
    const eager = typeof tensor.data === 'function' ? null : tensor.data;
    const dtype = tensor.dtype ?? (eager ? inferDtype(eager) : null);
    if (dtype === null) fail(`${where}.dtype`, 'must be given when data is lazy or not a typed array');
    if (!isDtype(dtype)) fail(`${where}.dtype`, `unknown dtype ${show(dtype)}`);
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (eager && eager.length !== count) fail(`${where}.data`, `has ${eager.length} elements but shape [${tensor.shape}] needs ${count}`);
    return { name, dtype: dtype as Dtype, tensor, byteLength: count * DTYPE_SIZE[dtype as Dtype] };
  });
  entries.sort((a, b) => DTYPES.indexOf(b.dtype) - DTYPES.indexOf(a.dtype) || compareCodePoints(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== null) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') fail(`__metadata__.${key}`, `must be a string, found ${show(value)}`);
      if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) fail(`__metadata__.${key}`, 'is not well-formed Unicode');
    }
    const keys = Object.keys(metadata).sort(compareCodePoints);
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const entry of entries) {
    const info = `{"dtype":"${entry.dtype}","shape":[${entry.tensor.shape.join(',')}],"data_offsets":[${offset},${offset + entry.byteLength}]}`;
    parts.push(`${JSON.stringify(entry.name)}:${info}`);
    offset += entry.byteLength;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, entries, totalBytes: header.length + offset };
}

/** The little-endian bytes of one prepared tensor (calls lazy data). */
export function encodeTensor(entry: PreparedEntry, fileName = '<buffer>'): Uint8Array {
  if (!LITTLE_ENDIAN_HOST) throw new Error('safetensors: big-endian hosts are not supported');
  const where = `tensor ${show(entry.name)}.data`;
  const data = typeof entry.tensor.data === 'function' ? entry.tensor.data() : entry.tensor.data;
  const bytesOf = (array: TensorData): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  let out: Uint8Array;
  const { dtype } = entry;
  if ((dtype === 'F16' || dtype === 'BF16') && (data instanceof Float32Array || data instanceof Float64Array)) {
    out = bytesOf(encodeNarrowFloats(data instanceof Float32Array ? data : Float32Array.from(data), dtype));
  } else if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Uint16Array) {
    out = bytesOf(data);
  } else if (dtype === 'F32' && data instanceof Float64Array) {
    out = bytesOf(Float32Array.from(data));
  } else if (dtype === 'F64' && data instanceof Float32Array) {
    out = bytesOf(Float64Array.from(data));
  } else if (dtype === 'I64' && data instanceof Int32Array) {
    out = bytesOf(BigInt64Array.from(data, (v) => BigInt(v)));
  } else if (dtype === 'BOOL' && data instanceof Uint8Array) {
    if (data.some((v) => v > 1)) throw new SafetensorsError(fileName, where, 'BOOL values must be 0 or 1');
    out = bytesOf(data);
  } else if (inferDtype(data) === dtype) {
    out = bytesOf(data);
  } else {
    throw new SafetensorsError(fileName, where, `cannot write a ${data.constructor.name} as ${dtype}`);
  }
  if (out.length !== entry.byteLength) {
    throw new SafetensorsError(fileName, where, `is ${out.length} bytes but shape [${entry.tensor.shape}] of ${dtype} needs ${entry.byteLength}`);
  }
  return out;
}

/** Serialize tensors (and optional string metadata) to a complete safetensors file in memory. */
export function serializeSafetensors(
  tensors: TensorsToWrite,
  metadata: Readonly<Record<string, string>> | null = null,
  fileName = '<buffer>',
): Uint8Array {
  const prepared = prepareSafetensors(tensors, metadata, fileName);
  const out = new Uint8Array(prepared.totalBytes);
  out.set(prepared.header, 0);
  let position = prepared.header.length;
  for (const entry of prepared.entries) {
    out.set(encodeTensor(entry, fileName), position);
    position += entry.byteLength;
  }
  return out;
}

/** The keys of the outermost object of a JSON text already known to be valid, in order, duplicates included. */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}
