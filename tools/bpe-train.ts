// Byte-level BPE training and HF `tokenizer.json` writing: what builds the shipped tokenizers (tools/derive.ts).
// The encoder/decoder the library uses is src/data/bpe.ts.
import { BERT_SPECIALS, BYTE_ORDER, BYTE_TO_CHAR, ByteLevelBpe, GPT2_SPECIALS, preTokenize, toByteLevel, type TokenizerFlavor,
  type VocabLayout } from '../src/data/bpe.js';

// ---------------------------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------------------------

export interface BpeTrainOptions {
  /** Number of distinct tokens to reach: 256 byte tokens + merged tokens (special tokens are NOT counted here). */
  vocabSize: number;
  /** Stop early when the best pair occurs fewer than this many times (default 2). */
  minFrequency?: number;
  /** Called every `progressEvery` merges. */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface BpeModel {
  /** Byte-level merges in rank order; the merged token is left+right. */
  merges: [string, string][];
}

interface HeapEntry {
  count: number;
  key: number;
}

/** Binary max-heap over (count desc, then left string asc, then right string asc): deterministic tie-breaking. */
class PairHeap {
  private readonly a: HeapEntry[] = [];
  constructor(private readonly better: (x: HeapEntry, y: HeapEntry) => boolean) {}
  get size(): number {
    return this.a.length;
  }
  push(e: HeapEntry): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): HeapEntry | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.better(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.better(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const PAIR_BASE = 1 << 20; // symbol ids < 2^20; key = left * 2^20 + right stays below 2^40 (exact in a double)

/**
 * Learn byte-level BPE merges from text.
 *
 * Words (GPT-2 pre-tokens) are counted once; pair counts are kept per pair and updated incrementally, only for the
 * words that contain the merged pair (an index pair → words). The best pair is the most frequent; ties are broken by
 * the byte-level strings (left, then right, by UTF-16 code-unit order), so the result does not depend on hash or
 * insertion order. As in HF's trainer, if a merge produces a string that is already a token, the id is reused.
 */
export function trainBpe(texts: string | readonly string[], opts: BpeTrainOptions): BpeModel {
  const minFrequency = opts.minFrequency ?? 2;
  const list = typeof texts === 'string' ? [texts] : texts;

  // 1. word counts (byte-level strings)
  const wordCounts = new Map<string, number>();
  for (const t of list) {
    for (const piece of preTokenize(t)) {
      const w = toByteLevel(piece);
      wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
    }
  }
  const wordStrs = [...wordCounts.keys()].sort(); // deterministic word order
  const freq = new Float64Array(wordStrs.length);

  // symbols: id → string; string → id
  const symStr: string[] = [];
  const symId = new Map<string, number>();
  for (const b of BYTE_ORDER) {
    symId.set(BYTE_TO_CHAR[b]!, symStr.length);
    symStr.push(BYTE_TO_CHAR[b]!);
  }
  const words: Int32Array[] = wordStrs.map((w, i) => {
    freq[i] = wordCounts.get(w)!;
    const ids = new Int32Array(w.length);
    for (let j = 0; j < w.length; j++) ids[j] = symId.get(w[j]!)!;
    return ids;
  });

  // 2. pair counts and where-index
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let wi = 0; wi < words.length; wi++) {
    const w = words[wi]!;
    const f = freq[wi]!;
    for (let j = 0; j + 1 < w.length; j++) {
      const key = w[j]! * PAIR_BASE + w[j + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + f);
      let ws = where.get(key);
      if (!ws) where.set(key, (ws = []));
      if (ws[ws.length - 1] !== wi) ws.push(wi);
    }
  }

  const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const better = (x: HeapEntry, y: HeapEntry): boolean => {
    if (x.count !== y.count) return x.count > y.count;
    const xl = symStr[Math.floor(x.key / PAIR_BASE)]!;
    const yl = symStr[Math.floor(y.key / PAIR_BASE)]!;
    const c = cmpStr(xl, yl);
    if (c !== 0) return c < 0;
    return cmpStr(symStr[x.key % PAIR_BASE]!, symStr[y.key % PAIR_BASE]!) < 0;
  };
  const heap = new PairHeap(better);
  for (const [key, count] of pairCount) heap.push({ key, count });

  const merges: [string, string][] = [];
  const target = opts.vocabSize;
  const every = opts.progressEvery ?? 500;
  const totalMerges = Math.max(0, target - symStr.length);

  // scratch for per-word pair diffs
  const delta = new Map<number, number>();
  while (symStr.length < target) {
    const top = heap.pop();
    if (!top) break;
    const cur = pairCount.get(top.key) ?? 0;
    if (cur !== top.count) {
      // counts only grow through a fresh push, so an entry above the current count is stale: re-queue it lower
      if (cur > 0 && cur < top.count) heap.push({ key: top.key, count: cur });
      continue;
    }
    if (cur < minFrequency) break;

    const a = Math.floor(top.key / PAIR_BASE);
    const b = top.key % PAIR_BASE;
    const newStr = symStr[a]! + symStr[b]!;
    merges.push([symStr[a]!, symStr[b]!]);
    let c = symId.get(newStr);
    if (c === undefined) {
      c = symStr.length;
      symId.set(newStr, c);
      symStr.push(newStr);
    }

    delta.clear();
    const ws = where.get(top.key) ?? [];
    where.delete(top.key);
    for (const wi of ws) {
      const w = words[wi]!;
      // does the word still contain the pair?
      let has = false;
      for (let j = 0; j + 1 < w.length; j++) {
        if (w[j] === a && w[j + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      const f = freq[wi]!;
      for (let j = 0; j + 1 < w.length; j++) {
        const k = w[j]! * PAIR_BASE + w[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) - f);
      }
      const out = new Int32Array(w.length);
      let n = 0;
      for (let j = 0; j < w.length; ) {
        if (j + 1 < w.length && w[j] === a && w[j + 1] === b) {
          out[n++] = c;
          j += 2;
        } else {
          out[n++] = w[j]!;
          j += 1;
        }
      }
      const nw = out.slice(0, n);
      words[wi] = nw;
      for (let j = 0; j + 1 < nw.length; j++) {
        const k = nw[j]! * PAIR_BASE + nw[j + 1]!;
        delta.set(k, (delta.get(k) ?? 0) + f);
        if (nw[j] === c || nw[j + 1] === c) {
          let wl = where.get(k);
          if (!wl) where.set(k, (wl = []));
          if (wl[wl.length - 1] !== wi) wl.push(wi);
        }
      }
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const before = pairCount.get(k) ?? 0;
      const after = before + d;
      if (after <= 0) pairCount.delete(k);
      else pairCount.set(k, after);
      if (d > 0 && after > 0) heap.push({ key: k, count: after });
    }
    pairCount.delete(top.key);
    if (opts.onProgress && merges.length % every === 0) opts.onProgress(symStr.length - 256, totalMerges);
  }
  return { merges };
}

/**
 * Lay out a vocabulary of exactly `vocabSize` ids (fewer if training stopped early).
 * gpt2: 256 bytes, merges, then `<|endoftext|>` as the last id (as in GPT-2, where it is 50256).
 * bert: `[PAD] [UNK] [CLS] [SEP] [MASK]` as ids 0–4, then 256 bytes, then merges.
 */
export function layoutVocab(model: BpeModel, flavor: TokenizerFlavor, vocabSize: number): VocabLayout {
  const specials = flavor === 'gpt2' ? [...GPT2_SPECIALS] : [...BERT_SPECIALS];
  const vocab = new Map<string, number>();
  const specialOut: { content: string; id: number }[] = [];
  const addSpecials = (): void => {
    for (const s of specials) {
      specialOut.push({ content: s, id: vocab.size });
      vocab.set(s, vocab.size);
    }
  };
  if (flavor === 'bert') addSpecials();
  for (const b of BYTE_ORDER) vocab.set(BYTE_TO_CHAR[b]!, vocab.size);
  const budget = vocabSize - (flavor === 'gpt2' ? specials.length : 0);
  const merges: [string, string][] = [];
  for (const m of model.merges) {
    const s = m[0] + m[1];
    if (!vocab.has(s)) {
      if (vocab.size >= budget) break;
      vocab.set(s, vocab.size);
    }
    merges.push(m);
  }
  if (flavor === 'gpt2') addSpecials();
  return { vocab, merges, specials: specialOut };
}

/** HF `tokenizer.json` (tokenizers ≥ 0.13 layout; merges as "a b" strings, which every version reads). */
export function toTokenizerJson(layout: VocabLayout, flavor: TokenizerFlavor): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const vocabObj: Record<string, number> = {};
  for (const [k, v] of [...layout.vocab].sort((x, y) => x[1] - y[1])) vocabObj[k] = v;
  const addedTokens = layout.specials.map((s) => ({
    id: s.id,
    content: s.content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  let postProcessor: Record<string, unknown> = byteLevel;
  if (flavor === 'bert') {
    const id = (t: string): number => layout.vocab.get(t)!;
    postProcessor = {
      type: 'Sequence',
      processors: [
        byteLevel,
        {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: '[CLS]', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '[SEP]', type_id: 0 } },
          ],
          pair: [
            { SpecialToken: { id: '[CLS]', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '[SEP]', type_id: 0 } },
            { Sequence: { id: 'B', type_id: 1 } },
            { SpecialToken: { id: '[SEP]', type_id: 1 } },
          ],
          special_tokens: {
            '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
            '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
          },
        },
      ],
    };
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: postProcessor,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObj,
      merges: layout.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** The matching `tokenizer_config.json` (transformers / @huggingface/tokenizers read it). */
export function toTokenizerConfig(flavor: TokenizerFlavor, modelMaxLength: number): Record<string, unknown> {
  if (flavor === 'gpt2') {
    return {
      tokenizer_class: 'GPT2TokenizerFast',
      model_max_length: modelMaxLength,
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
    };
  }
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: modelMaxLength,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: false,
  };
}

/** Train and lay out in one call: returns the tokenizer, its tokenizer.json and tokenizer_config.json. */
export function buildTokenizer(
  model: BpeModel,
  flavor: TokenizerFlavor,
  vocabSize: number,
  modelMaxLength = 512,
): { tokenizer: ByteLevelBpe; json: Record<string, unknown>; config: Record<string, unknown> } {
  const layout = layoutVocab(model, flavor, vocabSize);
  return { tokenizer: ByteLevelBpe.fromLayout(layout), json: toTokenizerJson(layout, flavor), config: toTokenizerConfig(flavor, modelMaxLength) };
}
