// Pure text helpers used to derive the shipped data sets (assets/data) from the npm source packages.
// No Node APIs: everything here is deterministic string processing, unit-tested in test/data-derive.test.ts.
import { SPLITS, TOKEN_LABELS, type Split, type TokenLabel } from '../src/data/text.js';

export { SPLITS, TOKEN_LABELS, type Split, type TokenLabel };

// ---------------------------------------------------------------------------------------------------------------
// Hashing and splits
// ---------------------------------------------------------------------------------------------------------------

/** A 53-bit string hash (two 32-bit multiply-xorshift lanes over UTF-16 code units, murmur3-style finaliser). */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A number in [0, 1) fixed by (seed, key). */
export function hashUnit(key: string, seed: string): number {
  return hash53(`${seed}\u0000${key}`) / 2 ** 53;
}


/** Assign a split by hash: [0, train) → train, [train, train+validation) → validation, rest → test. */
export function splitOf(key: string, seed: string, train = 0.8, validation = 0.1): Split {
  const u = hashUnit(key, seed);
  return u < train ? 'train' : u < train + validation ? 'validation' : 'test';
}

// ---------------------------------------------------------------------------------------------------------------
// Whitespace, prose, truncation
// ---------------------------------------------------------------------------------------------------------------

/** Collapse every run of whitespace to one space and trim. */
export function collapseWhitespace(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Normalise prose: NFC, CRLF → LF, drop control chars and U+FFFD, collapse spaces inside paragraphs, one paragraph per
 * line (paragraphs are separated by blank lines in the input; single newlines are hard wraps).
 */
export function normalizeProse(s: string): string {
  const t = s
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd\u200b\ufeff]/g, '');
  return t
    .split(/\n[ \t]*\n/)
    .map(collapseWhitespace)
    .filter((p) => p.length > 0)
    .join('\n');
}

/** Remove a Project Gutenberg header/footer if present (the stdlib packages ship the book without them). */
export function stripGutenberg(s: string): string {
  let t = s;
  const start = t.search(/\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG[^\n]*\n/i);
  if (start >= 0) t = t.slice(t.indexOf('\n', start) + 1);
  const end = t.search(/\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG/i);
  if (end >= 0) t = t.slice(0, end);
  const endAlt = t.search(/\n\s*End of (the )?Project Gutenberg/i);
  if (endAlt >= 0) t = t.slice(0, endAlt);
  return t;
}

/** Stage directions in transcribed addresses: "(Applause.)", "(Laughter.)", "[applause]" … */
export function stripStageDirections(s: string): string {
  return s.replace(/\s*[([](?:applause|laughter|cheers|laughs|boos|audience[^)\]]*)[^)\]]{0,40}[)\]]/gi, '');
}

/** Truncate to at most `max` chars at a word boundary (no ellipsis). */
export function truncateWords(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max + 1);
  const sp = cut.lastIndexOf(' ');
  return (sp > max * 0.5 ? cut.slice(0, sp) : s.slice(0, max)).trim();
}

/**
 * Cut a source into (train, heldout) with the held-out part being the last `frac` of its characters, starting at the
 * first line break (else sentence boundary) at or after the cut point.
 */
export function cutHeldout(text: string, frac: number): { train: string; heldout: string } {
  const target = Math.floor(text.length * (1 - frac));
  let cut = text.indexOf('\n', target);
  const sentence = /[.!?]["”’)]*\s+(?=["“‘(]*[A-Z])/g;
  sentence.lastIndex = target;
  const m = sentence.exec(text);
  const sCut = m ? m.index + m[0].length : -1;
  if (cut < 0 || (sCut >= 0 && sCut < cut)) cut = sCut;
  if (cut < 0) cut = target;
  return { train: text.slice(0, cut).trim(), heldout: text.slice(cut).trim() };
}

// ---------------------------------------------------------------------------------------------------------------
// Mail (RFC 822 / MIME, just enough for the SpamAssassin corpus)
// ---------------------------------------------------------------------------------------------------------------

export interface MimeEntity {
  headers: Map<string, string>;
  body: string;
}

/** Split header block from body; unfold continuation lines; header names lower-cased; first occurrence wins. */
export function parseEntity(raw: string): MimeEntity {
  const t = raw.replace(/\r\n?/g, '\n');
  const sep = t.indexOf('\n\n');
  const head = sep >= 0 ? t.slice(0, sep) : t;
  const body = sep >= 0 ? t.slice(sep + 2) : '';
  const headers = new Map<string, string>();
  const unfolded = head.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (m && !headers.has(m[1]!.toLowerCase())) headers.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return { headers, body };
}

