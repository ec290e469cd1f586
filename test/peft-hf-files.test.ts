/**
 * HF PEFT's adapter files exactly as `peft` writes them. No `peft` runs here, so the fixtures below are built by
 * following PEFT's save code line by line (read through the search tool, not copied):
 *   - peft_model.py: for prompt-learning types `PeftModel.base_model = model` (the transformers model itself);
 *     PeftModelForSequenceClassification / …ForTokenClassification set the config's modules_to_save to
 *     ['classifier', 'score']; save_pretrained writes `adapter_model.safetensors` with metadata {"format": "pt"}
 *     and the config with inference_mode true;
 *   - utils/save_and_load.py, get_peft_model_state_dict: `prompt_embeddings`, then each state-dict key holding
 *     `<module>.modules_to_save.default` with "modules_to_save." removed, then ".default" removed — so
 *     `base_model.classifier.modules_to_save.default.weight` is saved as `base_model.classifier.weight`;
 *   - config.py (PeftConfigMixin.save_pretrained): json.dumps(asdict(config), indent=2, sort_keys=True), i.e.
 *     every dataclass field of PeftConfig, PromptLearningConfig and the type's config, null where unset.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { parseBertConfig } from '../src/io/config.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert } from '../src/models/bert.js';
import { baseOf } from '../src/peft/base.js';
import { exportHfAdapter, importHfAdapter } from '../src/peft/hf-format.js';
import { pTuning } from '../src/peft/p-tuning.js';
import { pTuningV2 } from '../src/peft/p-tuning-v2.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';

const bertConfig = parseBertConfig({ vocab_size: 19, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
  max_position_embeddings: 40, num_labels: 3 }, 'tiny-bert');
const bert = (seed = 2) => Bert.init(bertConfig, { seed, dtype: 'f32', head: 'sequence-classification' });
const ids = tensor([1, 4, 9, 2], [1, 4], { dtype: 'i32' });
const random = (n: number, seed: number) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.normal()); };

// PeftConfig + PromptLearningConfig fields, and each type's own (tuners/<type>/config.py)
const COMMON = ['auto_mapping', 'base_model_name_or_path', 'inference_mode', 'modules_to_save', 'num_attention_heads', 'num_layers',
  'num_transformer_submodules', 'num_virtual_tokens', 'peft_type', 'revision', 'task_type', 'token_dim'];
const OWN: Record<string, string[]> = {
  PROMPT_TUNING: ['prompt_tuning_init', 'prompt_tuning_init_text', 'tokenizer_kwargs', 'tokenizer_name_or_path'],
  P_TUNING: ['encoder_dropout', 'encoder_hidden_size', 'encoder_num_layers', 'encoder_reparameterization_type'],
  PREFIX_TUNING: ['encoder_hidden_size', 'init_weights', 'prefix_projection'],
};

/** What PEFT's save_pretrained writes for a prompt-tuning SEQ_CLS adapter with a trained classifier on this BERT. */
function peftWrittenPromptAdapter(P: number) {
  const D = bertConfig.hiddenSize;
  const C = 3;
  const config = {
    auto_mapping: null, base_model_name_or_path: 'tiny-bert', inference_mode: true, modules_to_save: ['classifier', 'score'],
    num_attention_heads: 2, num_layers: 2, num_transformer_submodules: 1, num_virtual_tokens: P, peft_type: 'PROMPT_TUNING',
    prompt_tuning_init: 'RANDOM', prompt_tuning_init_text: null, revision: null, task_type: 'SEQ_CLS', token_dim: D,
    tokenizer_kwargs: null, tokenizer_name_or_path: null,
  };
  const tensors = new Map([
    ['prompt_embeddings', { shape: [P, D], data: random(P * D, 1) }],
    ['base_model.classifier.weight', { shape: [C, D], data: random(C * D, 2) }],
    ['base_model.classifier.bias', { shape: [C], data: random(C, 3) }],
  ]);
  return { json: JSON.stringify(config, null, 2), bytes: serializeSafetensors(tensors, { format: 'pt' }), tensors };
}

