/**
 * Hugging Face `config.json` for GPT-2 (`model_type: "gpt2"`) and BERT (`model_type: "bert"`), read into typed
 * configs with transformers' defaults, and written back in HF's shape; `parseModelConfig` / `configToJson` also take
 * BART (`model_type: "bart"`, read in bart-config.ts). Field names are HF's keys in camelCase
 * (`n_embd` → `nEmbd`, `hidden_act` → `hiddenAct`).
 *
 * A config is rejected (ConfigError, one line naming the file and the key) when it asks for math this engine does
 * not implement: an unknown activation, relative position embeddings, cross-attention, decoder-mode BERT, pruned
 * heads, quantized weights, sizes that are not positive integers or heads that do not divide the width. Keys that
 * do not change the forward pass (transformers_version, torch_dtype, task_specific_params, summary_*, use_cache,
 * output_*, ...) are ignored. `loadConfig(pathOrDir)` in `node.ts` reads the file.
 */
import { type BartConfig, bartConfigToJson, parseBartConfig } from './bart-config.js';
import { ConfigError, Fields, asObject, show } from './config-fields.js';

export { ConfigError, Fields, asObject } from './config-fields.js';
export type { BartConfig } from './bart-config.js';

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

/** Every model config.json this engine reads; `modelType` tells them apart. */
export type ModelConfig = Gpt2Config | BertConfig | BartConfig;

const GPT2_ACTIVATIONS = { gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu_erf' } as const;
const BERT_ACTIVATIONS = { gelu: 'gelu_erf', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', relu: 'relu' } as const;

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
  if (modelType === 'bart') return parseBartConfig(json, fileName);
  throw new ConfigError(fileName, 'model_type', `${show(modelType)} is not supported (supported: gpt2, bert, bart)`);
}

/** The HF config.json object for a config (keys sorted, as transformers writes them). Parsing it gives `config` back. */
export function configToJson(config: ModelConfig): Record<string, unknown> {
  if (config.modelType === 'bart') return bartConfigToJson(config);
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
