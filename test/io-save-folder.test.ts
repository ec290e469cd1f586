/**
 * Saving a folder never loses what was there: adapters are written beside the target and renamed into place as one
 * unit. Out of disk (a real 1 MiB tmpfs when this runs as root, else an injected ENOSPC) and read-only targets give a
 * one-line error naming the folder, leave no half folder behind, and leave the old adapter byte-identical.
 */
import { stateFor } from './helpers/training-state.js';
import type { PeftMethod } from '../src/peft/method.js';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverFolder, SaveError, writeFolderAtomic } from '../src/io/atomic-folder.js';
import { saveJson } from '../src/io/node.js';
import { parseGpt2Config } from '../src/io/config.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { baseOf } from '../src/peft/base.js';
import { buildMethod } from '../src/train/methods.js';
import { loadAdapter, saveAdapter, type TrainingState } from '../src/train/adapter-dir.js';
import { loadGpt2, modelDir } from '../src/train/model-dir.js';
import { cpu } from '../src/kernels/cpu/index.js';

const work = mkdtempSync(join(tmpdir(), 'webpeft-save-'));
const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts) execFileSync('umount', [m]);
  rmSync(work, { recursive: true, force: true });
});

/** A tmpfs of `size` at a fresh folder, or null where mounting is not allowed (not root). */
function tmpfs(size: string, readOnly = false): string | null {
  const at = mkdtempSync(join(work, 'mnt-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', at], { stdio: 'ignore' });
  } catch (error) {
    if (process.getuid?.() === 0) throw error; // root can mount: the real file system must be tested
    return null;
  }
  mounts.push(at);
  return at;
}

const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

const config = parseGpt2Config({ vocab_size: 64, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 }, 'tiny');
const model = Gpt2.init(config, { seed: 1 });
const base = baseOf(model);
const settingsOf = (virtualTokens: number) => ({ virtualTokens, hidden: 0, encoder: 'mlp' as const, seed: 3 });
const state = async (virtualTokens: number, method: PeftMethod): Promise<TrainingState> =>
  stateFor(base, method, { method: 'prompt', settings: settingsOf(virtualTokens), task: 'subject', model: 'tiny', step: 1, lr: 0.1 });
const save = async (dir: string, virtualTokens: number) => {
  const method = await buildMethod('prompt', base, settingsOf(virtualTokens));
  return saveAdapter(dir, base, method, await state(virtualTokens, method), null, 'CAUSAL_LM', { 'losses.json': '[1]' });
};

