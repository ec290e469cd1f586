/**
 * tokenizer.json validated like config.json, before `@huggingface/tokenizers` sees it: the library accepts an unknown
 * `model.type` or an array vocab and then tokenizes everything to `[]`. Checked here: the model's type and the fields
 * each type needs (BPE: vocab object + merges; WordPiece, WordLevel: vocab object + unk_token; Unigram: vocab array of
 * [piece, score]), every id a non-negative integer used once, added_tokens entries, and the pipeline stages (normalizer,
 * pre_tokenizer, post_processor, decoder) objects with a string `type` or null. Browser-safe.
 */

/** A bad tokenizer file or input. The message is one line: `source: where: what`. */
export class TokenizerError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${source}: ${field}: ${detail}`);
    this.name = 'TokenizerError';
  }
}

export const TOKENIZER_MODEL_TYPES = ['BPE', 'WordPiece', 'WordLevel', 'Unigram'] as const;
export type TokenizerModelType = (typeof TOKENIZER_MODEL_TYPES)[number];

/** The largest vocabulary accepted (GPT-2 has 50,257, the largest public models ~256k). */
const MAX_VOCAB = 10_000_000;

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) < MAX_VOCAB;

/** Throws TokenizerError naming `source` and the field if `json` is not a tokenizer.json this project can run. */
export function validateTokenizerJson(json: unknown, source: string): void {
  const fail: (field: string, detail: string) => never = (field, detail) => {
    throw new TokenizerError(source, field, detail);
  };
  if (!isObject(json)) fail('(root)', 'must be a JSON object');
  const model = json.model;
  if (model === undefined) fail('model', 'is missing');
  if (!isObject(model)) fail('model', `must be an object, found ${show(model)}`);
  const type = model.type;
  if (!(TOKENIZER_MODEL_TYPES as readonly unknown[]).includes(type)) {
    fail('model.type', `${show(type)} is not a known tokenizer model (${TOKENIZER_MODEL_TYPES.join(', ')})`);
  }
  const ids = new Map<number, string>();
  const claim = (id: number, token: string, field: string) => {
    const other = ids.get(id);
    if (other !== undefined && other !== token) fail(field, `id ${id} is given to both ${show(other)} and ${show(token)}`);
    ids.set(id, token);
  };
  const modelType = type as TokenizerModelType;
  switch (modelType) {
    case 'BPE': case 'WordPiece': case 'WordLevel': {
      if (!isObject(model.vocab)) fail('model.vocab', `must be an object of token → id for ${modelType}, found ${Array.isArray(model.vocab) ? 'an array' : show(model.vocab)}`);
      for (const [token, id] of Object.entries(model.vocab)) {
        if (!isId(id)) fail(`model.vocab.${show(token)}`, `must be a non-negative integer id below ${MAX_VOCAB}, found ${show(id)}`);
        claim(id, token, `model.vocab.${show(token)}`);
      }
      if (modelType === 'BPE') {
        if (!Array.isArray(model.merges)) fail('model.merges', `must be an array, found ${show(model.merges)}`);
        model.merges.forEach((merge, i) => {
          const pair = typeof merge === 'string' ? merge.split(' ') : merge;
          if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((part) => typeof part === 'string' && part.length > 0)) {
            fail(`model.merges[${i}]`, `must be "a b" or ["a", "b"], found ${show(merge)}`);
          }
        });
        const dropout = model.dropout;
        if (dropout !== undefined && dropout !== null && !(typeof dropout === 'number' && dropout >= 0 && dropout <= 1)) {
          fail('model.dropout', `must be null or a number in [0, 1], found ${show(dropout)}`);
        }
        for (const flag of ['fuse_unk', 'byte_fallback', 'ignore_merges'] as const) {
          if (model[flag] !== undefined && typeof model[flag] !== 'boolean') fail(`model.${flag}`, `must be true or false, found ${show(model[flag])}`);
        }
      }
      const unk = model.unk_token;
      if (modelType !== 'BPE' && typeof unk !== 'string') fail('model.unk_token', `must be a string for ${modelType}, found ${show(unk)}`);
      if (modelType === 'BPE' && unk !== undefined && unk !== null && typeof unk !== 'string') fail('model.unk_token', `must be a string or null, found ${show(unk)}`);
      for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
        const value = model[field];
        if (value !== undefined && value !== null && typeof value !== 'string') fail(`model.${field}`, `must be a string or null, found ${show(value)}`);
      }
      if (modelType === 'WordPiece' && model.max_input_chars_per_word !== undefined && !(isId(model.max_input_chars_per_word) && model.max_input_chars_per_word > 0)) {
        fail('model.max_input_chars_per_word', `must be a positive integer, found ${show(model.max_input_chars_per_word)}`);
      }
      break;
    }
    case 'Unigram': {
      if (!Array.isArray(model.vocab)) fail('model.vocab', `must be an array of [piece, score] for Unigram, found ${show(model.vocab)}`);
      if (model.vocab.length > MAX_VOCAB) fail('model.vocab', `has ${model.vocab.length} entries, more than ${MAX_VOCAB}`);
      model.vocab.forEach((entry, i) => {
        if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number' || !Number.isFinite(entry[1])) {
          fail(`model.vocab[${i}]`, `must be [piece, finite score], found ${show(entry)}`);
        }
        claim(i, entry[0] as string, `model.vocab[${i}]`);
      });
      if (model.unk_id !== undefined && model.unk_id !== null && !(isId(model.unk_id) && model.unk_id < model.vocab.length)) {
        fail('model.unk_id', `must be null or an index into model.vocab (${model.vocab.length} entries), found ${show(model.unk_id)}`);
      }
      break;
    }
    default: {
      const unknown: never = modelType;
      fail('model.type', `${show(unknown)} is not a known tokenizer model`);
    }
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) fail('added_tokens', `must be an array, found ${show(added)}`);
  added.forEach((token, i) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(token)) fail(where, `must be an object, found ${show(token)}`);
    if (!isId(token.id)) fail(`${where}.id`, `must be a non-negative integer id below ${MAX_VOCAB}, found ${show(token.id)}`);
    if (typeof token.content !== 'string' || token.content.length === 0) fail(`${where}.content`, `must be a non-empty string, found ${show(token.content)}`);
    for (const flag of ['single_word', 'lstrip', 'rstrip', 'normalized', 'special'] as const) {
      if (token[flag] !== undefined && typeof token[flag] !== 'boolean') fail(`${where}.${flag}`, `must be true or false, found ${show(token[flag])}`);
    }
    claim(token.id, token.content, `${where}.id`);
  });
  for (const stage of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const) {
    const value = json[stage];
    if (value === undefined || value === null) continue;
    if (!isObject(value) || typeof value.type !== 'string') fail(stage, `must be null or an object with a string "type", found ${show(value)}`);
  }
  if (ids.size === 0) fail('model.vocab', 'is empty');
}
