/**
 * Everything in the I/O layer that touches the disk (Node only; the rest of src/io is browser-safe).
 *
 * Safetensors: saving never loses the user's existing file: the bytes go to a temporary
 * file beside the target, are flushed to disk, and only then renamed over it (an atomic replace on POSIX). If
 * anything fails before the rename — a tensor whose data cannot be produced, a full disk — the temporary file is
 * removed and the old file is untouched.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ConfigError, parseModelConfig, type ModelConfig } from './config.js';
import {
  encodeTensor, parseSafetensors, parseSafetensorsHeader, prepareSafetensors, SafetensorsError,
  type SafetensorsFile, type SafetensorsHeader, type TensorsToWrite,
} from './safetensors.js';
import { TextTokenizer, TokenizerError } from './tokenizer.js';

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;
const firstLine = (error: unknown): string => (error as Error).message.split('\n')[0];

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new SafetensorsError(path, 'file', `cannot be read (${errorCode(error)})`);
  }
}

/** Read, validate and decode a safetensors file. Errors name the path. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readBytes(path), path);
}

/** Read and validate only the header (names, dtypes, shapes, offsets, metadata) of a safetensors file. */
export async function loadSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  return parseSafetensorsHeader(await readBytes(path), path);
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

/** Make the rename durable. Best effort: some file systems refuse to open directories for sync. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // the data itself was synced before the rename; only the directory entry's durability is at stake
  }
}
