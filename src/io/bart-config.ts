/**
 * Hugging Face `config.json` for BART (`model_type: "bart"`), read with transformers' BartConfig defaults, and
 * written back in HF's shape. Keys that older BART configs still carry but today's BartModel ignores
 * (`normalize_before`, `add_final_layer_norm`, `normalize_embedding`, `static_position_embeddings`,
 * `add_bias_logits`, `extra_pos_embeddings`, beam-search settings) are ignored as transformers ignores them — except
 * where a value would ask for math BartModel does not do (a pre-LN or final-layer-norm variant is mBART, not BART).
 */
import type { Activation, CommonConfig } from './config.js';
import { ConfigError, Fields, asObject } from './config-fields.js';

export interface BartConfig extends CommonConfig {
  modelType: 'bart';
  vocabSize: number;
  /** Model width D. */
  dModel: number;
  encoderLayers: number;
  decoderLayers: number;
  encoderAttentionHeads: number;
  decoderAttentionHeads: number;
  encoderFfnDim: number;
  decoderFfnDim: number;
  activationFunction: 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';
  activation: Activation;
  /** Dropout on hidden states (after attention, after the FFN, on the embeddings). */
  dropout: number;
  attentionDropout: number;
  /** Dropout after the FFN's activation. */
  activationDropout: number;
  classifierDropout: number;
  maxPositionEmbeddings: number;
  /** Embeddings × √D when true (bart-base/large: false). */
  scaleEmbedding: boolean;
  bosTokenId: number | null;
  eosTokenId: number | null;
  decoderStartTokenId: number;
  forcedEosTokenId: number | null;
}

const ACTIVATIONS = { gelu: 'gelu_erf', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', relu: 'relu' } as const;

/** BART's learned positions are stored with an offset of 2 (fairseq's padding positions): weight is (max + 2, D). */
export const BART_POSITION_OFFSET = 2;

/** Read a BART config.json object (transformers' BartConfig defaults for missing keys). */
export function parseBartConfig(json: unknown, fileName = 'config.json'): BartConfig {
  const f = new Fields(asObject(json, fileName), fileName);
  f.modelType('bart');
  f.neutral('normalize_before', (v) => v === false, 'pre-LayerNorm layers are mBART, not BartModel');
  f.neutral('add_final_layer_norm', (v) => v === false, 'a final layer norm is mBART, not BartModel');
  f.neutral('encoder_layerdrop', (v) => v === 0, 'LayerDrop is not implemented');
  f.neutral('decoder_layerdrop', (v) => v === 0, 'LayerDrop is not implemented');
  const vocabSize = f.size('vocab_size', 50265);
  const dModel = f.size('d_model', 1024);
  const encoderAttentionHeads = f.size('encoder_attention_heads', 16);
  const decoderAttentionHeads = f.size('decoder_attention_heads', 16);
  if (dModel % encoderAttentionHeads !== 0) f.fail('encoder_attention_heads', `d_model ${dModel} is not divisible by ${encoderAttentionHeads}`);
  if (dModel % decoderAttentionHeads !== 0) f.fail('decoder_attention_heads', `d_model ${dModel} is not divisible by ${decoderAttentionHeads}`);
  const activationFunction = f.choice('activation_function', 'gelu', Object.keys(ACTIVATIONS) as Array<keyof typeof ACTIVATIONS>);
  const common = f.common(vocabSize, { encoderDecoder: true });
  const decoderStartTokenId = f.tokenId('decoder_start_token_id', 2 < vocabSize ? 2 : 0, vocabSize) ??
    f.fail('decoder_start_token_id', 'must be a token id, found null');
  return {
    modelType: 'bart',
    vocabSize,
    dModel,
    encoderLayers: f.size('encoder_layers', 12),
    decoderLayers: f.size('decoder_layers', 12),
    encoderAttentionHeads,
    decoderAttentionHeads,
    encoderFfnDim: f.size('encoder_ffn_dim', 4096),
    decoderFfnDim: f.size('decoder_ffn_dim', 4096),
    activationFunction,
    activation: ACTIVATIONS[activationFunction],
    dropout: f.probability('dropout', 0.1),
    attentionDropout: f.probability('attention_dropout', 0),
    activationDropout: f.probability('activation_dropout', 0),
    classifierDropout: f.probability('classifier_dropout', 0),
    maxPositionEmbeddings: f.size('max_position_embeddings', 1024),
    scaleEmbedding: f.bool('scale_embedding', false),
    bosTokenId: f.tokenId('bos_token_id', 0, vocabSize),
    eosTokenId: f.tokenId('eos_token_id', 2 < vocabSize ? 2 : null, vocabSize),
    decoderStartTokenId,
    forcedEosTokenId: f.tokenId('forced_eos_token_id', 2 < vocabSize ? 2 : null, vocabSize),
    ...common,
    // BartConfig's own defaults: init_std (not initializer_range), pad 1, three labels
    initializerRange: f.nonNegative('init_std', 0.02),
    padTokenId: f.tokenId('pad_token_id', 1 < vocabSize ? 1 : null, vocabSize),
    ...(f.json.id2label === undefined && f.json.num_labels === undefined ? threeLabels() : {}),
  };
}

function threeLabels(): Pick<CommonConfig, 'numLabels' | 'id2label' | 'label2id'> {
  return { numLabels: 3, id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 } };
}

