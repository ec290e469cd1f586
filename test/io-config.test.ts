import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  configToJson, ConfigError, parseBertConfig, parseGpt2Config, parseModelConfig,
  type BertConfig, type Gpt2Config,
} from '../src/io/config.js';
import { HF_CONFIG_JSON, PRESET_NAMES, presetConfig } from '../src/io/config-presets.js';
import { loadConfig } from '../src/io/node.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'hf');

/** A fine-tuned sentiment classifier's config.json, shaped as transformers 4.40 writes it. */
const BERT_SST2 = {
  _name_or_path: 'bert-base-uncased',
  architectures: ['BertForSequenceClassification'],
  attention_probs_dropout_prob: 0.1,
  classifier_dropout: null,
  finetuning_task: 'sst2',
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  id2label: { '0': 'negative', '1': 'positive' },
  initializer_range: 0.02,
  intermediate_size: 3072,
  label2id: { negative: 0, positive: 1 },
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  problem_type: 'single_label_classification',
  torch_dtype: 'float32',
  transformers_version: '4.40.0',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
};

describe('presets carry the real Hub values', () => {
  it('gpt2 and gpt2-medium', () => {
    const gpt2 = presetConfig('gpt2') as Gpt2Config;
    expect(gpt2).toMatchObject({
      modelType: 'gpt2', vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, nInner: 3072,
      activationFunction: 'gelu_new', activation: 'gelu_tanh', layerNormEpsilon: 1e-5, residPdrop: 0.1, embdPdrop: 0.1,
      attnPdrop: 0.1, scaleAttnWeights: true, tieWordEmbeddings: true, bosTokenId: 50256, eosTokenId: 50256,
      padTokenId: null, architectures: ['GPT2LMHeadModel'],
    });
    expect(presetConfig('gpt2-medium')).toMatchObject({ nEmbd: 1024, nLayer: 24, nHead: 16, nInner: 4096 });
  });
  it('bert-base-uncased and bert-large-uncased', () => {
    const base = presetConfig('bert-base-uncased') as BertConfig;
    expect(base).toMatchObject({
      modelType: 'bert', vocabSize: 30522, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12,
      intermediateSize: 3072, hiddenAct: 'gelu', activation: 'gelu_erf', maxPositionEmbeddings: 512, typeVocabSize: 2,
      layerNormEps: 1e-12, padTokenId: 0, positionEmbeddingType: 'absolute', numLabels: 2, classifierDropout: null,
    });
    expect(presetConfig('bert-large-uncased')).toMatchObject({ hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, intermediateSize: 4096 });
    expect(presetConfig('bert-tiny-made-up')).toBeUndefined();
    expect(PRESET_NAMES).toEqual(expect.arrayContaining(['gpt2', 'gpt2-medium', 'bert-base-uncased', 'bert-large-uncased']));
  });
  it('the config.json files in test/fixtures (as on the Hub) read to the presets', async () => {
    expect(await loadConfig(join(FIXTURES, 'gpt2'))).toEqual(presetConfig('gpt2'));
    expect(await loadConfig(join(FIXTURES, 'bert-base-uncased', 'config.json'))).toEqual(presetConfig('bert-base-uncased'));
  });
});

