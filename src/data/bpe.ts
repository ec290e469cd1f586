// Byte-level BPE (GPT-2 style): encoder/decoder and the HF `tokenizer.json` reader. Training a vocabulary and
// writing tokenizer.json are the asset tools' (tools/bpe-train.ts).
//
// Pre-tokenisation is GPT-2's regex over the raw text; every piece is turned into bytes (UTF-8) and each byte into
// one printable unicode character by GPT-2's `bytes_to_unicode` table (space → 'Ġ', newline → 'Ċ', ...). Merges are
// learned on those byte-level strings. Nothing here depends on Node or on the tensor engine.

/** GPT-2's pre-tokenisation pattern, exactly as `@huggingface/tokenizers` (and tiktoken's r50k) use it. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte → unicode-char table, in GPT-2's order (the order of the first 256 ids of its encoder.json). */
export const BYTE_ORDER: readonly number[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const have = new Set(bs);
  for (let b = 0; b < 256; b++) if (!have.has(b)) bs.push(b);
  return bs;
})();

/** BYTE_TO_CHAR[b] is the printable character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let n = 0;
  for (const b of BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Split text into GPT-2 pre-tokens (raw strings, before the byte mapping). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}

/** Map a raw string to its byte-level representation (one char per UTF-8 byte). */
export function toByteLevel(s: string): string {
  const bytes = utf8.encode(s);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!];
  return out;
}

/** Inverse of toByteLevel over a concatenation of tokens (invalid UTF-8 becomes U+FFFD, as HF's decoder does). */
export function fromByteLevel(s: string): string {
  const bytes = new Uint8Array(s.length);
  let n = 0;
  for (const ch of s) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) throw new Error(`not a byte-level character: ${JSON.stringify(ch)}`);
    bytes[n++] = b;
  }
  return utf8Decoder.decode(bytes.subarray(0, n));
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary layout and HF tokenizer.json
// ---------------------------------------------------------------------------------------------------------------

export type TokenizerFlavor = 'gpt2' | 'bert';

export const GPT2_SPECIALS = ['<|endoftext|>'] as const;
export const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface VocabLayout {
  /** token string → id (byte-level tokens and merges; special tokens too). */
  vocab: Map<string, number>;
  /** merges used (a prefix of the trained list). */
  merges: [string, string][];
  specials: { content: string; id: number }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding / decoding
// ---------------------------------------------------------------------------------------------------------------

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A byte-level BPE tokenizer: GPT-2's algorithm (lowest-rank pair first, leftmost occurrences first). */
export class ByteLevelBpe {
  readonly vocab: ReadonlyMap<string, number>;
  readonly idToToken: readonly string[];
  readonly specialIds: ReadonlyMap<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly specialRe: RegExp | null;

  constructor(vocab: ReadonlyMap<string, number>, merges: readonly (readonly [string, string])[], specials: readonly string[] = []) {
    this.vocab = vocab;
    const inv: string[] = [];
    for (const [t, i] of vocab) inv[i] = t;
    this.idToToken = inv;
    merges.forEach(([a, b], i) => {
      const k = `${a} ${b}`;
      if (!this.ranks.has(k)) this.ranks.set(k, i);
    });
    const sp = new Map<string, number>();
    for (const s of specials) {
      const id = vocab.get(s);
      if (id === undefined) throw new Error(`special token ${s} not in vocab`);
      sp.set(s, id);
    }
    this.specialIds = sp;
    this.specialRe = specials.length
      ? new RegExp(`(${[...specials].sort((x, y) => y.length - x.length).map(escapeRegExp).join('|')})`)
      : null;
  }

  static fromLayout(layout: VocabLayout): ByteLevelBpe {
    return new ByteLevelBpe(layout.vocab, layout.merges, layout.specials.map((s) => s.content));
  }

  /** Build from a parsed HF tokenizer.json of this family (ByteLevel BPE). */
  static fromTokenizerJson(json: unknown): ByteLevelBpe {
    const j = json as {
      model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
      added_tokens?: { content: string; id: number; special?: boolean }[];
    };
    if (!j.model || j.model.type !== 'BPE' || !j.model.vocab || !j.model.merges) throw new Error('not a BPE tokenizer.json');
    const vocab = new Map<string, number>(Object.entries(j.model.vocab));
    const added = j.added_tokens ?? [];
    for (const t of added) vocab.set(t.content, t.id);
    const merges = j.model.merges.map((m): [string, string] => {
      if (Array.isArray(m)) return [m[0], m[1]];
      const i = m.indexOf(' ');
      return [m.slice(0, i), m.slice(i + 1)];
    });
    return new ByteLevelBpe(vocab, merges, added.map((t) => t.content));
  }

  get size(): number {
    return this.idToToken.length;
  }

  tokenId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /** BPE of one byte-level word → token strings. */
  bpe(word: string): string[] {
    const syms = Array.from(word);
    while (syms.length > 1) {
      let best = Infinity;
      let bi = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < best) {
          best = r;
          bi = i;
        }
      }
      if (bi < 0) break;
      const a = syms[bi]!;
      const b = syms[bi + 1]!;
      const out: string[] = [];
      for (let i = 0; i < syms.length; ) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          out.push(a + b);
          i += 2;
        } else {
          out.push(syms[i]!);
          i += 1;
        }
      }
      syms.length = 0;
      syms.push(...out);
    }
    return syms;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const piece of preTokenize(text)) {
      const w = toByteLevel(piece);
      let ids = this.cache.get(w);
      if (!ids) {
        ids = this.bpe(w).map((t) => {
          const id = this.vocab.get(t);
          if (id === undefined) throw new Error(`token ${JSON.stringify(t)} missing from vocab`);
          return id;
        });
        if (this.cache.size < 100_000) this.cache.set(w, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Encode text to ids (no added specials around it; special-token strings inside the text map to their ids). */
  encode(text: string, opts: { allowSpecial?: boolean } = {}): number[] {
    const out: number[] = [];
    if (this.specialRe && opts.allowSpecial !== false) {
      const parts = text.split(this.specialRe);
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        if (i % 2 === 1) out.push(this.specialIds.get(p)!);
        else if (p) this.encodeOrdinary(p, out);
      }
    } else this.encodeOrdinary(text, out);
    return out;
  }

  /** Token strings (byte-level) for text. */
  tokenize(text: string): string[] {
    return this.encode(text).map((i) => this.idToToken[i]!);
  }

  decode(ids: readonly number[] | Int32Array, opts: { skipSpecial?: boolean } = {}): string {
    let out = '';
    let run = '';
    const specialSet = new Set(this.specialIds.values());
    for (const id of ids) {
      const t = this.idToToken[id];
      if (t === undefined) throw new Error(`id ${id} out of range`);
      if (specialSet.has(id)) {
        if (run) out += fromByteLevel(run);
        run = '';
        if (!opts.skipSpecial) out += t;
      } else run += t;
    }
    if (run) out += fromByteLevel(run);
    return out;
  }
}
