import { describe, expect, it } from 'vitest';
import {
  IGNORE_INDEX,
  alignWordLabels,
  chunks,
  collateCausalLm,
  collateClassification,
  collateLm,
  collateTokenClassification,
  maskForMlm,
  packBlocks,
  padSequences,
  shuffled,
  spamLabelId,
  spamText,
  subjectParts,
  tokenLabelId,
} from '../src/data/datasets.js';
import { loadBpe, loadSpam, loadSubject, loadTokens } from '../src/data/load.js';

const gpt2 = loadBpe('gpt2');
const bert = loadBpe('bert');
const EOS = gpt2.tokenId('<|endoftext|>')!;
const [PAD, , CLS, SEP, MASK] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => bert.tokenId(t)!) as number[];

describe('padding', () => {
  it('pads right (and left) with a mask', () => {
    const p = padSequences([[5, 6, 7], [8]], { padId: 0 }, [[1, 2, 3], [4]]);
    expect(p.shape).toEqual([2, 3]);
    expect([...p.ids]).toEqual([5, 6, 7, 8, 0, 0]);
    expect([...p.attentionMask]).toEqual([1, 1, 1, 1, 0, 0]);
    expect([...p.labels!]).toEqual([1, 2, 3, 4, IGNORE_INDEX, IGNORE_INDEX]);
    const l = padSequences([[5, 6, 7], [8]], { padId: 9, side: 'left', multipleOf: 4 });
    expect(l.shape).toEqual([2, 4]);
    expect([...l.ids]).toEqual([9, 5, 6, 7, 9, 9, 9, 8]);
    expect([...l.attentionMask]).toEqual([0, 1, 1, 1, 0, 0, 0, 1]);
  });
});

describe('sequence classification (BERT)', () => {
  it('adds [CLS]/[SEP], truncates, pads right; labels [B]', () => {
    const ex = loadSpam('train').slice(0, 4);
    const b = collateClassification(ex.map(spamText), ex.map(spamLabelId), { encode: (t) => bert.encode(t), maxLength: 32, padId: PAD!, prefix: [CLS!], suffix: [SEP!] });
    const [B, T] = b.shape;
    expect(B).toBe(4);
    expect(T).toBeLessThanOrEqual(32);
    expect(b.labelShape).toEqual([4]);
    expect([...b.labels]).toEqual(ex.map(spamLabelId));
    for (let r = 0; r < B; r++) {
      const row = [...b.ids.subarray(r * T, (r + 1) * T)];
      const mask = [...b.attentionMask.subarray(r * T, (r + 1) * T)];
      const n = mask.reduce((a, x) => a + x, 0);
      expect(row[0]).toBe(CLS);
      expect(row[n - 1]).toBe(SEP);
      expect(row.slice(n).every((x) => x === PAD)).toBe(true);
      expect(mask.slice(0, n).every((x) => x === 1)).toBe(true);
      const full = bert.encode(spamText(ex[r]!));
      expect(row.slice(1, n - 1)).toEqual(full.slice(0, n - 2));
    }
  });
});

