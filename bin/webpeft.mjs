#!/usr/bin/env node
// The `webpeft` command: runs the bundled CLI, building it first if this checkout has not been built.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.mjs');
if (!existsSync(cli)) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) { console.error('webpeft: build failed (run `npm ci` first)'); process.exit(1); }
}
await import(pathToFileURL(cli).href);
