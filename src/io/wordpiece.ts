/**
 * BERT's WordPiece tokenizer as a Hugging Face tokenizer.json, built from a `vocab.txt` (one token per line, the
 * line number is the id) — what transformers' BertConverter writes for `bert-base-uncased`:
 * BertNormalizer (clean text, pad CJK characters with spaces, lowercase; strip_accents null = strip when lowercasing)
 * → BertPreTokenizer (split on whitespace and punctuation) → WordPiece (longest-match-first, "##" continuations,
 * [UNK] for words it cannot cover or longer than 100 characters) → `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with
 * segment ids 0/1 → WordPiece decoder (joins "##" pieces, cleans up spaces before punctuation).
 */
import { TokenizerError } from './tokenizer.js';

export interface WordPieceOptions {
  /** Lowercase the input (the *-uncased models). Default true. */
  lowercase?: boolean;
  /** Strip accents; null (HF's default) strips exactly when lowercasing. */
  stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs so each is its own word. Default true. */
  handleChineseChars?: boolean;
  /** Longest word (in characters) WordPiece tries to split; longer words become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
  /** Names the vocabulary in error messages. */
  source?: string;
}

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const REQUIRED_TOKENS = ['[UNK]', '[CLS]', '[SEP]'] as const;

/** Parse vocab.txt as transformers' `load_vocab` does: one token per line, trailing newline removed, id = line. */
export function parseVocabTxt(vocabTxt: string, source = 'vocab.txt'): Map<string, number> {
  const lines = vocabTxt.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((token, id) => {
    if (vocab.has(token)) throw new TokenizerError(source, `line ${id + 1}`, `token ${JSON.stringify(token)} already appears on line ${vocab.get(token)! + 1}`);
    vocab.set(token, id);
  });
  return vocab;
}

/** The tokenizer.json object for a WordPiece vocabulary (feed it to `tokenizerFromJson`). */
export function makeWordPieceTokenizerJson(vocabTxt: string, options: WordPieceOptions = {}): Record<string, unknown> {
  const source = options.source ?? 'vocab.txt';
  const vocab = parseVocabTxt(vocabTxt, source);
  for (const token of REQUIRED_TOKENS) {
    if (!vocab.has(token)) throw new TokenizerError(source, token, 'is missing from the vocabulary');
  }
  const idOf = (token: string): number => vocab.get(token)!;
  const addedTokens = SPECIAL_TOKENS.filter((token) => vocab.has(token))
    .map((token) => ({ id: idOf(token), content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
    .sort((a, b) => a.id - b.id);
  const special = (id: '[CLS]' | '[SEP]', typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: options.handleChineseChars ?? true,
      strip_accents: options.stripAccents ?? null,
      lowercase: options.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [idOf('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [idOf('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: options.maxInputCharsPerWord ?? 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

/** tokenizer_config.json as transformers writes it for bert-base-uncased. */
export function makeWordPieceTokenizerConfig(options: WordPieceOptions = {}): Record<string, unknown> {
  return {
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_lower_case: options.lowercase ?? true,
    mask_token: '[MASK]',
    model_max_length: 512,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: options.stripAccents ?? null,
    tokenize_chinese_chars: options.handleChineseChars ?? true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
}
