import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floatToHalfBits, halfToFloatBits } from '../src/io/float-bits.js';
import {
  DTYPE_SIZE, parseSafetensors, parseSafetensorsHeader, SafetensorsError, serializeSafetensors,
  type Dtype, type TensorData, type TensorToWrite,
} from '../src/io/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../src/io/node.js';

const FILE = 'model.safetensors';
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const floatsFromBits = (bits: number[]): Float32Array => new Float32Array(new Uint32Array(bits).buffer);

/** A file from a raw header string and data bytes, as a hostile or broken writer might produce. */
function rawFile(header: string, data: Uint8Array | number = 0, declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function expectSafetensorsError(run: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SafetensorsError);
  const message = (caught as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`${FILE}: `)).toBe(true);
  for (const fragment of fragments) expect(message).toContain(fragment);
}

describe('writer matches the reference implementation byte for byte', () => {
  // Byte vectors from huggingface/safetensors' own Rust tests (test_serialization, test_empty, forced alignment).
  const sixFloats = new Float32Array([0, 1, 2, 3, 4, 5]);
  it('one F32 tensor', () => {
    const out = serializeSafetensors({ 'attn.0': { shape: [1, 2, 3], data: sixFloats } });
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(Array.from(out)).toEqual([64, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...new Uint8Array(sixFloats.buffer)]);
  });
  it('pads the header with spaces to a multiple of 8', () => {
    const out = serializeSafetensors({ attn0: { shape: [1, 1, 2, 3], data: sixFloats } });
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ';
    expect(Array.from(out)).toEqual([72, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...new Uint8Array(sixFloats.buffer)]);
  });
  it('empty file, with and without metadata', () => {
    expect(Array.from(serializeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const out = serializeSafetensors({}, { framework: 'pt' });
    expect(Array.from(out)).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]);
  });
  it('orders tensors by descending dtype alignment, then by name, so every tensor is aligned', () => {
    const out = serializeSafetensors({
      b: { shape: [3], data: new Float32Array(3) },
      a: { shape: [1], dtype: 'F16', data: new Float32Array(1) },
      c: { shape: [2], data: new Float64Array(2) },
      d: { shape: [1], data: new Uint8Array(1) },
      A: { shape: [2], data: new Float32Array(2) },
    });
    const header = parseSafetensorsHeader(out, FILE);
    expect([...header.tensors.keys()]).toEqual(['c', 'A', 'b', 'a', 'd']);
    for (const info of header.tensors.values()) expect((header.dataStart + info.dataOffsets[0]) % DTYPE_SIZE[info.dtype]).toBe(0);
  });
});