describe('folder saves are one unit', () => {
  it('replaces an adapter folder whole, keeps the user\'s own files, drops the format\'s stale ones, leaves no temporary', async () => {
    const parent = mkdtempSync(join(work, 'plain-'));
    const dir = join(parent, 'adapter');
    await save(dir, 2);
    writeFileSync(join(dir, 'NOTES.md'), 'mine');
    await save(dir, 5);
    expect(readdirSync(parent)).toEqual(['adapter']);
    expect(readFileSync(join(dir, 'NOTES.md'), 'utf8')).toBe('mine');
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).num_virtual_tokens).toBe(5);
    expect((await loadAdapter(dir, base)).method.params.tensor('prompt_embeddings').shape).toEqual([5, 16]);
    // a BitFit adapter has no HF PEFT files: the prompt adapter's must not stay behind for `peft` to load
    const settings = { virtualTokens: 0, hidden: 0, encoder: 'mlp' as const, seed: 1 };
    const bitfit = await buildMethod('bitfit', base, settings);
    await saveAdapter(dir, base, bitfit, await stateFor(base, bitfit, { method: 'bitfit', settings, task: 'subject', model: 'tiny', step: 1, lr: 0.1 }), null, 'CAUSAL_LM');
    expect(readdirSync(dir).sort()).toEqual(['NOTES.md', 'training_state.json', 'training_state.safetensors']);
  });

  it('a save killed between its two renames leaves the old folder aside; the next load puts it back', async () => {
    const parent = mkdtempSync(join(work, 'swap-'));
    const dir = join(parent, 'adapter');
    await save(dir, 2);
    const before = snapshot(dir);
    renameSync(dir, join(parent, `.adapter.webpeft-old-999999-abc`)); // the instant between rename 1 and rename 2
    mkdirSync(join(parent, `.adapter.webpeft-new-999999-abc`)); // and the new one, not yet in place
    const loaded = await loadAdapter(dir, base);
    expect(loaded.method.params.tensor('prompt_embeddings').shape).toEqual([2, 16]);
    expect(snapshot(dir)).toEqual(before);
    await save(dir, 3); // the next save sweeps the dead process's temporary folder
    expect(readdirSync(parent)).toEqual(['adapter']);
    expect(await recoverFolder(dir)).toBe(dir);
  });

  it('a model folder caught between the two renames of its save still loads', async () => {
    const parent = mkdtempSync(join(work, 'model-'));
    const dir = join(parent, 'gpt2');
    await writeFolderAtomic(dir, async (folder) => { cpSync(modelDir('gpt2-tiny'), folder, { recursive: true }); });
    renameSync(dir, join(parent, '.gpt2.webpeft-old-999999-abc'));
    const { model: loaded } = await loadGpt2(dir, { backend: cpu });
    expect(loaded.config.nEmbd).toBe(64);
    expect(readdirSync(parent)).toEqual(['gpt2']);
    loaded.dispose();
  });

  it('a failing writer leaves the old folder byte-identical and no temporary', async () => {
    const parent = mkdtempSync(join(work, 'fail-'));
    const dir = join(parent, 'adapter');
    await save(dir, 2);
    const before = snapshot(dir);
    const error = await writeFolderAtomic(dir, async (folder) => {
      writeFileSync(join(folder, 'adapter_config.json'), '{}');
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SaveError);
    expect((error as Error).message).toBe(`${dir}: cannot be saved: no space left on device (ENOSPC)`);
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['adapter']);
  });

  it('out of disk on a real small file system: one-line error naming the folder, old adapter intact, nothing half saved', async () => {
    const disk = tmpfs('256k');
    if (disk === null) return; // not root: the injected-ENOSPC test above covers the same path
    const dir = join(disk, 'adapter');
    await save(dir, 2);
    const before = snapshot(dir);
    const fill = join(disk, 'filler');
    const free = Number(execFileSync('df', ['-B1', '--output=avail', disk]).toString().trim().split('\n')[1]);
    writeFileSync(fill, Buffer.alloc(Math.max(0, free - 8192)));
    const error = await save(dir, 200).catch((e: unknown) => e); // 200 × 16 floats twice: far more than 8 KiB
    expect(error).toBeInstanceOf(SaveError);
    expect((error as Error).message).toMatch(new RegExp(`^${dir}: cannot be saved: no space left on device \\(ENOSPC\\)$`));
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(disk).sort()).toEqual(['adapter', 'filler']);
    rmSync(fill);
    await save(dir, 200); // with room again, the save goes through
    expect((await loadAdapter(dir, base)).method.params.tensor('prompt_embeddings').shape).toEqual([200, 16]);
  });

  it('a read-only target: one-line error naming the folder, old adapter intact', async () => {
    const disk = tmpfs('1m');
    const parent = disk ?? mkdtempSync(join(work, 'ro-'));
    const dir = join(parent, 'adapter');
    await save(dir, 2);
    const before = snapshot(dir);
    if (disk) execFileSync('mount', ['-o', 'remount,ro', disk]);
    else execFileSync('chmod', ['0555', parent]);
    const error = await save(dir, 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SaveError);
    expect((error as Error).message).toMatch(new RegExp(`^${dir}: cannot be saved: (read-only file system \\(EROFS\\)|permission denied \\(EACCES\\))$`));
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['adapter']);
    expect((await loadAdapter(dir, base)).method.params.tensor('prompt_embeddings').shape).toEqual([2, 16]);
    if (disk) execFileSync('mount', ['-o', 'remount,rw', disk]);
    else execFileSync('chmod', ['0755', parent]);
  });

  it('a target that is a file is refused, not replaced', async () => {
    const path = join(mkdtempSync(join(work, 'file-')), 'adapter');
    writeFileSync(path, 'not a folder');
    await expect(save(path, 2)).rejects.toThrow(`${path}: cannot be saved: exists and is not a folder`);
    expect(readFileSync(path, 'utf8')).toBe('not a folder');
  });

  it('saveJson writes through a synced temporary and replaces the file whole', async () => {
    const parent = mkdtempSync(join(work, 'json-'));
    const path = join(parent, 'results.json');
    await saveJson(path, { a: 1 });
    await saveJson(path, { a: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ a: 2 });
    expect(readdirSync(parent)).toEqual(['results.json']);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });
});