function contentType(h: Map<string, string>): { type: string; params: Map<string, string> } {
  const v = h.get('content-type') ?? 'text/plain';
  const [type, ...rest] = v.split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const m = /^\s*([\w-]+)\s*=\s*"?([^";]*)"?/.exec(p);
    if (m) params.set(m[1]!.toLowerCase(), m[2]!);
  }
  return { type: (type ?? 'text/plain').trim().toLowerCase(), params };
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const cs = (charset ?? 'utf-8').toLowerCase();
  for (const c of [cs, 'windows-1252']) {
    try {
      return new TextDecoder(c, { fatal: c !== 'windows-1252' }).decode(bytes);
    } catch {
      /* try next */
    }
  }
  return new TextDecoder('windows-1252').decode(bytes);
}

/** The text was decoded from bytes once already (as UTF-8 by the dataset builder); re-encode for QP/base64 payloads. */
function latin1OrUtf8Bytes(s: string): number[] {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 256) out.push(c);
    else out.push(...enc.encode(ch));
  }
  return out;
}

export function decodeQuotedPrintable(s: string, charset?: string): string {
  const t = s.replace(/=\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...latin1OrUtf8Bytes(ch));
  }
  return decodeBytes(Uint8Array.from(bytes), charset);
}

export function decodeBase64(s: string, charset?: string): string {
  const clean = s.replace(/[^A-Za-z0-9+/]/g, '');
  const rem = clean.length % 4;
  const usable = rem === 1 ? clean.slice(0, -1) : rem ? clean + '='.repeat(4 - rem) : clean;
  let bin: string;
  try {
    bin = atob(usable);
  } catch {
    return '';
  }
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return decodeBytes(bytes, charset);
}

/** RFC 2047 encoded words in headers: =?charset?Q?...?= / =?charset?B?...?= */
export function decodeHeaderWords(s: string): string {
  return s
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, cs: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? decodeBase64(data, cs) : decodeQuotedPrintable(data.replace(/_/g, ' '), cs),
    );
}

const ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™', middot: '·',
  mdash: '—', ndash: '–', hellip: '…', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', bull: '•', pound: '£',
  euro: '€', cent: '¢', yen: '¥', laquo: '«', raquo: '»', deg: '°', eacute: 'é', egrave: 'è', aacute: 'á',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 && !(code >= 0xd800 && code < 0xe000) ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** HTML → text: drop head/style/script/comments, block tags become paragraph breaks, other tags vanish. */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(head|style|script|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/?(p|div|tr|table|li|ul|ol|h[1-6]|blockquote|center)\b[^>]*>/gi, '\n\n')
      .replace(/<[^>]*>/g, ' ')
      .replace(/<[^>]*$/, ' '),
  );
}

interface TextPart {
  text: string;
  html: boolean;
}

