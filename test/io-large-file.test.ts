/**
 * Files of any size: safetensors are read by offsets (the header, then each tensor's byte range), never as one
 * buffer, so a checkpoint over 2 GiB (gpt2-large, gpt2-xl) loads. Here: a sparse 2.25 GiB file — a small F32 tensor
 * at the start, a 2.25 GiB U8 filler, and a small F32 tensor at the very end — read without touching the filler.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSafetensors, loadSafetensorsHeader } from '../src/io/node.js';
import { prepareSafetensors, SafetensorsError } from '../src/io/safetensors.js';

const work = mkdtempSync(join(tmpdir(), 'webpeft-large-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FILLER = 2 ** 31 + 2 ** 28; // 2.25 GiB: past both the 2 GiB Buffer limit of readFile and a signed 32-bit offset

describe('safetensors over 2 GiB', () => {
  it('reads the header and a tensor at each end of a sparse 2.25 GiB file', async () => {
    const first = Float32Array.from([1.5, -2, 3.25]);
    const last = Float32Array.from([7, 8]);
    const prepared = prepareSafetensors({
      first: { shape: [3], data: first }, last: { shape: [2], data: last },
      middle: { dtype: 'U8', shape: [FILLER], data: () => new Uint8Array(0) }, // never encoded: the file is written by hand
    }, { format: 'pt' });
    const path = join(work, 'big.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, prepared.header, 0, prepared.header.length, 0);
    let position = prepared.header.length;
    for (const entry of prepared.entries) { // F32 entries come first (higher alignment), then the U8 filler
      if (entry.name === 'first') writeSync(fd, new Uint8Array(first.buffer), 0, 12, position);
      if (entry.name === 'last') writeSync(fd, new Uint8Array(last.buffer), 0, 8, position);
      position += entry.byteLength;
    }
    writeSync(fd, new Uint8Array([0]), 0, 1, prepared.totalBytes - 1); // extend to the full length; the rest is a hole
    closeSync(fd);
    expect(statSync(path).size).toBe(prepared.totalBytes);
    expect(prepared.totalBytes).toBeGreaterThan(2 ** 31);

    const header = await loadSafetensorsHeader(path);
    expect(header.tensors.get('middle')!.shape).toEqual([FILLER]);
    expect(header.metadata).toEqual({ format: 'pt' });
    const loaded = await loadSafetensors(path, { names: ['first', 'last'] });
    expect([...loaded.tensors.keys()].sort()).toEqual(['first', 'last']);
    expect(loaded.tensors.get('first')!.data).toEqual(first);
    expect(loaded.tensors.get('last')!.data).toEqual(last);
    await expect(loadSafetensors(path, { names: ['nope'] })).rejects.toThrow(`${path}: tensor "nope": is not in the file`);
  });

  it('a file cut short of what its header declares is a SafetensorsError, found from the size alone', async () => {
    const prepared = prepareSafetensors({ w: { dtype: 'F32', shape: [2 ** 29], data: () => new Float32Array(0) } });
    const path = join(work, 'cut.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, prepared.header, 0, prepared.header.length, 0);
    writeSync(fd, new Uint8Array([0]), 0, 1, prepared.totalBytes - 2); // one byte short of 2 GiB + header
    closeSync(fd);
    const error = await loadSafetensorsHeader(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as Error).message).toBe(`${path}: data: file is truncated: tensors need ${2 ** 31} bytes of data, ${2 ** 31 - 1} present`);
  });
});
