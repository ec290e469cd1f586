/**
 * Hugging Face `config.json` for GPT-2 (`model_type: "gpt2"`) and BERT (`model_type: "bert"`), read into typed
 * configs with transformers' defaults, and written back in HF's shape. Field names are HF's keys in camelCase
 * (`n_embd` → `nEmbd`, `hidden_act` → `hiddenAct`).
 *
 * A config is rejected (ConfigError, one line naming the file and the key) when it asks for math this engine does
 * not implement: an unknown activation, relative position embeddings, cross-attention, decoder-mode BERT, pruned
 * heads, quantized weights, sizes that are not positive integers or heads that do not divide the width. Keys that
 * do not change the forward pass (transformers_version, torch_dtype, task_specific_params, summary_*, use_cache,
 * output_*, ...) are ignored. `loadConfig(pathOrDir)` in `node.ts` reads the file.
 */

export type Activation = 'gelu_tanh' | 'gelu_erf' | 'relu';
export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

/** Keys every transformers config may carry that the heads and training use. */
export interface CommonConfig {
  architectures: string[] | null;
  /** Number of classes of a classification head: `len(id2label)`, else `num_labels`, else 2. */
  numLabels: number;
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  problemType: ProblemType | null;
  tieWordEmbeddings: boolean;
  initializerRange: number;
  padTokenId: number | null;
}