describe('HF PEFT files as peft writes them', () => {
  it('reads a PEFT prompt-tuning adapter whose head is saved as base_model.classifier.*', () => {
    const { json, bytes, tensors } = peftWrittenPromptAdapter(3);
    const model = bert();
    const method = importHfAdapter(baseOf(model), JSON.parse(json), parseSafetensors(bytes, 'adapter_model.safetensors'));
    expect([...model.params.tensor('classifier.weight').dataSync()]).toEqual([...tensors.get('base_model.classifier.weight')!.data]);
    expect([...model.params.tensor('classifier.bias').dataSync()]).toEqual([...tensors.get('base_model.classifier.bias')!.data]);
    // the same logits as the base model given the same prompt table and head by hand
    const got = new PeftModel(model, [method]).forward({ ids }).logits!.dataSync();
    const byHand = bert();
    byHand.params.assign('classifier.weight', tensors.get('base_model.classifier.weight')!.data);
    byHand.params.assign('classifier.bias', tensors.get('base_model.classifier.bias')!.data);
    const table = tensor(tensors.get('prompt_embeddings')!.data, [3, 8], { requiresGrad: true });
    const want = new PeftModel(byHand, [{ kind: 'prompt', params: new Map() as never, input: { numVirtualTokens: 3, embeddings: () => table } }])
      .forward({ ids }).logits!.dataSync();
    expect([...got]).toEqual([...want]);
  });

  it('still reads the LoRA-style base_model.model.classifier.* keys', () => {
    const { json, tensors } = peftWrittenPromptAdapter(2);
    const renamed = new Map([...tensors].map(([k, v]) => [k.replace(/^base_model\./, 'base_model.model.'), v]));
    const model = bert();
    importHfAdapter(baseOf(model), JSON.parse(json), parseSafetensors(serializeSafetensors(renamed), 'adapter_model.safetensors'));
    expect([...model.params.tensor('classifier.bias').dataSync()]).toEqual([...tensors.get('base_model.classifier.bias')!.data]);
  });

  for (const [name, make, peftType] of [
    ['prompt tuning', (m: Bert) => promptTuning(baseOf(m), { numVirtualTokens: 3, init: { kind: 'random' }, seed: 1 }), 'PROMPT_TUNING'],
    ['P-tuning (LSTM)', (m: Bert) => pTuning(baseOf(m), { numVirtualTokens: 2, encoder: 'lstm', encoderHidden: 5, seed: 1 }), 'P_TUNING'],
    ['prefix tuning (MLP)', (m: Bert) => prefixTuning(baseOf(m), { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 1 }), 'PREFIX_TUNING'],
    ['P-tuning v2', (m: Bert) => pTuningV2(baseOf(m), { numVirtualTokens: 2, seed: 1 }), 'PREFIX_TUNING'],
  ] as const) {
    it(`${name}: writes every field PEFT writes for ${peftType}, sorted, the head as base_model.classifier.*`, async () => {
      const model = bert();
      const { config, tensors, metadata } = await exportHfAdapter(baseOf(model), await make(model), { taskType: 'SEQ_CLS', baseModelNameOrPath: 'tiny-bert' });
      expect(Object.keys(config)).toEqual([...COMMON, ...OWN[peftType]].sort());
      expect(config).toMatchObject({ peft_type: peftType, task_type: 'SEQ_CLS', inference_mode: true, modules_to_save: ['classifier', 'score'],
        token_dim: 8, num_layers: 2, num_attention_heads: 2, num_transformer_submodules: 1, base_model_name_or_path: 'tiny-bert' });
      if (peftType === 'PREFIX_TUNING') expect(config.prefix_projection).toBe(false);
      if (peftType === 'P_TUNING') expect(config).toMatchObject({ encoder_reparameterization_type: 'LSTM', encoder_hidden_size: 5, encoder_num_layers: 2 });
      expect(metadata).toEqual({ format: 'pt' });
      expect([...(tensors as Map<string, unknown>).keys()]).toEqual(['prompt_embeddings', 'base_model.classifier.weight', 'base_model.classifier.bias']);
    });
  }

  it('export of the PEFT-written fixture reproduces it: same keys, values and config', async () => {
    const { json, bytes } = peftWrittenPromptAdapter(3);
    const model = bert();
    const method = importHfAdapter(baseOf(model), JSON.parse(json), parseSafetensors(bytes, 'adapter_model.safetensors'));
    const out = await exportHfAdapter(baseOf(model), method, { taskType: 'SEQ_CLS', baseModelNameOrPath: 'tiny-bert', promptInit: 'random' });
    expect(JSON.stringify(out.config, null, 2)).toBe(json);
    expect(serializeSafetensors(out.tensors, out.metadata)).toEqual(bytes);
  });
});