describe('token classification alignment', () => {
  it('per-word encoding concatenates to the sentence encoding (byte-level BPE)', () => {
    for (const e of loadTokens('validation').slice(0, 200)) {
      const { ids } = alignWordLabels(e.words, e.labels.map(tokenLabelId), { encode: (t) => bert.encode(t), maxLength: 512 });
      expect(ids).toEqual(bert.encode(e.words.join(' ')));
    }
  });
  it('labels the first sub-word and ignores the rest, specials and padding', () => {
    const words = ['call', 'me', 'ishmael', 'xylophonically'];
    const labels = [1, 0, 2, 0];
    const a = alignWordLabels(words, labels, { encode: (t) => bert.encode(t), maxLength: 64, prefix: [CLS!], suffix: [SEP!] });
    expect(a.ids[0]).toBe(CLS);
    expect(a.ids.at(-1)).toBe(SEP);
    expect(a.labels[0]).toBe(IGNORE_INDEX);
    expect(a.labels.at(-1)).toBe(IGNORE_INDEX);
    for (let w = 0; w < words.length; w++) {
      const pos = a.wordIndex.map((x, i) => (x === w ? i : -1)).filter((i) => i >= 0);
      expect(pos.length).toBe(bert.encode(w ? ` ${words[w]}` : words[w]!).length);
      expect(a.labels[pos[0]!]).toBe(labels[w]);
      for (const p of pos.slice(1)) expect(a.labels[p]).toBe(IGNORE_INDEX);
    }
    expect(a.wordIndex.filter((x, i, arr) => x >= 0 && arr.indexOf(x) === i).length).toBe(4);
    // 'xylophonically' splits into several pieces
    expect(a.wordIndex.filter((x) => x === 3).length).toBeGreaterThan(1);
  });
  it('batches, truncating whole words', () => {
    const ex = loadTokens('train').slice(0, 3);
    const b = collateTokenClassification(ex, { encode: (t) => bert.encode(t), maxLength: 12, padId: PAD!, prefix: [CLS!], suffix: [SEP!] });
    const [B, T] = b.shape;
    expect(B).toBe(3);
    expect(T).toBeLessThanOrEqual(12);
    expect(b.labelShape).toEqual([B, T]);
    for (let r = 0; r < B; r++) {
      const n = [...b.attentionMask.subarray(r * T, (r + 1) * T)].reduce((a, x) => a + x, 0);
      const labels = [...b.labels.subarray(r * T, (r + 1) * T)];
      const kept = labels.filter((l) => l !== IGNORE_INDEX);
      expect(kept).toEqual(ex[r]!.labels.slice(0, kept.length).map(tokenLabelId));
      expect(labels.slice(n).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(b.ids[r * T + n - 1]).toBe(SEP);
    }
  });
});

describe('causal LM (GPT-2)', () => {
  it('trains on the target (+EOS) only; pads right with -100', () => {
    const ex = loadSubject('train').slice(0, 4);
    const parts = ex.map((e) => subjectParts(e, (t) => gpt2.encode(t)));
    const b = collateCausalLm(parts, { maxLength: 48, padId: EOS, eosId: EOS, maxTargetLength: 16 });
    const [B, T] = b.shape;
    expect(T).toBeLessThanOrEqual(48);
    for (let r = 0; r < B; r++) {
      const ids = [...b.ids.subarray(r * T, (r + 1) * T)];
      const labels = [...b.labels.subarray(r * T, (r + 1) * T)];
      const n = [...b.attentionMask.subarray(r * T, (r + 1) * T)].reduce((a, x) => a + x, 0);
      const start = b.targetStart[r]!;
      expect(labels.slice(0, start).every((l) => l === IGNORE_INDEX)).toBe(true);
      expect(labels.slice(start, n)).toEqual(ids.slice(start, n));
      expect(labels.slice(n).every((l) => l === IGNORE_INDEX)).toBe(true);
      const target = [...parts[r]!.target, EOS].slice(0, 16);
      expect(ids.slice(start, n)).toEqual(target);
      expect(gpt2.decode(ids.slice(0, start))).toMatch(/\nSubject:$/);
      expect(gpt2.decode(ids.slice(start, n), { skipSpecial: true })).toBe(` ${ex[r]!.subject}`.slice(0, gpt2.decode(target, { skipSpecial: true }).length));
    }
  });
  it('packs documents into blocks for pretraining', () => {
    const blocks = packBlocks([[1, 2, 3], [4, 5], [6, 7, 8, 9]], 4, 0);
    expect(blocks).toEqual([[1, 2, 3, 0], [4, 5, 0, 6]]);
    const b = collateLm(blocks);
    expect(b.shape).toEqual([2, 4]);
    expect([...b.labels]).toEqual([...b.ids]);
    expect([...b.attentionMask].every((m) => m === 1)).toBe(true);
  });
});

describe('MLM masking', () => {
  it('masks ~15 % of real tokens, never specials or padding, deterministically', () => {
    const ex = loadSpam('train').slice(0, 32);
    const batch = collateClassification(ex.map(spamText), ex.map(spamLabelId), { encode: (t) => bert.encode(t), maxLength: 128, padId: PAD!, prefix: [CLS!], suffix: [SEP!] });
    const opts = { maskId: MASK!, vocabSize: bert.size, specialIds: [PAD!, CLS!, SEP!, MASK!, 1], seed: 7 };
    const m = maskForMlm(batch, opts);
    expect([...maskForMlm(batch, opts).ids]).toEqual([...m.ids]);
    let real = 0;
    let chosen = 0;
    let masked = 0;
    for (let i = 0; i < m.ids.length; i++) {
      const orig = batch.ids[i]!;
      if (!batch.attentionMask[i] || orig === CLS || orig === SEP) {
        expect(m.labels[i]).toBe(IGNORE_INDEX);
        expect(m.ids[i]).toBe(orig);
        continue;
      }
      real++;
      if (m.labels[i] !== IGNORE_INDEX) {
        chosen++;
        expect(m.labels[i]).toBe(orig);
        if (m.ids[i] === MASK) masked++;
      } else expect(m.ids[i]).toBe(orig);
    }
    expect(chosen / real).toBeGreaterThan(0.12);
    expect(chosen / real).toBeLessThan(0.18);
    expect(masked / chosen).toBeGreaterThan(0.7);
    expect(masked / chosen).toBeLessThan(0.9);
  });
});

describe('order', () => {
  it('shuffles deterministically and chunks', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    expect(shuffled(xs, 1)).toEqual(shuffled(xs, 1));
    expect(shuffled(xs, 1)).not.toEqual(shuffled(xs, 2));
    expect([...shuffled(xs, 3)].sort((a, b) => a - b)).toEqual(xs);
    expect([...chunks(xs, 4)].map((c) => c.length)).toEqual([4, 4, 2]);
    expect([...chunks(xs, 4, { dropLast: true, seed: 5 })].length).toBe(2);
  });
});
