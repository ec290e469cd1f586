/**
 * Presets: the config.json files published with the original checkpoints on the Hugging Face Hub, verbatim, and
 * the typed configs read from them. `params gpt2`, `params bert-base-uncased` or
 * `params bart-base` need no download.
 */
import { BART_BASE_CONFIG_JSON } from './bart-config.js';
import { parseModelConfig, type ModelConfig } from './config.js';

const GPT2_SHARED = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_positions: 1024,
  resid_pdrop: 0.1,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  task_specific_params: { 'text-generation': { do_sample: true, max_length: 50 } },
  vocab_size: 50257,
};

const BERT_SHARED = {
  architectures: ['BertForMaskedLM'],
  attention_probs_dropout_prob: 0.1,
  gradient_checkpointing: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  transformers_version: '4.6.0.dev0',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

/** The Hub's config.json objects. */
export const HF_CONFIG_JSON = {
  gpt2: { ...GPT2_SHARED, n_embd: 768, n_head: 12, n_layer: 12 },
  'gpt2-medium': { ...GPT2_SHARED, n_embd: 1024, n_head: 16, n_layer: 24, n_special: 0, predict_special_tokens: true },
  'gpt2-large': { ...GPT2_SHARED, n_embd: 1280, n_head: 20, n_layer: 36 },
  'gpt2-xl': { ...GPT2_SHARED, n_embd: 1600, n_head: 25, n_layer: 48 },
  'bert-base-uncased': { ...BERT_SHARED, hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12 },
  'bert-large-uncased': { ...BERT_SHARED, hidden_size: 1024, intermediate_size: 4096, num_attention_heads: 16, num_hidden_layers: 24 },
  'bart-base': BART_BASE_CONFIG_JSON,
} satisfies Record<string, Record<string, unknown>>;

export type PresetName = keyof typeof HF_CONFIG_JSON;

/** The typed config of a preset such as `gpt2` or `bert-base-uncased`; undefined for an unknown name. */
export function presetConfig(name: string): ModelConfig | undefined {
  const json = Object.hasOwn(HF_CONFIG_JSON, name) ? HF_CONFIG_JSON[name as PresetName] : undefined;
  return json === undefined ? undefined : parseModelConfig(json, `preset ${name}`);
}

export const PRESET_NAMES = Object.keys(HF_CONFIG_JSON) as PresetName[];