function collectText(e: MimeEntity, depth: number): TextPart | null {
  const { type, params } = contentType(e.headers);
  if (type.startsWith('multipart/') && depth < 5) {
    const boundary = params.get('boundary');
    if (!boundary) return { text: e.body, html: false };
    const delim = `--${boundary}`;
    const chunks = e.body.split('\n').reduce<string[][]>(
      (acc, line) => {
        if (line.startsWith(delim)) acc.push([]);
        else acc[acc.length - 1]!.push(line);
        return acc;
      },
      [[]],
    );
    const parts = chunks.slice(1).map((lines) => parseEntity(lines.join('\n')));
    let html: TextPart | null = null;
    for (const p of parts) {
      const got = collectText(p, depth + 1);
      if (got && !got.html) return got;
      if (got && !html) html = got;
    }
    return html;
  }
  if (type !== 'text/plain' && type !== 'text/html' && type !== 'text') return null;
  // a MIME body under a non-multipart (or missing) Content-Type: find the boundary from the first part header
  const hidden = depth < 5 ? /^--([^\n]+?)[ \t]*\n[ \t]*Content-[\w-]+:/m.exec(e.body) : null;
  if (hidden) {
    const headers = new Map(e.headers);
    headers.set('content-type', `multipart/mixed; boundary="${hidden[1]}"`);
    return collectText({ headers, body: e.body }, depth + 1);
  }
  const cte = (e.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const charset = params.get('charset');
  let text = e.body;
  if (cte.includes('quoted-printable')) text = decodeQuotedPrintable(text, charset);
  else if (cte.includes('base64')) text = decodeBase64(text, charset);
  // HTML sent as text/plain is common in the spam: treat a body that is a document, or starts with a tag, as HTML
  const html = type === 'text/html' || /<(html|body)\b/i.test(text) || /^\s*<(!doctype|[a-z]+)\b[^>]*>/i.test(text);
  return { text, html };
}

/**
 * Remove what is not the author's own text: quoted lines, attribution lines, PGP armour, signatures and list
 * footers (everything after "-- ", a line of underscores, or an "Original Message" marker).
 */
export function stripMailNoise(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.trimEnd();
    if (/^(-- ?|_{5,}|-{5,} ?Original Message ?-{5,}|-{5,}BEGIN PGP SIGNATURE-{5,}|-{5,} ?Forwarded message ?-{5,})$/i.test(l)) break;
    if (/^-{5,} ?Yahoo! Groups Sponsor/i.test(l)) break;
    if (/^https?:\/\/\S+\/listinfo\/\S*$/.test(l.trim())) continue; // list footer URL
    if (/^\s*(>|\|>|[A-Za-z]{1,12}>\s)/.test(l)) continue; // quoted, also supercite "Name> " quoting
    if (/^-{5,}BEGIN PGP SIGNED MESSAGE-{5,}$/.test(l) || /^Hash: \w+$/.test(l)) continue;
    if (/\bwrote\s*:\s*$/i.test(l) || /^\s*On .{0,80}(wrote|writes|said)\s*:?\s*$/i.test(l)) {
      // an attribution wrapped over two lines: "On Mon, 9 Sep 2002, Someone <a@b>\n  wrote:"
      const prev = out[out.length - 1];
      if (prev !== undefined && /^\s*(On|At|Quoting)\b/.test(prev) && prev.length < 120 && !/[.!?]$/.test(prev)) out.pop();
      continue;
    }
    if (/^(URL|Date): /.test(l) && out.every((x) => x.trim() === '' || /^(URL|Date): /.test(x))) continue; // RSS item header
    out.push(l);
  }
  return out.join('\n');
}

export interface ParsedMail {
  subject: string;
  /** Cleaned body, one paragraph per line. */
  body: string;
  html: boolean;
}

/** Parse one raw SpamAssassin message: decoded subject and cleaned body (headers stripped, HTML removed). */
const HEADER_LINE = /^(Return-Path|Received|From|To|Cc|Subject|Date|Message-Id|Reply-To|Delivered-To|MIME-Version|Content-[\w-]+|X-[\w-]+)\s*:/i;

export function parseMail(raw: string): ParsedMail {
  let e = parseEntity(raw);
  // some messages carry a second header block after a stray blank line: parse it as the message
  for (let i = 0; i < 3 && HEADER_LINE.test(e.body.replace(/^\s+/, '')); i++) {
    const inner = parseEntity(e.body.replace(/^\s+/, ''));
    const headers = new Map(e.headers);
    for (const [k, v] of inner.headers) if (k.startsWith('content-') || !headers.has(k)) headers.set(k, v);
    e = { headers, body: inner.body };
  }
  const subject = collapseWhitespace(decodeHeaderWords(e.headers.get('subject') ?? '')).replace(/\ufffd/g, '');
  const part = collectText(e, 0) ?? { text: '', html: false };
  let text = part.text.replace(/\r\n?/g, '\n');
  if (part.html) text = htmlToText(text);
  text = stripMailNoise(text);
  return { subject, body: normalizeProse(text), html: part.html };
}

/**
 * Subject → generation target: drop reply/forward prefixes and [list] tags (repeatedly), collapse whitespace.
 * "Re: [SAtalk] Fwd: Hello" → "Hello".
 */
export function normalizeSubject(s: string): string {
  let t = collapseWhitespace(s);
  for (;;) {
    const n = t.replace(/^(?:(?:re|fwd?|aw|sv|antw)(?:\[\d+\])?\s*:|\[[^\]]{1,40}\]|\(fwd\))\s*/i, '');
    if (n === t) break;
    t = n;
  }
  return t.replace(/\s*\(fwd\)$/i, '').trim();
}

/** Share of letters among non-space characters (filters code, logs, tables). */
export function letterRatio(s: string): number {
  const nonSpace = s.replace(/\s+/g, '');
  if (!nonSpace.length) return 0;
  const letters = nonSpace.match(/\p{L}/gu)?.length ?? 0;
  return letters / nonSpace.length;
}