describe('reading', () => {
  it('round-trips f32 bit-exactly: NaN payloads, -0, ±inf, subnormals, extremes', () => {
    const bits = [0x7fc00000, 0x7f800001, 0xffc12345, 0x80000000, 0x00000000, 0x7f800000, 0xff800000, 0x00000001,
      0x807fffff, 0x7f7fffff, 0x3f800000, 0xbeaaaaab];
    const file = parseSafetensors(serializeSafetensors({ x: { shape: [3, 4], data: floatsFromBits(bits) } }), FILE);
    const x = file.tensors.get('x')!;
    expect(x.dtype).toBe('F32');
    expect(x.shape).toEqual([3, 4]);
    expect(bitsOf(x.data as Float32Array)).toEqual(bits);
  });

  it('reads hand-encoded F16 exactly', () => {
    const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x3555];
    const expected = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, -0, Infinity, -Infinity, 0x555 / 0x400 / 4];
    const file = parseSafetensors(serializeSafetensors({ h: { dtype: 'F16', shape: [10], data: new Uint16Array(halves) } }), FILE);
    const values = Array.from(file.tensors.get('h')!.data as Float32Array);
    expect(values).toEqual(expected);
    expect(Object.is(values[6], -0)).toBe(true);
    const nan = parseSafetensors(serializeSafetensors({ h: { dtype: 'F16', shape: [1], data: new Uint16Array([0x7e00]) } }), FILE);
    expect(Number.isNaN((nan.tensors.get('h')!.data as Float32Array)[0])).toBe(true);
  });

  it('reads hand-encoded BF16 exactly', () => {
    const values = [0x3f80, 0xc040, 0x7f7f, 0x0001, 0x8000, 0x7f80, 0x3eab];
    const expected = [1, -3, 3.3895313892515355e38, 2 ** -133, -0, Infinity, 0.333984375];
    const file = parseSafetensors(serializeSafetensors({ b: { dtype: 'BF16', shape: [7], data: new Uint16Array(values) } }), FILE);
    expect(Array.from(file.tensors.get('b')!.data as Float32Array)).toEqual(expected);
  });

  it('F16 and BF16 survive f32 → narrow → f32 for all 65536 bit patterns (NaNs stay NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    for (const dtype of ['F16', 'BF16'] as const) {
      const wide = parseSafetensors(serializeSafetensors({ t: { dtype, shape: [65536], data: all } }), FILE).tensors.get('t')!.data as Float32Array;
      const again = serializeSafetensors({ t: { dtype, shape: [65536], data: wide } });
      const header = parseSafetensorsHeader(again, FILE);
      const narrow = new Uint16Array(again.slice(header.dataStart).buffer);
      for (let i = 0; i < 65536; i++) {
        if (Number.isNaN(wide[i])) expect(Number.isNaN(halfOrBf16(narrow[i], dtype))).toBe(true);
        else if (narrow[i] !== i) expect.fail(`${dtype} 0x${i.toString(16)} came back as 0x${narrow[i].toString(16)}`);
      }
    }
  });

  it('F16 narrowing rounds to nearest, ties to even (checked against an exact oracle)', () => {
    const oracle = (x: number): number => {
      if (!Number.isFinite(x)) return x;
      const spacing = Math.abs(x) < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10);
      const scaled = x / spacing;
      let rounded = Math.round(scaled);
      if (Math.abs(scaled % 1) === 0.5 && rounded % 2 !== 0) rounded -= 1; // Math.round ties toward +inf
      const r = rounded * spacing;
      return Math.abs(r) >= 65520 ? Math.sign(r) * Infinity : r;
    };
    fc.assert(fc.property(fc.float({ noNaN: true }), (x) => {
      const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
      const back = new Float32Array(new Uint32Array([halfToFloatBits(floatToHalfBits(bits))]).buffer)[0];
      expect(Object.is(back, oracle(Math.fround(x))) || (back === 0 && oracle(Math.fround(x)) === 0)).toBe(true);
    }), { numRuns: 5000 });
    const tie = new Uint32Array(new Float32Array([1 + 2 ** -11]).buffer)[0];
    expect(floatToHalfBits(tie)).toBe(0x3c00);
    const tieUp = new Uint32Array(new Float32Array([1 + 3 * 2 ** -11]).buffer)[0];
    expect(floatToHalfBits(tieUp)).toBe(0x3c02);
  });

  it('reads integer dtypes into their own typed arrays', () => {
    const file = parseSafetensors(serializeSafetensors({
      ids: { shape: [3], data: new Int32Array([1, -2, 2 ** 31 - 1]) },
      position_ids: { shape: [1, 2], data: new BigInt64Array([0n, -(2n ** 62n)]) },
      wide: { shape: [2], dtype: 'I64', data: new Int32Array([7, -7]) },
      f64: { shape: [1], data: new Float64Array([Math.PI]) },
    }), FILE);
    expect(Array.from(file.tensors.get('ids')!.data as Int32Array)).toEqual([1, -2, 2 ** 31 - 1]);
    expect(Array.from(file.tensors.get('position_ids')!.data as BigInt64Array)).toEqual([0n, -(2n ** 62n)]);
    expect(Array.from(file.tensors.get('wide')!.data as BigInt64Array)).toEqual([7n, -7n]);
    expect((file.tensors.get('f64')!.data as Float64Array)[0]).toBe(Math.PI);
  });

  it('accepts tensors listed in any order in the header, zero-size tensors, and metadata', () => {
    const header = '{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"__metadata__":{"format":"pt"},'
      + '"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const file = parseSafetensors(rawFile(header, new Uint8Array(new Float32Array([1, 2]).buffer)), FILE);
    expect([...file.tensors.keys()]).toEqual(['a', 'b', 'empty']);
    expect(file.tensors.get('b')!.data[0]).toBe(2);
    expect(file.metadata).toEqual({ format: 'pt' });
  });
});

