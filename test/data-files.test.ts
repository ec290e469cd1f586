import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOKEN_LABELS, normalizeSubject } from '../tools/text.js';
import {
  corpusDocuments,
  dataPath,
  loadCorpus,
  loadHeldoutCorpus,
  loadManifest,
  loadSpam,
  loadSubject,
  loadTokens,
  packageRoot,
} from '../src/data/load.js';
import { SPLITS } from '../src/data/datasets.js';

const FILES = [
  'README.md',
  'manifest.json',
  'spam.jsonl',
  'subject.jsonl',
  'tokens.jsonl',
  'corpus.txt',
  'corpus-heldout.txt',
  'tokenizer/gpt2/tokenizer.json',
  'tokenizer/gpt2/tokenizer_config.json',
  'tokenizer/bert/tokenizer.json',
  'tokenizer/bert/tokenizer_config.json',
];

describe('shipped data files', () => {
  it('exist under the package root, match the manifest, and stay small', () => {
    expect(existsSync(`${packageRoot()}/package.json`)).toBe(true);
    const m = loadManifest();
    let total = 0;
    for (const f of FILES) {
      expect(existsSync(dataPath(f)), f).toBe(true);
      if (f === 'README.md' || f === 'manifest.json') continue;
      const buf = readFileSync(dataPath(f));
      expect(m.files[f]!.bytes, f).toBe(buf.length);
      expect(m.files[f]!.sha256, f).toBe(createHash('sha256').update(buf).digest('hex'));
      total += buf.length;
    }
    expect(total).toBeLessThan(7_000_000);
    expect(readFileSync(dataPath('corpus.txt')).length).toBeLessThan(4_000_000);
    expect(readFileSync(dataPath('README.md'), 'utf8')).toContain('node scripts/derive-data.mjs');
  });
});

describe('spam.jsonl', () => {
  const all = loadSpam();
  it("has 1500/520/520 examples, half spam in every split", () => {
    const want = { train: 1500, validation: 520, test: 520 };
    for (const s of SPLITS) {
      const rows = loadSpam(s);
      expect(rows.length).toBe(want[s]);
      expect(rows.filter((r) => r.label === 'spam').length).toBe(want[s] / 2);
    }
  });
  it('has clean, bounded bodies and unique ids', () => {
    expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
    for (const r of all) {
      expect(r.body.length).toBeGreaterThanOrEqual(20);
      expect(r.body.length).toBeLessThanOrEqual(600);
      expect(r.body).not.toMatch(/\s{2}|\n/);
      expect(r.body).not.toMatch(/^(Received|Return-Path|Message-Id):/i);
      expect(r.id).toMatch(r.label === 'spam' ? /^spam-[12]\// : /^(easy-ham-[12]|hard-ham-1)\//);
    }
    const htmlish = all.filter((r) => /<\/?(html|body|table|font|td|p|br)\b[^>]*>/i.test(r.body));
    expect(htmlish.length).toBeLessThan(all.length * 0.01);
  });
  it('keeps every thread/campaign (normalised subject) inside one split', () => {
    const seen = new Map<string, string>();
    for (const r of all) {
      const k = normalizeSubject(r.subject).toLowerCase();
      if (!k) continue;
      if (seen.has(k)) expect(seen.get(k), k).toBe(r.split);
      seen.set(k, r.split);
    }
  });
});

describe('subject.jsonl', () => {
  const all = loadSubject();
  it('has 1500/250/250 examples with bounded subjects and bodies', () => {
    expect(SPLITS.map((s) => loadSubject(s).length)).toEqual([1500, 250, 250]);
    for (const r of all) {
      expect(r.subject.length).toBeGreaterThanOrEqual(3);
      expect(r.subject.length).toBeLessThanOrEqual(80);
      expect(r.subject).not.toMatch(/^(re|fwd?)\s*:/i);
      expect(r.subject).not.toMatch(/^\[/);
      expect(r.body.length).toBeGreaterThanOrEqual(40);
      expect(r.body.length).toBeLessThanOrEqual(300);
      expect(r.id).toMatch(/ham/);
    }
  });
  it('has no subject in two splits', () => {
    const split = new Map<string, string>();
    for (const r of all) {
      const k = r.subject.toLowerCase();
      if (split.has(k)) expect(split.get(k)).toBe(r.split);
      split.set(k, r.split);
    }
  });
});

describe('tokens.jsonl', () => {
  const all = loadTokens();
  it('has 3000/500/500 sentences of 8–40 words with one valid label per word', () => {
    expect(SPLITS.map((s) => loadTokens(s).length)).toEqual([3000, 500, 500]);
    for (const r of all) {
      expect(r.words.length).toBe(r.labels.length);
      expect(r.words.length).toBeGreaterThanOrEqual(8);
      expect(r.words.length).toBeLessThanOrEqual(40);
      for (const w of r.words) expect(w).toMatch(/^[\p{Ll}\p{N}]+(?:['-][\p{Ll}\p{N}]+)*$/u);
      for (const l of r.labels) expect(TOKEN_LABELS).toContain(l);
      expect(['PERIOD', 'QUESTION']).toContain(r.labels[r.labels.length - 1]);
    }
    const counts = Object.fromEntries(TOKEN_LABELS.map((l) => [l, 0]));
    for (const r of all) for (const l of r.labels) counts[l]!++;
    for (const l of TOKEN_LABELS) expect(counts[l], l).toBeGreaterThan(100);
    expect(new Set(all.map((r) => r.words.join(' '))).size).toBe(all.length);
  });
  it('comes from text that is not in the pretraining corpus', () => {
    const corpus = loadCorpus().toLowerCase().replace(/[^\p{L}\p{N}' -]+/gu, ' ').replace(/\s+/g, ' ');
    let found = 0;
    for (const r of all.slice(0, 400)) if (corpus.includes(` ${r.words.join(' ')} `)) found++;
    expect(found).toBe(0);
    expect(all.some((r) => r.source === 'moby-dick')).toBe(true);
    expect(all.some((r) => r.source.startsWith('sotu-'))).toBe(true);
  });
});

describe('corpus', () => {
  it('holds the three sources, and held-out text is not in the training text', () => {
    const corpus = loadCorpus();
    const held = loadHeldoutCorpus();
    expect(corpus).toContain('Call me Ishmael.');
    expect(corpus).toContain('Fellow-Citizens of the Senate');
    expect(corpus).not.toMatch(/Project Gutenberg/i);
    expect(corpus).not.toMatch(/\(Applause\.\)/);
    expect(corpus).not.toMatch(/[ \t]{2}|\r/);
    expect(held.length / (held.length + corpus.length)).toBeCloseTo(0.05, 2);
    const lines = held.split('\n').filter((l) => l.length > 80);
    expect(lines.length).toBeGreaterThan(50);
    for (const l of lines) expect(corpus.includes(l)).toBe(false);
    expect(corpusDocuments(corpus).length).toBeGreaterThan(500);
  });
});
