// Derivation of the shipped data sets (assets/data/*) from the raw npm source packages.
// Pure: the caller (scripts/derive-data.mjs) loads the packages and writes the returned files. Same inputs and
// options → byte-identical outputs.

import { buildTokenizer, trainBpe } from './bpe-train.js';
import type { SpamExample, SubjectExample, TokensExample } from '../src/data/datasets.js';
import {
  collapseWhitespace,
  cutHeldout,
  hashUnit,
  labelSentence,
  letterRatio,
  normalizeProse,
  normalizeSubject,
  parseMail,
  splitOf,
  splitSentences,
  stripGutenberg,
  stripStageDirections,
  truncateWords,
  SPLITS,
  type Split,
  type TokenLabel,
  type ParsedMail,
} from './text.js';

export interface RawMail {
  id: string;
  group: string;
  text: string;
}
export interface RawChapter {
  chapter: string;
  title: string;
  text: string;
}
export interface RawAddress {
  year: number;
  name: string;
  party: string;
  text: string;
}
export interface RawSources {
  mail: readonly RawMail[];
  mobyDick: readonly RawChapter[];
  sotu: readonly RawAddress[];
}

export type SplitSizes = Record<Split, number>;

export interface DeriveOptions {
  seed: string;
  /** Fractions of mail keys (threads) going to train and validation; the rest is test. */
  mailSplit: [number, number];
  /** Examples per split for spam.jsonl (half spam, half ham in every split). */
  spam: SplitSizes;
  /** Sentences per split for tokens.jsonl. */
  tokens: SplitSizes;
  /** Examples per split for subject.jsonl. */
  subject: SplitSizes;
  spamBodyChars: number;
  subjectBodyChars: number;
  /** Every n-th State of the Union address (chronological) goes into the pretraining corpus; the rest feed tokens.jsonl. */
  sotuEvery: number;
  /** Character budget for ham mail bodies in the corpus. */
  hamCorpusChars: number;
  /** Fraction of each corpus source held out (its last part). */
  heldoutFraction: number;
  /** Tokenizer vocabulary size (specials included). */
  vocabSize: number;
  minWords: number;
  maxWords: number;
  /** Share of each tokens.jsonl split reserved for sentences ending in '?' (they are < 1 % of the text). */
  questionShare: number;
}

export const DEFAULT_DERIVE_OPTIONS: DeriveOptions = {
  seed: 'webpeft-data-v1',
  mailSplit: [0.7, 0.15],
  spam: { train: 1500, validation: 520, test: 520 },
  tokens: { train: 3000, validation: 500, test: 500 },
  subject: { train: 1500, validation: 250, test: 250 },
  spamBodyChars: 600,
  subjectBodyChars: 300,
  sotuEvery: 10,
  hamCorpusChars: 500_000,
  heldoutFraction: 0.05,
  vocabSize: 4096,
  minWords: 8,
  maxWords: 40,
  questionShare: 0.1,
};

export type { SpamExample, SubjectExample, TokensExample };

export interface DeriveResult {
  /** relative path under assets/data → contents */
  files: Map<string, string>;
  stats: Record<string, unknown>;
}

const HAM_GROUPS = new Set(['easy-ham-1', 'easy-ham-2', 'hard-ham-1']);
const SPAM_GROUPS = new Set(['spam-1', 'spam-2']);

interface Mail extends ParsedMail {
  id: string;
  group: string;
  isSpam: boolean;
  /** Split key: the normalised subject (a thread / a campaign), else the body. */
  key: string;
  split: Split;
}

