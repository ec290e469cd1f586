/**
 * Everything in the I/O layer that touches the disk (Node only; the rest of src/io is browser-safe).
 *
 * Safetensors: reading goes by offsets (header, then each tensor's byte range), never the whole file as one
 * buffer. Saving never loses the user's existing file: the bytes go to a temporary
 * file beside the target, are flushed to disk, and only then renamed over it (an atomic replace on POSIX). If
 * anything fails before the rename — a tensor whose data cannot be produced, a full disk — the temporary file is
 * removed and the old file is untouched.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError, parseModelConfig, type ModelConfig } from './config.js';
import {
  assertFinite, decodeTensorBuffer, encodeTensor, MAX_HEADER_SIZE, parseSafetensorsHeader, prepareSafetensors, SafetensorsError,
  type SafetensorsFile, type SafetensorsHeader, type Tensor as SafetensorsTensor, type TensorsToWrite,
} from './safetensors.js';
import { TextTokenizer, TokenizerError } from './tokenizer.js';
import { syncDirectory } from './atomic-folder.js';

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;
const firstLine = (error: unknown): string => (error as Error).message.split('\n')[0];

export interface LoadSafetensorsOptions {
  /** Reject a float tensor holding NaN or ±Inf, naming it (default false: the file is returned as it is). */
  requireFinite?: boolean;
  /** Read only these tensors (the rest of the file is not touched); a name not in the file is an error. */
  names?: Iterable<string>;
  /** Reject any tensor whose dtype is not a float one (adapters and training states hold only floats). */
  floatsOnly?: boolean;
}

const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F64', 'F32', 'F16', 'BF16']);

/** The largest read issued at once (Linux caps a single read at just under 2 GiB). */
const READ_CHUNK = 1 << 30;

/** Fill `target` from the file at `position`; fails with SafetensorsError if the file ends first. */
async function readExactly(file: FileHandle, target: Uint8Array, position: number, path: string): Promise<void> {
  for (let done = 0; done < target.length;) {
    const length = Math.min(READ_CHUNK, target.length - done);
    const { bytesRead } = await file.read(target, done, length, position + done);
    if (bytesRead === 0) throw new SafetensorsError(path, 'data', `file ended at byte ${position + done} while reading (it changed while being read?)`);
    done += bytesRead;
  }
}

/** Open `path` and read and validate its header only: the 8-byte length, then the JSON header. */
async function openSafetensors(path: string): Promise<{ file: FileHandle; header: SafetensorsHeader }> {
  let file: FileHandle;
  let size: number;
  try {
    file = await open(path, 'r');
    size = (await file.stat()).size;
  } catch (error) {
    throw new SafetensorsError(path, 'file', `cannot be read (${errorCode(error)})`);
  }
  try {
    const lengthBytes = new Uint8Array(Math.min(8, size));
    await readExactly(file, lengthBytes, 0, path);
    let prefix = lengthBytes;
    if (size >= 8) {
      const declared = new DataView(lengthBytes.buffer).getBigUint64(0, true);
      const wanted = 8 + Number(declared > BigInt(MAX_HEADER_SIZE) ? 0n : declared);
      if (wanted <= size && wanted > 8) {
        prefix = new Uint8Array(wanted);
        prefix.set(lengthBytes);
        await readExactly(file, prefix.subarray(8), 8, path);
      }
    }
    return { file, header: parseSafetensorsHeader(prefix, path, size) };
  } catch (error) {
    await file.close();
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(path, 'file', `cannot be read (${errorCode(error)})`);
  }
}

/**
 * Read, validate and decode a safetensors file. The file is read by offsets — the header, then each tensor's byte
 * range — never as one buffer, so files of any size load (gpt2-large and -xl checkpoints exceed 2 GiB). Errors name
 * the path.
 */