/** The HF config.json object for a BART config (keys sorted). Parsing it gives `config` back. */
export function bartConfigToJson(c: BartConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    model_type: 'bart', is_encoder_decoder: true,
    vocab_size: c.vocabSize, d_model: c.dModel, encoder_layers: c.encoderLayers, decoder_layers: c.decoderLayers,
    encoder_attention_heads: c.encoderAttentionHeads, decoder_attention_heads: c.decoderAttentionHeads,
    encoder_ffn_dim: c.encoderFfnDim, decoder_ffn_dim: c.decoderFfnDim, activation_function: c.activationFunction,
    dropout: c.dropout, attention_dropout: c.attentionDropout, activation_dropout: c.activationDropout,
    classifier_dropout: c.classifierDropout, max_position_embeddings: c.maxPositionEmbeddings,
    scale_embedding: c.scaleEmbedding, bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId,
    decoder_start_token_id: c.decoderStartTokenId, forced_eos_token_id: c.forcedEosTokenId,
    tie_word_embeddings: c.tieWordEmbeddings, init_std: c.initializerRange, pad_token_id: c.padTokenId,
    id2label: Object.fromEntries(Object.entries(c.id2label)), label2id: { ...c.label2id },
  };
  if (c.architectures !== null) json.architectures = [...c.architectures];
  if (c.problemType !== null) json.problem_type = c.problemType;
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** facebook/bart-base's config.json as the Hub publishes it (the keys that matter to the forward pass and heads). */
export const BART_BASE_CONFIG_JSON = {
  activation_dropout: 0.1, activation_function: 'gelu', add_bias_logits: false, add_final_layer_norm: false,
  architectures: ['BartModel'], attention_dropout: 0.1, bos_token_id: 0, classif_dropout: 0.1, classifier_dropout: 0.0,
  d_model: 768, decoder_attention_heads: 12, decoder_ffn_dim: 3072, decoder_layerdrop: 0.0, decoder_layers: 6,
  decoder_start_token_id: 2, dropout: 0.1, early_stopping: true, encoder_attention_heads: 12, encoder_ffn_dim: 3072,
  encoder_layerdrop: 0.0, encoder_layers: 6, eos_token_id: 2, forced_eos_token_id: 2, gradient_checkpointing: false,
  id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, init_std: 0.02, is_encoder_decoder: true,
  label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 }, max_position_embeddings: 1024, model_type: 'bart',
  no_repeat_ngram_size: 3, normalize_before: false, normalize_embedding: true, num_beams: 4, num_hidden_layers: 6,
  pad_token_id: 1, scale_embedding: false, torch_dtype: 'float32', use_cache: true, vocab_size: 50265,
};

export { ConfigError };
