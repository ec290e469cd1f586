// Node-only loaders for the shipped files under assets/data (see assets/data/README.md).
// Paths resolve from this module's URL up to the package root, so they work from src/ (vitest, tsx) and from the
// esbuild bundles in dist/. WEBPEFT_DATA_DIR overrides the directory.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ByteLevelBpe, type TokenizerFlavor } from './bpe.js';
import { bySplit, parseJsonl, type SpamExample, type SubjectExample, type TokensExample } from './datasets.js';
import type { Split } from './text.js';

let rootCache: string | null = null;

/** The webpeft package root: the nearest ancestor of this module holding assets/data and a package.json. */
export function packageRoot(): string {
  if (rootCache) return rootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'assets', 'data'))) return (rootCache = dir);
    const up = dirname(dir);
    if (up === dir) return (rootCache = installedRoot());
    dir = up;
  }
}

/** Where Node resolves the installed `webpeft` package from here (this module bundled into someone's code). */
function installedRoot(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('webpeft/package.json'));
  } catch {
    throw new Error(`webpeft: cannot find assets/data above ${fileURLToPath(import.meta.url)}, nor an installed webpeft package`);
  }
}

export function dataDir(): string {
  return process.env['WEBPEFT_DATA_DIR'] ?? join(packageRoot(), 'assets', 'data');
}

export function dataPath(name: string): string {
  return join(dataDir(), name);
}

export function readDataFile(name: string): string {
  return readFileSync(dataPath(name), 'utf8');
}

const cache = new Map<string, unknown[]>();
function rows<T>(name: string): T[] {
  let r = cache.get(name);
  if (!r) cache.set(name, (r = parseJsonl<T>(readDataFile(name))));
  return r as T[];
}

/** SpamAssassin spam vs ham (balanced in every split). */
export function loadSpam(split?: Split): SpamExample[] {
  const r = rows<SpamExample>('spam.jsonl');
  return split ? bySplit(r, split) : [...r];
}

/** Ham body → subject line. */
export function loadSubject(split?: Split): SubjectExample[] {
  const r = rows<SubjectExample>('subject.jsonl');
  return split ? bySplit(r, split) : [...r];
}

/** Capitalisation/punctuation restoration, one label per word. */
export function loadTokens(split?: Split): TokensExample[] {
  const r = rows<TokensExample>('tokens.jsonl');
  return split ? bySplit(r, split) : [...r];
}

/** Pretraining text (documents separated by a blank line, one paragraph per line). */
export function loadCorpus(): string {
  return readDataFile('corpus.txt');
}

/** Held-out text: the last 5 % of each corpus source, never in corpus.txt. */
export function loadHeldoutCorpus(): string {
  return readDataFile('corpus-heldout.txt');
}

/** Split corpus text into documents. */
export function corpusDocuments(text: string): string[] {
  return text.split(/\n{2,}/).map((d) => d.trim()).filter((d) => d.length > 0);
}

export function loadTokenizerJson(flavor: TokenizerFlavor): Record<string, unknown> {
  return JSON.parse(readDataFile(`tokenizer/${flavor}/tokenizer.json`)) as Record<string, unknown>;
}

export function loadTokenizerConfig(flavor: TokenizerFlavor): Record<string, unknown> {
  return JSON.parse(readDataFile(`tokenizer/${flavor}/tokenizer_config.json`)) as Record<string, unknown>;
}

/** The shipped byte-level BPE (own implementation; ids identical to @huggingface/tokenizers on the same file). */
export function loadBpe(flavor: TokenizerFlavor): ByteLevelBpe {
  return ByteLevelBpe.fromTokenizerJson(loadTokenizerJson(flavor));
}

export interface DataManifest {
  files: Record<string, { bytes: number; sha256: string }>;
  stats: Record<string, unknown>;
  options: Record<string, unknown>;
  sources: Record<string, string>;
}

export function loadManifest(): DataManifest {
  return JSON.parse(readDataFile('manifest.json')) as DataManifest;
}
