/**
 * Typed, one-line-error access to a config.json object — what every model's config reader (config.ts for GPT-2 and
 * BERT, bart-config.ts for BART) builds on. Its own module so that config.ts can dispatch to every model's reader
 * without an import cycle.
 */
import type { CommonConfig, ProblemType } from './config.js';

/** A config the engine cannot honour, or a malformed one. The message is one line: `file: key: what`. */
export class ConfigError extends Error {
  constructor(
    readonly fileName: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${fileName}: ${field}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Sizes index tensors with 32-bit integers (WGSL has no 64-bit ones). */
const MAX_SIZE = 2 ** 31 - 1;

const PROBLEM_TYPES: readonly ProblemType[] = ['single_label_classification', 'multi_label_classification', 'regression'];

/** Typed access to one config object; every failure names the file and the key. */
export class Fields {
  constructor(
    readonly json: Record<string, unknown>,
    readonly fileName: string,
  ) {}

  fail(key: string, detail: string): never {
    throw new ConfigError(this.fileName, key, detail);
  }

  private get(key: string): unknown {
    return Object.hasOwn(this.json, key) ? this.json[key] : undefined;
  }

  /** A positive integer (a size). */
  size(key: string, fallback: number): number {
    const value = this.get(key) ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < 1) this.fail(key, `must be a positive integer, found ${show(value)}`);
    if ((value as number) > MAX_SIZE) this.fail(key, `${value} is beyond the largest size a tensor dimension can have (${MAX_SIZE})`);
    return value as number;
  }

  /** A token id in [0, vocabSize), or null. */
  tokenId(key: string, fallback: number | null, vocabSize: number): number | null {
    const value = this.get(key) === undefined ? fallback : this.get(key);
    if (value === null) return null;
    if (!Number.isSafeInteger(value) || (value as number) < 0) this.fail(key, `must be a non-negative integer or null, found ${show(value)}`);
    if ((value as number) >= vocabSize) this.fail(key, `${value} is outside the vocabulary (vocab_size ${vocabSize})`);
    return value as number;
  }

  /** A dropout probability in [0, 1). */
  probability(key: string, fallback: number): number {
    const value = this.get(key) ?? fallback;
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) this.fail(key, `must be a probability in [0, 1), found ${show(value)}`);
    return value as number;
  }

  positive(key: string, fallback: number): number {
    const value = this.get(key) ?? fallback;
    if (typeof value !== 'number' || !(value > 0 && Number.isFinite(value))) this.fail(key, `must be a positive number, found ${show(value)}`);
    return value as number;
  }

  nonNegative(key: string, fallback: number): number {
    const value = this.get(key) ?? fallback;
    if (typeof value !== 'number' || !(value >= 0 && Number.isFinite(value))) this.fail(key, `must be a non-negative number, found ${show(value)}`);
    return value as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.get(key) ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, `must be true or false, found ${show(value)}`);
    return value as boolean;
  }

  /** One of a fixed set of strings; anything else is math the engine does not have. */
  choice<K extends string>(key: string, fallback: K, allowed: readonly K[]): K {
    const value = this.get(key) ?? fallback;
    if (!allowed.includes(value as K)) this.fail(key, `${show(value)} is not supported (supported: ${allowed.join(', ')})`);
    return value as K;
  }

  /** A key that would change the math in a way the engine does not implement must hold its neutral value. */
  neutral(key: string, isNeutral: (value: unknown) => boolean, reason: string): void {
    const value = this.get(key);
    if (value !== undefined && !isNeutral(value)) this.fail(key, `${show(value)} is not supported: ${reason}`);
  }

  modelType(expected: 'gpt2' | 'bert' | 'bart'): void {
    const value = this.get('model_type');
    if (value !== undefined && value !== expected) this.fail('model_type', `expected ${show(expected)}, found ${show(value)}`);
  }

  /** The keys every model shares; `encoderDecoder` for BART, whose config says is_encoder_decoder: true. */
  common(vocabSize: number, o: { encoderDecoder?: boolean } = {}): CommonConfig {
    const architectures = this.get('architectures') ?? null;
    if (architectures !== null && !(Array.isArray(architectures) && architectures.every((a) => typeof a === 'string'))) {
      this.fail('architectures', `must be a list of strings, found ${show(architectures)}`);
    }
    const problemType = this.get('problem_type') ?? null;
    if (problemType !== null && !PROBLEM_TYPES.includes(problemType as ProblemType)) {
      this.fail('problem_type', `${show(problemType)} is not one of ${PROBLEM_TYPES.join(', ')}`);
    }
    this.neutral('pruned_heads', (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0, 'attention heads cannot be pruned');
    this.neutral('quantization_config', (v) => v === null, 'quantized weights are not supported');
    if (!o.encoderDecoder) this.neutral('is_encoder_decoder', (v) => v === false, 'encoder-decoder models are not supported');
    this.neutral('add_cross_attention', (v) => v === false, 'cross-attention is not supported');
    return {
      architectures: architectures === null ? null : [...(architectures as string[])],
      ...this.labels(),
      problemType: problemType as ProblemType | null,
      tieWordEmbeddings: this.bool('tie_word_embeddings', true),
      initializerRange: this.nonNegative('initializer_range', 0.02),
      padTokenId: this.tokenId('pad_token_id', null, vocabSize),
    };
  }

  /** transformers: `id2label` wins and sets `num_labels`; otherwise `num_labels` (default 2) makes LABEL_i names. */
  private labels(): Pick<CommonConfig, 'numLabels' | 'id2label' | 'label2id'> {
    const rawId2label = this.get('id2label');
    const id2label: Record<number, string> = {};
    if (rawId2label !== undefined && rawId2label !== null) {
      if (typeof rawId2label !== 'object' || Array.isArray(rawId2label)) this.fail('id2label', 'must be an object {"0": "label", ...}');
      const entries = Object.entries(rawId2label as Record<string, unknown>);
      for (const [id, label] of entries) {
        const index = Number(id);
        if (!/^\d+$/.test(id) || index >= entries.length) this.fail(`id2label.${id}`, `ids must be 0..${entries.length - 1}`);
        if (typeof label !== 'string') this.fail(`id2label.${id}`, `must be a string, found ${show(label)}`);
        id2label[index] = label as string;
      }
    } else {
      const numLabels = this.get('num_labels') ?? 2;
      if (!Number.isSafeInteger(numLabels) || (numLabels as number) < 1) this.fail('num_labels', `must be a positive integer, found ${show(numLabels)}`);
      for (let i = 0; i < (numLabels as number); i++) id2label[i] = `LABEL_${i}`;
    }
    const rawLabel2id = this.get('label2id');
    let label2id: Record<string, number> = Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)]));
    if (rawLabel2id !== undefined && rawLabel2id !== null) {
      if (typeof rawLabel2id !== 'object' || Array.isArray(rawLabel2id)) this.fail('label2id', 'must be an object {"label": 0, ...}');
      for (const [label, id] of Object.entries(rawLabel2id as Record<string, unknown>)) {
        if (!Number.isSafeInteger(id) || (id as number) < 0) this.fail(`label2id.${label}`, `must be a non-negative integer, found ${show(id)}`);
      }
      label2id = { ...(rawLabel2id as Record<string, number>) };
    }
    return { numLabels: Object.keys(id2label).length, id2label, label2id };
  }
}

export function asObject(json: unknown, fileName: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(fileName, '(root)', 'must be a JSON object');
  return json as Record<string, unknown>;
}