export async function loadSafetensors(path: string, options: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const { file, header } = await openSafetensors(path);
  const tensors = new Map<string, SafetensorsTensor>();
  try {
    const wanted = options.names ? new Set(options.names) : null;
    for (const name of wanted ?? []) if (!header.tensors.has(name)) throw new SafetensorsError(path, `tensor ${JSON.stringify(name)}`, 'is not in the file');
    for (const [name, info] of header.tensors) {
      if (options.floatsOnly && !FLOAT_DTYPES.has(info.dtype)) {
        throw new SafetensorsError(path, `tensor ${JSON.stringify(name)}.dtype`, `${info.dtype} where a float tensor (${[...FLOAT_DTYPES].join(', ')}) is needed`);
      }
      if (wanted && !wanted.has(name)) continue;
      const [begin, end] = info.dataOffsets;
      const buffer = new ArrayBuffer(end - begin);
      await readExactly(file, new Uint8Array(buffer), header.dataStart + begin, path);
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensorBuffer(buffer, info.dtype) });
    }
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(path, 'file', `cannot be read (${errorCode(error)})`);
  } finally {
    await file.close();
  }
  const loaded = { tensors, metadata: header.metadata };
  if (options.requireFinite) assertFinite(loaded, path);
  return loaded;
}

/** Read and validate only the header (names, dtypes, shapes, offsets, metadata) of a safetensors file. */
export async function loadSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const { file, header } = await openSafetensors(path);
  await file.close();
  return header;
}

/** Write tensors (and optional string metadata) to `path` atomically. */
export async function saveSafetensors(
  path: string,
  tensors: TensorsToWrite,
  metadata: Readonly<Record<string, string>> | null = null,
): Promise<void> {
  const prepared = prepareSafetensors(tensors, metadata, path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, 'wx');
  let closed = false;
  try {
    let position = await writeAll(file, prepared.header, 0);
    for (const entry of prepared.entries) position = await writeAll(file, encodeTensor(entry, path), position);
    await file.sync();
    await file.close();
    closed = true;
    await rename(temporary, path);
  } catch (error) {
    if (!closed) await file.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Write `value` as pretty JSON to `path` atomically: a temporary file beside it, fsync'd, renamed, folder synced. */
export async function saveJson(path: string, value: unknown): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
    const file = await open(temporary, 'r+');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

// ---------------------------------------------------------------------------------------------------------------
// config.json and tokenizer files

/** Read `config.json` from a model directory, or a config file given by path. */
export async function loadConfig(path: string): Promise<ModelConfig> {
  let file = path;
  let text: string;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'config.json');
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, 'file', `cannot be read (${errorCode(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, '(root)', `is not valid JSON (${firstLine(error)})`);
  }
  return parseModelConfig(json, file);
}

/** Load `tokenizer.json` (or `tokenizer.json.gz`) and, if present, `tokenizer_config.json` from a model directory. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  /** The parsed file, or undefined if it does not exist. */
  const readJson = async (name: string): Promise<unknown> => {
    const path = join(dir, name);
    let text: string;
    try {
      text = name.endsWith('.gz') ? gunzipSync(await readFile(path)).toString('utf8') : await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new TokenizerError(path, 'file', `cannot be read (${errorCode(error)})`);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new TokenizerError(path, '(root)', `is not valid JSON (${firstLine(error)})`);
    }
  };
  let tokenizerJson = await readJson('tokenizer.json');
  let source = join(dir, 'tokenizer.json');
  if (tokenizerJson === undefined) {
    source = join(dir, 'tokenizer.json.gz');
    tokenizerJson = await readJson('tokenizer.json.gz');
    if (tokenizerJson === undefined) throw new TokenizerError(join(dir, 'tokenizer.json'), 'file', 'cannot be read (ENOENT; no tokenizer.json.gz either)');
  }
  const config = (await readJson('tokenizer_config.json')) ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new TokenizerError(join(dir, 'tokenizer_config.json'), '(root)', 'must be a JSON object');
  }
  return new TextTokenizer(tokenizerJson, config as Record<string, unknown>, source);
}

// ---------------------------------------------------------------------------------------------------------------

/** Write all of `bytes` at `position` (a single write may be partial); returns the position after them. */
async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  for (let done = 0; done < bytes.length;) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
  return position + bytes.length;
}