describe('corrupt files give a one-line SafetensorsError naming the file and the field', () => {
  const one = (entry: string): string => `{"w":${entry}}`;
  const ok = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  it('file shorter than the header length field', () => expectSafetensorsError(() => parseSafetensors(new Uint8Array(5), FILE), 'header length'));
  it('truncated header', () => expectSafetensorsError(() => parseSafetensors(rawFile(one(ok), 8).subarray(0, 30), FILE), 'header length', 'runs past the end'));
  it('header length larger than the file', () => expectSafetensorsError(() => parseSafetensors(rawFile(one(ok), 8, 4096), FILE), 'header length'));
  it('header length above the 100 MB limit', () => expectSafetensorsError(() => parseSafetensors(rawFile('{}', 0, 100_000_001), FILE), 'limit'));
  it('bad JSON', () => expectSafetensorsError(() => parseSafetensors(rawFile('{"w":{"dtype":', 0), FILE), 'header', 'not valid JSON'));
  it('header not starting with {', () => expectSafetensorsError(() => parseSafetensors(rawFile(' {}', 0), FILE), "start with '{'"));
  it('invalid UTF-8', () => {
    const bytes = rawFile('{"w"}', 0);
    bytes[10] = 0xff;
    expectSafetensorsError(() => parseSafetensors(bytes, FILE), 'UTF-8');
  });
  it('overlapping offsets', () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expectSafetensorsError(() => parseSafetensors(rawFile(header, 12), FILE), 'tensor "b".data_offsets', 'overlaps');
  });
  it('gapped offsets', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expectSafetensorsError(() => parseSafetensors(rawFile(header, 12), FILE), 'tensor "b".data_offsets', 'gap');
  });
  it('offsets not starting at 0', () => expectSafetensorsError(() => parseSafetensors(rawFile(one('{"dtype":"F32","shape":[1],"data_offsets":[4,8]}'), 8), FILE), '"w"', 'gap'));
  it('end before begin', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}';
    expectSafetensorsError(() => parseSafetensors(rawFile(header, 4), FILE), 'tensor "b".data_offsets', 'ends before it begins');
  });
  it('wrong byte length for the shape', () => expectSafetensorsError(() => parseSafetensors(rawFile(one('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}'), 8), FILE), 'tensor "w"', 'needs 12'));
  it('unknown dtype', () => expectSafetensorsError(() => parseSafetensors(rawFile(one('{"dtype":"F17","shape":[2],"data_offsets":[0,8]}'), 8), FILE), 'tensor "w".dtype', 'F17'));
  it('bad shape', () => expectSafetensorsError(() => parseSafetensors(rawFile(one('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'), 8), FILE), 'tensor "w".shape'));
  it('missing data_offsets', () => expectSafetensorsError(() => parseSafetensors(rawFile(one('{"dtype":"F32","shape":[2]}'), 8), FILE), 'tensor "w".data_offsets'));
  it('trailing bytes', () => expectSafetensorsError(() => parseSafetensors(rawFile(one(ok), 9), FILE), 'data', '1 trailing bytes'));
  it('missing bytes', () => expectSafetensorsError(() => parseSafetensors(rawFile(one(ok), 7), FILE), 'data', 'truncated'));
  it('duplicate tensor names', () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectSafetensorsError(() => parseSafetensors(rawFile(header, 4), FILE), 'tensor "w"', 'twice');
  });
  it('non-string metadata', () => expectSafetensorsError(() => parseSafetensors(rawFile('{"__metadata__":{"step":3}}', 0), FILE), '__metadata__.step'));
});

describe('writer validation', () => {
  it('rejects data whose length does not match the shape, and the reserved name', () => {
    expect(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }, null, FILE)).toThrow(/model\.safetensors: tensor "w"\.data: has 3 elements/);
    expect(() => serializeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }, null, FILE)).toThrow(SafetensorsError);
    expect(() => serializeSafetensors({ w: { shape: [1], dtype: 'I32', data: new Float32Array(1) } }, null, FILE)).toThrow(/cannot write a Float32Array as I32/);
  });
});

describe('round trip property', () => {
  const dtypes: Dtype[] = ['F32', 'F64', 'F16', 'BF16', 'I32', 'I64', 'U8', 'I8', 'I16', 'U16', 'U32', 'U64', 'BOOL'];
  const tensorArbitrary = fc.record({
    dtype: fc.constantFrom(...dtypes),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.uint8Array({ minLength: 0, maxLength: 8 * 64 }),
  });
  it('random names, shapes, dtypes, bytes and metadata come back bit-identical', () => {
    fc.assert(fc.property(
      fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__' && s !== '__proto__' && wellFormed(s)), tensorArbitrary, { maxKeys: 6 }),
      fc.option(fc.dictionary(fc.string({ unit: 'binary' }).filter((s) => s !== '__proto__' && wellFormed(s)), fc.string({ unit: 'binary' }).filter(wellFormed), { maxKeys: 3 }), { nil: null }),
      (spec, metadata) => {
        const tensors = new Map<string, TensorToWrite>();
        const raw = new Map<string, Uint8Array>();
        for (const [name, { dtype, shape, seed }] of Object.entries(spec)) {
          const bytes = new Uint8Array(shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype]).map((_, i) => seed[i % Math.max(seed.length, 1)] ?? 0);
          if (dtype === 'BOOL') bytes.forEach((b, i) => (bytes[i] = b & 1));
          raw.set(name, bytes);
          tensors.set(name, { dtype, shape, data: rawAs(dtype, bytes) });
        }
        const file = parseSafetensors(serializeSafetensors(tensors, metadata), FILE);
        expect(file.metadata).toEqual(metadata);
        expect(new Set(file.tensors.keys())).toEqual(new Set(tensors.keys()));
        for (const [name, tensor] of file.tensors) {
          expect(tensor.shape).toEqual(tensors.get(name)!.shape);
          expect(narrowBytes(tensor.dtype, tensor.data)).toEqual(raw.get(name));
        }
      },
    ), { numRuns: 300 });
  });
});