// ---------------------------------------------------------------------------------------------------------------
// Sentences and the capitalisation/punctuation-restoration labels
// ---------------------------------------------------------------------------------------------------------------

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'st', 'jr', 'sr', 'gen', 'col', 'capt', 'lt', 'gov', 'hon', 'messrs', 'rev', 'vs', 'etc',
  'no', 'nos', 'co', 'inc', 'ft', 'mt', 'jan', 'feb', 'mar', 'apr', 'aug', 'sept', 'sep', 'oct', 'nov', 'dec', 'viz',
  'i.e', 'e.g', 'cf', 'art', 'sec', 'vol', 'pp', 'ch', 'esq', 'prof', 'sen', 'rep', 'adm', 'maj', 'sgt', 'corp',
]);

/** Split a paragraph into sentences at [.!?] (+closing quotes) followed by space and a capital/digit/opening quote. */
export function splitSentences(paragraph: string): string[] {
  const out: string[] = [];
  const re = /[.!?]["'”’)\]]*\s+(?=["'“‘(\[]*[A-Z0-9])/g;
  let start = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(paragraph))) {
    const end = m.index + 1;
    const before = paragraph.slice(start, end);
    const lastWord = /(\S+)$/.exec(before)?.[1] ?? '';
    const bare = lastWord.replace(/^["'“‘(\[]+/, '').replace(/\.$/, '').toLowerCase();
    if (paragraph[m.index] === '.' && (ABBREVIATIONS.has(bare) || /^[a-z]$/.test(bare) || /^([a-z]\.)+[a-z]$/.test(bare))) continue;
    out.push(paragraph.slice(start, m.index + m[0].trimEnd().length).trim());
    start = m.index + m[0].length;
  }
  const rest = paragraph.slice(start).trim();
  if (rest) out.push(rest);
  return out.filter((s) => s.length > 0);
}


export interface LabelledSentence {
  words: string[];
  labels: TokenLabel[];
}

/**
 * Capitalisation/punctuation restoration labels for one sentence. Words are lower-cased with punctuation removed
 * (inner apostrophes and hyphens stay: "don't", "sea-hawks"). Label of a word, by precedence:
 *   QUESTION if followed by '?'; PERIOD if followed by '.' or '!'; COMMA if followed by ',', ';', ':' or a dash;
 *   else CAP if its first letter was upper-case; else O.
 * Returns null (sentence rejected) for words with other inner symbols (digits with commas, "U.S.", URLs, ...),
 * for sentences not ending in PERIOD/QUESTION or with PERIOD/QUESTION before the last word, or outside
 * [minWords, maxWords].
 */
export function labelSentence(sentence: string, minWords = 8, maxWords = 40): LabelledSentence | null {
  const s = sentence
    .replace(/[’‘`´]/g, "'")
    .replace(/\s*(—|–|--+)\s*/g, ' — ')
    .replace(/\s+/g, ' ')
    .trim();
  const words: string[] = [];
  const labels: TokenLabel[] = [];
  const punctOf = (trail: string): TokenLabel | null =>
    /\?/.test(trail) ? 'QUESTION' : /[.!]/.test(trail) ? 'PERIOD' : /[,;:—]/.test(trail) ? 'COMMA' : null;
  for (const tok of s.split(' ')) {
    const m = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/u.exec(tok)!;
    const lead = m[1]!;
    const core = m[2]!;
    const trail = m[3]!;
    if (!core) {
      // a free-standing punctuation token ("—", "...") marks the previous word
      const p = punctOf(lead + trail);
      if (p && labels.length && (labels[labels.length - 1] === 'O' || labels[labels.length - 1] === 'CAP')) labels[labels.length - 1] = p;
      continue;
    }
    if (!/^[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*$/u.test(core)) return null;
    if (/[\[(]/.test(lead)) return null; // parentheticals make the labels ambiguous
    const p = punctOf(trail);
    words.push(core.toLowerCase());
    labels.push(p ?? (/^\p{Lu}/u.test(core) ? 'CAP' : 'O'));
  }
  if (words.length < minWords || words.length > maxWords) return null;
  const last = labels[labels.length - 1];
  if (last !== 'PERIOD' && last !== 'QUESTION') return null;
  // one sentence: no sentence-final punctuation before the last word ("By heaven! it cannot be!—Missing?" is skipped)
  for (let i = 0; i + 1 < labels.length; i++) if (labels[i] === 'PERIOD' || labels[i] === 'QUESTION') return null;
  return { words, labels };
}