export interface Gpt2Config extends CommonConfig {
  modelType: 'gpt2';
  vocabSize: number;
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  /** MLP width; HF's `n_inner: null` means 4 · n_embd. */
  nInner: number;
  activationFunction: 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu';
  /** What `activationFunction` computes: `gelu_new`/`gelu_pytorch_tanh` are the tanh form, `gelu` the erf form. */
  activation: Activation;
  residPdrop: number;
  embdPdrop: number;
  attnPdrop: number;
  layerNormEpsilon: number;
  /** Divide attention scores by √(head size). */
  scaleAttnWeights: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

export interface BertConfig extends CommonConfig {
  modelType: 'bert';
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
  activation: Activation;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  positionEmbeddingType: 'absolute';
  /** Dropout before a classification head; null means `hiddenDropoutProb`. */
  classifierDropout: number | null;
}

export type ModelConfig = Gpt2Config | BertConfig;

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

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Sizes index tensors with 32-bit integers (WGSL has no 64-bit ones). */
const MAX_SIZE = 2 ** 31 - 1;

const GPT2_ACTIVATIONS = { gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu_erf' } as const;
const BERT_ACTIVATIONS = { gelu: 'gelu_erf', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', relu: 'relu' } as const;
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

/** Read a GPT-2 config.json object (transformers' GPT2Config defaults for missing keys). */
export function parseGpt2Config(json: unknown, fileName = 'config.json'): Gpt2Config {
  const f = new Fields(asObject(json, fileName), fileName);
  f.modelType('gpt2');
  f.neutral('scale_attn_by_inverse_layer_idx', (v) => v === false, 'per-layer attention scaling is not implemented');
  const vocabSize = f.size('vocab_size', 50257);
  const nEmbd = f.size('n_embd', 768);
  const nHead = f.size('n_head', 12);
  if (nEmbd % nHead !== 0) f.fail('n_head', `n_embd ${nEmbd} is not divisible by n_head ${nHead}`);
  const nInner = f.json.n_inner === null || f.json.n_inner === undefined ? 4 * nEmbd : f.size('n_inner', 4 * nEmbd);
  const activationFunction = f.choice('activation_function', 'gelu_new', Object.keys(GPT2_ACTIVATIONS) as Array<keyof typeof GPT2_ACTIVATIONS>);
  return {
    modelType: 'gpt2',
    vocabSize,
    nPositions: f.size('n_positions', 1024),
    nEmbd,
    nLayer: f.size('n_layer', 12),
    nHead,
    nInner,
    activationFunction,
    activation: GPT2_ACTIVATIONS[activationFunction],
    residPdrop: f.probability('resid_pdrop', 0.1),
    embdPdrop: f.probability('embd_pdrop', 0.1),
    attnPdrop: f.probability('attn_pdrop', 0.1),
    layerNormEpsilon: f.positive('layer_norm_epsilon', 1e-5),
    scaleAttnWeights: f.bool('scale_attn_weights', true),
    bosTokenId: f.tokenId('bos_token_id', 50256 < vocabSize ? 50256 : null, vocabSize),
    eosTokenId: f.tokenId('eos_token_id', 50256 < vocabSize ? 50256 : null, vocabSize),
    ...f.common(vocabSize),
  };
}

/** Read a BERT config.json object (transformers' BertConfig defaults for missing keys). */
export function parseBertConfig(json: unknown, fileName = 'config.json'): BertConfig {
  const f = new Fields(asObject(json, fileName), fileName);
  f.modelType('bert');
  f.neutral('is_decoder', (v) => v === false, 'BERT runs as a bidirectional encoder only');
  const vocabSize = f.size('vocab_size', 30522);
  const hiddenSize = f.size('hidden_size', 768);
  const numAttentionHeads = f.size('num_attention_heads', 12);
  if (hiddenSize % numAttentionHeads !== 0) f.fail('num_attention_heads', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`);
  f.neutral('embedding_size', (v) => v === hiddenSize, 'the embedding width must equal hidden_size');
  const hiddenAct = f.choice('hidden_act', 'gelu', Object.keys(BERT_ACTIVATIONS) as Array<keyof typeof BERT_ACTIVATIONS>);
  const classifierDropout = f.json.classifier_dropout === null || f.json.classifier_dropout === undefined ? null : f.probability('classifier_dropout', 0);
  return {
    modelType: 'bert',
    vocabSize,
    hiddenSize,
    numHiddenLayers: f.size('num_hidden_layers', 12),
    numAttentionHeads,
    intermediateSize: f.size('intermediate_size', 3072),
    hiddenAct,
    activation: BERT_ACTIVATIONS[hiddenAct],
    hiddenDropoutProb: f.probability('hidden_dropout_prob', 0.1),
    attentionProbsDropoutProb: f.probability('attention_probs_dropout_prob', 0.1),
    maxPositionEmbeddings: f.size('max_position_embeddings', 512),
    typeVocabSize: f.size('type_vocab_size', 2),
    layerNormEps: f.positive('layer_norm_eps', 1e-12),
    positionEmbeddingType: f.choice('position_embedding_type', 'absolute', ['absolute'] as const),
    classifierDropout,
    ...f.common(vocabSize),
    padTokenId: f.tokenId('pad_token_id', 0, vocabSize),
  };
}

/** Read any supported config.json object, dispatching on `model_type`. */
export function parseModelConfig(json: unknown, fileName = 'config.json'): ModelConfig {
  const modelType = asObject(json, fileName).model_type;
  if (modelType === 'gpt2') return parseGpt2Config(json, fileName);
  if (modelType === 'bert') return parseBertConfig(json, fileName);
  throw new ConfigError(fileName, 'model_type', `${show(modelType)} is not supported (supported: gpt2, bert)`);
}

/** The HF config.json object for a config (keys sorted, as transformers writes them). Parsing it gives `config` back. */
export function configToJson(config: ModelConfig): Record<string, unknown> {
  const specific: Record<string, unknown> = config.modelType === 'gpt2'
    ? {
        vocab_size: config.vocabSize, n_positions: config.nPositions, n_embd: config.nEmbd, n_layer: config.nLayer,
        n_head: config.nHead, n_inner: config.nInner === 4 * config.nEmbd ? null : config.nInner,
        activation_function: config.activationFunction, resid_pdrop: config.residPdrop, embd_pdrop: config.embdPdrop,
        attn_pdrop: config.attnPdrop, layer_norm_epsilon: config.layerNormEpsilon, scale_attn_weights: config.scaleAttnWeights,
        bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId,
      }
    : {
        vocab_size: config.vocabSize, hidden_size: config.hiddenSize, num_hidden_layers: config.numHiddenLayers,
        num_attention_heads: config.numAttentionHeads, intermediate_size: config.intermediateSize, hidden_act: config.hiddenAct,
        hidden_dropout_prob: config.hiddenDropoutProb, attention_probs_dropout_prob: config.attentionProbsDropoutProb,
        max_position_embeddings: config.maxPositionEmbeddings, type_vocab_size: config.typeVocabSize,
        layer_norm_eps: config.layerNormEps, position_embedding_type: config.positionEmbeddingType,
        classifier_dropout: config.classifierDropout,
      };
  const json: Record<string, unknown> = {
    model_type: config.modelType,
    ...specific,
    tie_word_embeddings: config.tieWordEmbeddings,
    initializer_range: config.initializerRange,
    pad_token_id: config.padTokenId,
    id2label: Object.fromEntries(Object.entries(config.id2label)),
    label2id: { ...config.label2id },
  };
  if (config.architectures !== null) json.architectures = [...config.architectures];
  if (config.problemType !== null) json.problem_type = config.problemType;
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