describe('reading', () => {
  it('missing keys take transformers defaults', () => {
    expect(parseGpt2Config({})).toEqual({ ...(presetConfig('gpt2') as Gpt2Config), architectures: null });
    const bert = parseBertConfig({});
    expect(bert).toEqual({ ...(presetConfig('bert-base-uncased') as BertConfig), architectures: null });
  });
  it('maps activations to the math they compute', () => {
    expect(parseGpt2Config({ activation_function: 'gelu' }).activation).toBe('gelu_erf');
    expect(parseGpt2Config({ activation_function: 'gelu_pytorch_tanh' }).activation).toBe('gelu_tanh');
    expect(parseBertConfig({ hidden_act: 'gelu_new' }).activation).toBe('gelu_tanh');
    expect(parseBertConfig({ hidden_act: 'relu' }).activation).toBe('relu');
  });
  it('n_inner null means 4 · n_embd; an explicit value is kept', () => {
    expect(parseGpt2Config({ n_embd: 64, n_head: 4, n_inner: null }).nInner).toBe(256);
    expect(parseGpt2Config({ n_embd: 64, n_head: 4, n_inner: 100 }).nInner).toBe(100);
  });
  it('reads a fine-tuned classifier: labels, problem type, architectures', () => {
    const config = parseModelConfig(BERT_SST2) as BertConfig;
    expect(config).toMatchObject({
      numLabels: 2, id2label: { 0: 'negative', 1: 'positive' }, label2id: { negative: 0, positive: 1 },
      problemType: 'single_label_classification', architectures: ['BertForSequenceClassification'],
    });
    expect(parseBertConfig({ num_labels: 3 })).toMatchObject({ numLabels: 3, id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' }, label2id: { LABEL_2: 2 } });
    expect(parseBertConfig({ num_labels: 5, id2label: { 0: 'a', 1: 'b' } }).numLabels).toBe(2); // transformers: id2label wins
  });
  it('ignores keys that do not change the math', () => {
    const config = parseGpt2Config({ ...HF_CONFIG_JSON.gpt2, transformers_version: '4.44.0', torch_dtype: 'float16', use_cache: false,
      reorder_and_upcast_attn: true, output_hidden_states: true, _attn_implementation: 'eager' });
    expect(config).toEqual(presetConfig('gpt2'));
  });
});

describe('rejections name the file and the key, on one line', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['unknown GPT-2 activation', () => parseGpt2Config({ activation_function: 'swish' }), 'activation_function: "swish" is not supported'],
    ['GPT-2 cross-attention', () => parseGpt2Config({ add_cross_attention: true }), 'add_cross_attention: true is not supported'],
    ['per-layer attention scaling', () => parseGpt2Config({ scale_attn_by_inverse_layer_idx: true }), 'scale_attn_by_inverse_layer_idx'],
    ['non-integer width', () => parseGpt2Config({ n_embd: 768.5 }), 'n_embd: must be a positive integer, found 768.5'],
    ['width not divisible by heads', () => parseGpt2Config({ n_embd: 770 }), 'n_head: n_embd 770 is not divisible by n_head 12'],
    ['zero layers', () => parseGpt2Config({ n_layer: 0 }), 'n_layer'],
    ['size given as a string', () => parseGpt2Config({ vocab_size: '50257' }), 'vocab_size'],
    ['dropout above 1', () => parseGpt2Config({ resid_pdrop: 1.5 }), 'resid_pdrop: must be a probability'],
    ['zero epsilon', () => parseGpt2Config({ layer_norm_epsilon: 0 }), 'layer_norm_epsilon'],
    ['eos outside the vocabulary', () => parseGpt2Config({ eos_token_id: 60000 }), 'eos_token_id: 60000 is outside the vocabulary'],
    ['pruned heads', () => parseGpt2Config({ pruned_heads: { 0: [1] } }), 'pruned_heads'],
    ['wrong model type', () => parseGpt2Config({ model_type: 'bert' }), 'model_type: expected "gpt2", found "bert"'],
    ['relative position embeddings', () => parseBertConfig({ position_embedding_type: 'relative_key' }), 'position_embedding_type: "relative_key" is not supported'],
    ['decoder-mode BERT', () => parseBertConfig({ is_decoder: true }), 'is_decoder'],
    ['BERT cross-attention', () => parseBertConfig({ add_cross_attention: true }), 'add_cross_attention'],
    ['unknown BERT activation', () => parseBertConfig({ hidden_act: 'silu' }), 'hidden_act: "silu" is not supported (supported: gelu, gelu_new, gelu_pytorch_tanh, relu)'],
    ['heads not dividing BERT width', () => parseBertConfig({ num_attention_heads: 10 }), 'num_attention_heads: hidden_size 768 is not divisible'],
    ['factorized embeddings', () => parseBertConfig({ embedding_size: 128 }), 'embedding_size'],
    ['label ids with a hole', () => parseBertConfig({ id2label: { 0: 'a', 5: 'b' } }), 'id2label.5'],
    ['unknown problem type', () => parseBertConfig({ problem_type: 'ranking' }), 'problem_type'],
    ['quantized weights', () => parseBertConfig({ quantization_config: { bits: 4 } }), 'quantization_config'],
    ['unsupported model type', () => parseModelConfig({ model_type: 'llama' }), 'model_type: "llama" is not supported (supported: gpt2, bert, bart)'],
    ['not an object', () => parseModelConfig([1, 2]), '(root): must be a JSON object'],
  ];
  it.each(cases)('%s', (_, run, fragment) => {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toContain(`config.json: ${fragment}`);
    expect((caught as Error).message).not.toContain('\n');
  });

  it('file errors name the path', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'webpeft-config-'));
    try {
      await expect(loadConfig(join(directory, 'nothing'))).rejects.toThrow(/nothing: file: cannot be read \(ENOENT\)/);
      await writeFile(join(directory, 'config.json'), '{"model_type": "gpt2",');
      await expect(loadConfig(directory)).rejects.toThrow(/config\.json: \(root\): is not valid JSON/);
      await writeFile(join(directory, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_head: 7 }));
      await expect(loadConfig(directory)).rejects.toThrow(`${join(directory, 'config.json')}: n_head: n_embd 768 is not divisible by n_head 7`);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('writing back HF-shaped JSON', () => {
  it('uses HF key names, sorted, with n_inner null for the default width', () => {
    const json = configToJson(presetConfig('gpt2')!);
    expect(Object.keys(json)).toEqual([...Object.keys(json)].sort());
    expect(json).toMatchObject({ model_type: 'gpt2', n_embd: 768, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5,
      architectures: ['GPT2LMHeadModel'], id2label: { 0: 'LABEL_0', 1: 'LABEL_1' } });
    expect(configToJson(parseModelConfig(BERT_SST2))).toMatchObject({ hidden_act: 'gelu', id2label: { 0: 'negative', 1: 'positive' },
      problem_type: 'single_label_classification', layer_norm_eps: 1e-12 });
  });
  it('parse ∘ configToJson is the identity on presets and a fine-tuned config', () => {
    for (const config of [...PRESET_NAMES.map((name) => presetConfig(name)!), parseModelConfig(BERT_SST2)]) {
      expect(parseModelConfig(JSON.parse(JSON.stringify(configToJson(config))))).toEqual(config);
    }
  });
  it('parse ∘ configToJson is the identity on random valid configs (property)', () => {
    const sizes = fc.record({ heads: fc.integer({ min: 1, max: 16 }), headSize: fc.integer({ min: 1, max: 64 }), layers: fc.integer({ min: 1, max: 48 }),
      vocab: fc.integer({ min: 1, max: 60000 }), inner: fc.option(fc.integer({ min: 1, max: 8192 }), { nil: null }),
      dropout: fc.double({ min: 0, max: 0.99, noNaN: true }), labels: fc.integer({ min: 1, max: 5 }), tie: fc.boolean() });
    fc.assert(fc.property(sizes, (s) => {
      const gpt2 = parseGpt2Config({ n_head: s.heads, n_embd: s.heads * s.headSize, n_layer: s.layers, vocab_size: s.vocab,
        n_inner: s.inner, attn_pdrop: s.dropout, num_labels: s.labels, tie_word_embeddings: s.tie });
      expect(parseModelConfig(JSON.parse(JSON.stringify(configToJson(gpt2))))).toEqual(gpt2);
      const bert = parseBertConfig({ num_attention_heads: s.heads, hidden_size: s.heads * s.headSize, num_hidden_layers: s.layers,
        vocab_size: s.vocab, intermediate_size: s.inner ?? 4, hidden_dropout_prob: s.dropout, num_labels: s.labels, hidden_act: 'relu' });
      expect(parseModelConfig(JSON.parse(JSON.stringify(configToJson(bert))))).toEqual(bert);
    }), { numRuns: 200 });
  });
});