describe('files on disk', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'webpeft-io-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('saves and loads, naming the path in errors', async () => {
    const path = join(directory, 'a.safetensors');
    await saveSafetensors(path, { w: { shape: [2], data: new Float32Array([1.5, -2]) } }, { format: 'pt' });
    const file = await loadSafetensors(path);
    expect(Array.from(file.tensors.get('w')!.data as Float32Array)).toEqual([1.5, -2]);
    expect(file.metadata).toEqual({ format: 'pt' });
    await expect(loadSafetensors(join(directory, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: file: cannot be read \(ENOENT\)/);
    await writeFile(join(directory, 'bad.safetensors'), rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 5));
    await expect(loadSafetensors(join(directory, 'bad.safetensors'))).rejects.toThrow(/bad\.safetensors: data: 1 trailing bytes/);
  });

  it('keeps the existing file when writing fails midway, and leaves no temporary file behind', async () => {
    const path = join(directory, 'keep.safetensors');
    await saveSafetensors(path, { w: { shape: [3], data: new Float32Array([1, 2, 3]) } });
    const before = await readFile(path);
    const failing = {
      a: { shape: [1000], data: new Float32Array(1000) }, // written first (same dtype, name order)
      b: { shape: [4], dtype: 'F32' as const, data: (): TensorData => { throw new Error('device lost while reading b'); } },
    };
    await expect(saveSafetensors(path, failing)).rejects.toThrow('device lost while reading b');
    const wrongLength = { b: { shape: [4], dtype: 'F32' as const, data: (): TensorData => new Float32Array(3) } };
    await expect(saveSafetensors(path, wrongLength)).rejects.toThrow(/keep\.safetensors: tensor "b"\.data: is 12 bytes/);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
    expect((await readdir(directory)).filter((name) => name.includes('.tmp'))).toEqual([]);
  });
});

function wellFormed(s: string): boolean {
  return !/[\uD800-\uDFFF]/u.test(s);
}

function halfOrBf16(bits: number, dtype: 'F16' | 'BF16'): number {
  const wide = dtype === 'F16' ? halfToFloatBits(bits) : bits << 16;
  return new Float32Array(new Uint32Array([wide]).buffer)[0];
}

/** View raw little-endian bytes as the typed array the writer takes for `dtype` (raw bits for F16/BF16). */
function rawAs(dtype: Dtype, bytes: Uint8Array): TensorData {
  const buffer = bytes.slice().buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'F64': return new Float64Array(buffer);
    case 'F16': case 'BF16': case 'U16': return new Uint16Array(buffer);
    case 'I32': return new Int32Array(buffer);
    case 'U32': return new Uint32Array(buffer);
    case 'I16': return new Int16Array(buffer);
    case 'I8': return new Int8Array(buffer);
    case 'I64': return new BigInt64Array(buffer);
    case 'U64': return new BigUint64Array(buffer);
    default: return new Uint8Array(buffer);
  }
}

/** The file's bytes for decoded data (F16/BF16 decoded to f32 are narrowed back, exactly). */
function narrowBytes(dtype: Dtype, data: TensorData): Uint8Array {
  if (dtype === 'F16' || dtype === 'BF16') {
    // decoded values are exactly representable, so narrowing is exact; NaN payloads are copied bit for bit
    const toHalf = (b: number): number => ((b >>> 23) & 0xff) === 0xff ? ((b >>> 16) & 0x8000) | 0x7c00 | ((b >>> 13) & 0x3ff) : floatToHalfBits(b);
    const bits = bitsOf(data as Float32Array).map((b) => (dtype === 'F16' ? toHalf(b) : b >>> 16));
    return new Uint8Array(new Uint16Array(bits).buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
