/**
 * Text ↔ token ids through Hugging Face `tokenizer.json` files, run by `@huggingface/tokenizers` (pure TypeScript,
 * works in the browser), from the parsed `tokenizer.json` and `tokenizer_config.json` the Hub ships with `gpt2` and
 * `bert-base-uncased`. `loadTokenizer(dir)` in `node.ts` reads them from a model directory.
 *
 * Decoding does not "clean up tokenization spaces" unless tokenizer_config.json asks for it (modern transformers'
 * default), so GPT-2's decode(encode(text)) gives back `text` exactly.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { TokenizerError, validateTokenizerJson } from './tokenizer-schema.js';

export { TokenizerError } from './tokenizer-schema.js';

export interface Encoding {
  ids: number[];
  tokens: string[];
  /** Segment ids (BERT's token_type_ids): 0 for the first text, 1 for the pair, as the post-processor says. */
  typeIds: number[];
  attentionMask: number[];
}

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP] for BERT; none for GPT-2). Default true, as HF. */
  addSpecialTokens?: boolean;
}

export type SpecialTokenRole = 'bos' | 'eos' | 'unk' | 'sep' | 'pad' | 'cls' | 'mask';

export class TextTokenizer {
  readonly vocabSize: number;
  private readonly hf: HfTokenizer;

  /**
   * @param tokenizerJson the parsed tokenizer.json
   * @param tokenizerConfig the parsed tokenizer_config.json (special-token names, decode clean-up); may be empty
   * @param source names the files in error messages
   */
  constructor(
    tokenizerJson: unknown,
    readonly tokenizerConfig: Readonly<Record<string, unknown>> = {},
    readonly source = 'tokenizer.json',
  ) {
    validateTokenizerJson(tokenizerJson, source);
    const json = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...(tokenizerJson as object) };
    const config = { ...tokenizerConfig, clean_up_tokenization_spaces: tokenizerConfig.clean_up_tokenization_spaces ?? false };
    try {
      this.hf = new HfTokenizer(json, config);
    } catch (error) {
      throw new TokenizerError(source, 'tokenizer.json', `cannot be loaded (${(error as Error).message.split('\n')[0]})`);
    }
    let largest = -1;
    for (const id of this.hf.get_vocab(true).values()) largest = Math.max(largest, id);
    this.vocabSize = largest + 1;
  }

  /** Token ids of `text`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Ids, tokens, segment ids and attention mask of `text`, or of the pair (`text`, `pair`). */
  encodeFull(text: string, pair: string | null = null, options: EncodeOptions = {}): Encoding {
    const out = this.hf.encode(text, { text_pair: pair, add_special_tokens: options.addSpecialTokens ?? true, return_token_type_ids: true });
    return {
      ids: out.ids,
      tokens: out.tokens,
      typeIds: out.token_type_ids ?? new Array<number>(out.ids.length).fill(0),
      attentionMask: out.attention_mask,
    };
  }

  /** Text of `ids`. Every id must be in the vocabulary. */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const list = Array.from(ids);
    list.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.hf.id_to_token(id) === undefined) {
        throw new TokenizerError(this.source, 'decode', `id ${id} at position ${i} is not in the vocabulary (size ${this.vocabSize})`);
      }
    });
    if (list.length === 0) return '';
    return this.hf.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The token strings of `text`, without special tokens. */
  tokenize(text: string): string[] {
    return this.hf.tokenize(text);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** The id of a special token named in tokenizer_config.json (`eos_token`, `cls_token`, ...), or null. */
  specialTokenId(role: SpecialTokenRole): number | null {
    const entry = this.tokenizerConfig[`${role}_token`];
    const content = typeof entry === 'string' ? entry
      : typeof entry === 'object' && entry !== null && typeof (entry as { content?: unknown }).content === 'string' ? (entry as { content: string }).content
        : null;
    return content === null ? null : this.tokenToId(content) ?? null;
  }
}

/** A tokenizer from already-parsed tokenizer.json and tokenizer_config.json objects (browser-safe). */
export function tokenizerFromJson(tokenizerJson: unknown, tokenizerConfig: Readonly<Record<string, unknown>> = {}, source?: string): TextTokenizer {
  return new TextTokenizer(tokenizerJson, tokenizerConfig, source);
}