function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Pick `n` items by ascending hash of `id(x)` (a seeded shuffle that does not depend on input order). */
function pick<T>(items: readonly T[], n: number, id: (x: T) => string, seed: string): T[] {
  return [...items]
    .map((x) => ({ x, u: hashUnit(id(x), seed), k: id(x) }))
    .sort((a, b) => a.u - b.u || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .slice(0, n)
    .map((e) => e.x);
}

function requireCount(what: string, got: number, want: number): void {
  if (got < want) throw new Error(`${what}: only ${got} candidates, ${want} requested`);
}

export function parseMails(raw: readonly RawMail[], seed: string, fractions: [number, number]): Mail[] {
  const out: Mail[] = [];
  for (const m of raw) {
    const isSpam = SPAM_GROUPS.has(m.group);
    if (!isSpam && !HAM_GROUPS.has(m.group)) throw new Error(`unknown mail group ${m.group}`);
    const p = parseMail(m.text);
    const subj = normalizeSubject(p.subject).toLowerCase();
    const key = subj ? `subject:${subj}` : `body:${collapseWhitespace(p.body).slice(0, 200)}`;
    out.push({ ...p, id: `${m.group}/${m.id}`, group: m.group, isSpam, key, split: splitOf(key, `${seed}:split`, fractions[0], fractions[1]) });
  }
  return out;
}

export function deriveSpam(mails: readonly Mail[], opts: DeriveOptions): SpamExample[] {
  const seen = new Set<string>();
  const pools = new Map<string, SpamExample[]>();
  for (const m of mails) {
    const body = truncateWords(collapseWhitespace(m.body), opts.spamBodyChars);
    if (body.length < 20) continue;
    const dedupe = `${m.subject}\u0000${body}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    const label = m.isSpam ? 'spam' : 'ham';
    const k = `${m.split}/${label}`;
    if (!pools.has(k)) pools.set(k, []);
    pools.get(k)!.push({ split: m.split, label, id: m.id, subject: m.subject, body });
  }
  const out: SpamExample[] = [];
  for (const split of SPLITS) {
    const want = opts.spam[split];
    const half = Math.floor(want / 2);
    const rows: SpamExample[] = [];
    for (const label of ['spam', 'ham'] as const) {
      const pool = pools.get(`${split}/${label}`) ?? [];
      const n = label === 'spam' ? half : want - half;
      requireCount(`spam.jsonl ${split}/${label}`, pool.length, n);
      rows.push(...pick(pool, n, (x) => x.id, `${opts.seed}:spam-pick`));
    }
    out.push(...pick(rows, rows.length, (x) => x.id, `${opts.seed}:spam-order`));
  }
  return out;
}

export function deriveSubject(mails: readonly Mail[], opts: DeriveOptions): SubjectExample[] {
  const seen = new Set<string>();
  const byThread = new Map<string, SubjectExample[]>();
  for (const m of mails) {
    if (m.isSpam) continue;
    const subject = normalizeSubject(m.subject);
    const nWords = subject.split(' ').length;
    if (subject.length < 3 || subject.length > 80 || nWords > 12 || !/\p{L}{2}/u.test(subject)) continue;
    if (/\bdigest\b/i.test(subject)) continue;
    if (/https?:|www\.|\[IMG/i.test(subject)) continue; // feed items whose title is a link // list digests: the body is someone else's message
    const body = truncateWords(collapseWhitespace(m.body), opts.subjectBodyChars);
    if (body.length < 40 || letterRatio(body) < 0.5) continue;
    if (seen.has(body)) continue;
    seen.add(body);
    const k = subject.toLowerCase();
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k)!.push({ split: m.split, id: m.id, body, subject });
  }
  // at most 3 messages per thread, so long threads do not dominate
  const pools = new Map<Split, SubjectExample[]>(SPLITS.map((s) => [s, []]));
  for (const [, msgs] of [...byThread].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    for (const e of pick(msgs, 3, (x) => x.id, `${opts.seed}:thread-pick`)) pools.get(e.split)!.push(e);
  }
  const out: SubjectExample[] = [];
  for (const split of SPLITS) {
    const pool = pools.get(split)!;
    requireCount(`subject.jsonl ${split}`, pool.length, opts.subject[split]);
    out.push(...pick(pool, opts.subject[split], (x) => x.id, `${opts.seed}:subject-pick`));
  }
  return out;
}

function mobyDickText(chapters: readonly RawChapter[]): string {
  const docs: string[] = [];
  for (const c of chapters) {
    if (c.chapter === 'Contents') continue;
    const head = /^\d+$/.test(c.chapter) ? `CHAPTER ${c.chapter}. ${c.title}\n\n` : '';
    docs.push(normalizeProse(stripGutenberg(head + c.text)));
  }
  return docs.join('\n\n');
}

function sotuDoc(a: RawAddress): string {
  return normalizeProse(stripStageDirections(a.text));
}

function hamCorpusText(mails: readonly Mail[], opts: DeriveOptions): string {
  const seen = new Set<string>();
  const cands: { id: string; text: string }[] = [];
  const ham = mails.filter((m) => !m.isSpam && m.split === 'train');
  // boilerplate (list footers, sponsor lines, signatures): any line found in 2 or more messages is dropped
  const lineCount = new Map<string, number>();
  for (const m of ham) for (const l of new Set(m.body.split('\n'))) lineCount.set(l, (lineCount.get(l) ?? 0) + 1);
  for (const m of ham) {
    let text = '';
    for (const para of m.body.split('\n')) {
      if ((lineCount.get(para) ?? 0) >= 2) continue;
      if (text.length + para.length > 3000) break;
      text += (text ? '\n' : '') + para;
    }
    if (text.length < 80 || letterRatio(text) < 0.6 || seen.has(text)) continue;
    seen.add(text);
    cands.push({ id: m.id, text });
  }
  const docs: string[] = [];
  let total = 0;
  for (const c of pick(cands, cands.length, (x) => x.id, `${opts.seed}:ham-corpus`)) {
    if (total >= opts.hamCorpusChars) break;
    docs.push(c.text);
    total += c.text.length + 2;
  }
  return docs.join('\n\n');
}

export function deriveTokens(heldoutMoby: string, sotuUnseen: readonly RawAddress[], opts: DeriveOptions): TokensExample[] {
  type LabelledWithKey = { key: string; words: string[]; labels: TokenLabel[] };
  const seen = new Set<string>();
  const cands: { source: string; ex: LabelledWithKey }[] = [];
  const add = (source: string, text: string): void => {
    for (const para of text.split('\n')) {
      for (const s of splitSentences(para)) {
        const l = labelSentence(s, opts.minWords, opts.maxWords);
        if (!l) continue;
        const key = l.words.join(' ');
        if (seen.has(key)) continue;
        seen.add(key);
        cands.push({ source, ex: { key, ...l } });
      }
    }
  };
  add('moby-dick', heldoutMoby);
  for (const a of sotuUnseen) add(`sotu-${a.year}`, sotuDoc(a));
  const out: TokensExample[] = [];
  for (const split of SPLITS) {
    const inSplit = cands.filter((c) => splitOf(c.ex.key, `${opts.seed}:tokens-split`) === split);
    // every held-out Moby Dick sentence first (there are few), then State of the Union sentences; questions are rare
    // (< 1 % of sentences), so up to `questionShare` of each split is filled with sentences ending in '?'
    const order = (xs: typeof cands): typeof cands => [
      ...pick(xs.filter((c) => c.source === 'moby-dick'), Infinity, (c) => c.ex.key, `${opts.seed}:tokens-pick`),
      ...pick(xs.filter((c) => c.source !== 'moby-dick'), Infinity, (c) => c.ex.key, `${opts.seed}:tokens-pick`),
    ];
    const isQ = (c: (typeof cands)[number]): boolean => c.ex.labels[c.ex.labels.length - 1] === 'QUESTION';
    const n = opts.tokens[split];
    const questions = order(inSplit.filter(isQ)).slice(0, Math.floor(n * opts.questionShare));
    const chosen = [...questions, ...order(inSplit.filter((c) => !isQ(c))).slice(0, n - questions.length)];
    requireCount(`tokens.jsonl ${split}`, chosen.length, n);
    const ordered = pick(chosen, chosen.length, (c) => c.ex.key, `${opts.seed}:tokens-order`);
    for (const c of ordered) out.push({ split, source: c.source, words: c.ex.words, labels: c.ex.labels });
  }
  return out;
}

function countBy<T>(rows: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[key(r)] = (out[key(r)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** Derive every shipped file. `onLog` receives progress lines. */
export function deriveAll(src: RawSources, options: Partial<DeriveOptions> = {}, onLog: (s: string) => void = () => {}): DeriveResult {
  const opts: DeriveOptions = { ...DEFAULT_DERIVE_OPTIONS, ...options };
  const files = new Map<string, string>();
  const stats: Record<string, unknown> = {};

  const mails = parseMails(src.mail, opts.seed, opts.mailSplit);
  {
    const pool: Record<string, number> = {};
    for (const m of mails) pool[`${m.split}/${m.isSpam ? 'spam' : 'ham'}`] = (pool[`${m.split}/${m.isSpam ? 'spam' : 'ham'}`] ?? 0) + 1;
    onLog(`mail pools before filtering: ${JSON.stringify(pool)}`);
  }
  onLog(`parsed ${mails.length} mails`);

  const spam = deriveSpam(mails, opts);
  files.set('spam.jsonl', jsonl(spam));
  stats['spam.jsonl'] = countBy(spam, (x) => `${x.split}/${x.label}`);

  const subject = deriveSubject(mails, opts);
  files.set('subject.jsonl', jsonl(subject));
  stats['subject.jsonl'] = countBy(subject, (x) => x.split);

  // pretraining corpus: the last `heldoutFraction` of each source is held out
  const sotuSorted = [...src.sotu].sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const sotuCorpus = sotuSorted.filter((_, i) => i % opts.sotuEvery === 0);
  const sotuUnseen = sotuSorted.filter((_, i) => i % opts.sotuEvery !== 0);
  const sources: [string, string][] = [
    ['moby-dick', mobyDickText(src.mobyDick)],
    ['sotu', sotuCorpus.map(sotuDoc).join('\n\n')],
    ['ham', hamCorpusText(mails, opts)],
  ];
  const train: string[] = [];
  const heldout: string[] = [];
  const corpusStats: Record<string, { train: number; heldout: number }> = {};
  let heldoutMoby = '';
  for (const [name, text] of sources) {
    const cut = cutHeldout(text, opts.heldoutFraction);
    train.push(cut.train);
    heldout.push(cut.heldout);
    corpusStats[name] = { train: cut.train.length, heldout: cut.heldout.length };
    if (name === 'moby-dick') heldoutMoby = cut.heldout;
  }
  const corpus = train.join('\n\n') + '\n';
  files.set('corpus.txt', corpus);
  files.set('corpus-heldout.txt', heldout.join('\n\n') + '\n');
  stats['corpus.txt'] = { chars: corpusStats, sotuAddresses: sotuCorpus.map((a) => `${a.year} ${a.name}`) };

  const tokens = deriveTokens(heldoutMoby, sotuUnseen, opts);
  files.set('tokens.jsonl', jsonl(tokens));
  const labelCounts: Record<string, number> = {};
  for (const t of tokens) for (const l of t.labels) labelCounts[l] = (labelCounts[l] ?? 0) + 1;
  stats['tokens.jsonl'] = {
    splits: countBy(tokens, (x) => x.split),
    sources: countBy(tokens, (x) => (x.source === 'moby-dick' ? 'moby-dick' : 'sotu')),
    labels: labelCounts,
  };

  // tokenizer, trained on the training part of the corpus only
  const t0 = Date.now();
  const model = trainBpe(corpus, { vocabSize: opts.vocabSize });
  const trainMs = Date.now() - t0;
  onLog(`BPE: ${model.merges.length} merges in ${trainMs} ms`);
  for (const flavor of ['gpt2', 'bert'] as const) {
    const { json, config } = buildTokenizer(model, flavor, opts.vocabSize, 512);
    files.set(`tokenizer/${flavor}/tokenizer.json`, JSON.stringify(json) + '\n');
    files.set(`tokenizer/${flavor}/tokenizer_config.json`, JSON.stringify(config, null, 2) + '\n');
  }
  stats['tokenizer'] = { vocabSize: opts.vocabSize, merges: model.merges.length };
  return { files, stats };
}
