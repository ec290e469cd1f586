/**
 * Folders saved as one unit (Node only): an adapter or model folder is written into a temporary folder beside the
 * target, every file and the folder itself are fsync'd, and only then is it renamed into place.
 *
 *   1. write   DIR/../.NAME.webpeft-new-PID-RAND/   (files, fsync each, fsync the folder)
 *   2. rename  DIR → .NAME.webpeft-old-PID-RAND     (only if DIR exists)
 *   3. rename  .NAME.webpeft-new-… → DIR, fsync the parent
 *   4. remove  .NAME.webpeft-old-…
 *
 * POSIX renames are atomic, so a crash at any point leaves the complete old folder or the complete new one. Between
 * steps 2 and 3 the old folder sits under its backup name; `recoverFolder` (called before every load and save) puts
 * it back, so a reader always finds a complete folder at DIR. Files in the old folder that the new save does not
 * write (a user's notes, results) are carried into the new folder by hard link: nothing the user had is lost.
 * A failure before step 2 (out of disk, read-only target) removes the temporary folder and leaves DIR untouched.
 */
import { randomBytes } from 'node:crypto';
import { cp, link, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** A folder that could not be saved. One line: `path: cannot be saved: why`. The previous folder is intact. */
export class SaveError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`${path}: cannot be saved: ${detail}`);
    this.name = 'SaveError';
  }
}

const NEW = 'webpeft-new';
const OLD = 'webpeft-old';

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;
const describe = (error: unknown): string => {
  const code = codeOf(error);
  const why = code === 'ENOSPC' ? 'no space left on device' : code === 'EROFS' ? 'read-only file system'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message.split('\n')[0];
  return code && !why.includes(code) ? `${why} (${code})` : why;
};

/** Siblings of `target` left by saves: `.NAME.webpeft-KIND-PID-RAND`. */
async function leftovers(target: string, kind: string): Promise<Array<{ path: string; pid: number }>> {
  const prefix = `.${basename(target)}.${kind}-`;
  let names: string[];
  try {
    names = await readdir(dirname(target));
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix)).map((n) => ({ path: join(dirname(target), n), pid: Number(n.slice(prefix.length).split('-')[0]) }));
}

const exists = async (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);

const alive = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) === 'EPERM';
  }
};

/**
 * The path that holds the complete folder for `target`: `target` itself, or — if a save was killed between its two
 * renames — the old folder, which is renamed back to `target` when the parent is writable (else read in place).
 */
export async function recoverFolder(target: string): Promise<string> {
  const path = resolve(target);
  if (await exists(path)) return path;
  const backups = await leftovers(path, OLD);
  if (backups.length === 0) return path;
  const backup = backups[0].path;
  try {
    await rename(backup, path);
    await syncDirectory(dirname(path));
    return path;
  } catch {
    return backup;
  }
}

/** fsync a file or folder. Folders: best effort (some file systems refuse to sync a directory). */
async function sync(path: string, isDirectory: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (isDirectory) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isDirectory) throw error;
  } finally {
    await handle.close();
  }
}

export const syncDirectory = (path: string): Promise<void> => sync(path, true);

/** fsync every file under `dir`, then the folders, deepest first. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) await sync(path, false);
  }
  await syncDirectory(dir);
}

/** Hard-link (or copy) every entry of `from` that `to` does not have and that is not one of the format's own files. */
async function carryOver(from: string, to: string, owned: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const destination = join(to, entry.name);
    if (owned.has(entry.name) || (await exists(destination))) continue;
    if (entry.isFile()) {
      try {
        await link(source, destination);
        continue;
      } catch {
        // another file system, or links refused: copy instead
      }
    }
    await cp(source, destination, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  }
}

/**
 * Save a folder as one unit: `write(dir)` fills a fresh temporary folder, which then replaces `target`. Other files
 * of the old folder are carried over, except those named in `owned` (the format's own files, which a save that does
 * not write them means to drop). Throws SaveError (one line, naming `target`) if anything fails; `target` then still
 * holds what it held before.
 */
export async function writeFolderAtomic(target: string, write: (dir: string) => Promise<void>, owned: readonly string[] = []): Promise<void> {
  const path = resolve(target);
  const parent = dirname(path);
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const fresh = join(parent, `.${basename(path)}.${NEW}-${tag}`);
  try {
    await mkdir(parent, { recursive: true });
    await recoverFolder(path);
  } catch (error) {
    throw new SaveError(path, describe(error));
  }
  for (const stale of await leftovers(path, NEW)) if (!alive(stale.pid)) await rm(stale.path, { recursive: true, force: true }).catch(() => undefined);
  for (const stale of await leftovers(path, OLD)) await rm(stale.path, { recursive: true, force: true }).catch(() => undefined);

  const previous = await lstat(path).catch(() => null);
  if (previous && !previous.isDirectory()) throw new SaveError(path, 'exists and is not a folder');
  try {
    await mkdir(fresh);
    await write(fresh);
    if (previous) await carryOver(path, fresh, new Set(owned));
    await syncTree(fresh);
  } catch (error) {
    await rm(fresh, { recursive: true, force: true }).catch(() => undefined);
    throw error instanceof SaveError ? error : new SaveError(path, describe(error));
  }

  const backup = join(parent, `.${basename(path)}.${OLD}-${tag}`);
  try {
    if (previous) await rename(path, backup);
    await rename(fresh, path);
  } catch (error) {
    // put the old folder back if it was moved, and drop the new one
    if (previous && !(await exists(path)) && (await exists(backup))) await rename(backup, path).catch(() => undefined);
    await rm(fresh, { recursive: true, force: true }).catch(() => undefined);
    throw new SaveError(path, describe(error));
  }
  await syncDirectory(parent);
  if (previous) await rm(backup, { recursive: true, force: true }).catch(() => undefined);
}
