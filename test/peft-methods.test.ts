/**
 * Each method's gradients through the whole model (f64 central differences), its parameter mask (frozen
 * tensors bit-identical after training, no gradient kernels), and adapter export/import in HF PEFT's layout.
 */
import { describe, expect, it } from 'vitest';
import { tensor } from '../src/autograd/create.js';
import { gradcheckTensors, F64_TOLERANCE } from '../src/autograd/gradcheck.js';
import { AdamW } from '../src/autograd/optim.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import { Bert, type BertHead } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { frozen, fullFineTuning } from '../src/peft/baselines.js';
import { baseOf } from '../src/peft/base.js';
import { bitFit } from '../src/peft/bitfit.js';
import { exportHfAdapter, importHfAdapter } from '../src/peft/hf-format.js';
import type { BaseModel, PeftMethod } from '../src/peft/method.js';
import { pTuning } from '../src/peft/p-tuning.js';
import { pTuningV2 } from '../src/peft/p-tuning-v2.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { prefixTuning } from '../src/peft/prefix-tuning.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';

const gptConfig = parseGpt2Config({ vocab_size: 17, n_positions: 40, n_embd: 8, n_head: 2, n_layer: 2 }, 'tiny-gpt2');
const bertConfig = parseBertConfig({ vocab_size: 19, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
  max_position_embeddings: 40, num_labels: 3 }, 'tiny-bert');

function jitter(params: Map<string, Tensor> & { assign(n: string, v: ArrayLike<number>): void }, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, t] of params) {
    const gain = /(ln_\d|ln_f|LayerNorm)\.weight$/.test(name) ? 1 : 0;
    params.assign(name, Array.from({ length: t.size }, () => gain + 0.3 * rng.normal()));
  }
}

const gpt2 = () => { const m = Gpt2.init(gptConfig, { seed: 2, dtype: 'f64' }); jitter(m.params, 9); return m; };
const bert = (head: BertHead) => { const m = Bert.init(bertConfig, { seed: 2, dtype: 'f64', head }); jitter(m.params, 9); return m; };
const ids = (rows: number[][]) => tensor(rows.flat(), [rows.length, rows[0].length], { dtype: 'i32' });

type Factory = (base: BaseModel) => Promise<PeftMethod> | PeftMethod;
const METHODS: [string, Factory][] = [
  ['bitfit', (b) => bitFit(b)],
  ['bitfit query+intermediate', (b) => bitFit(b, { types: ['query', 'intermediate'] })],
  ['prefix (MLP reparam)', (b) => prefixTuning(b, { numVirtualTokens: 2, projection: { hidden: 5 }, seed: 1 })],
  ['prefix embedding-only', (b) => prefixTuning(b, { numVirtualTokens: 2, projection: { hidden: 5 }, embeddingOnly: true, seed: 1 })],
  ['prompt', (b) => promptTuning(b, { numVirtualTokens: 3, init: { kind: 'vocab' }, seed: 1 })],
  ['ptuning (LSTM)', (b) => pTuning(b, { numVirtualTokens: 2, encoder: 'lstm', encoderHidden: 3, seed: 1 })],
  ['ptuning (MLP)', (b) => pTuning(b, { numVirtualTokens: 2, encoder: 'mlp', encoderHidden: 3, seed: 1 })],
  ['ptuning-v2', (b) => pTuningV2(b, { numVirtualTokens: 3, seed: 1 })],
  ['frozen', () => frozen()],
];

describe('finite-difference gradients of every method through the whole model (f64)', () => {
  for (const [name, make] of METHODS) {
    it(`${name} on GPT-2 (LM loss)`, async () => {
      const model = gpt2();
      const peft = new PeftModel(model, [await make(baseOf(model))]);
      const x = ids([[1, 4, 9, 2], [3, 3, 0, 7]]);
      const labels = ids([[1, 4, 9, 2], [3, 3, -100, 7]]);
      const trainable = peft.trainable();
      if (name === 'frozen') { expect(trainable).toEqual([]); return; }
      // the full gradient of each tensor is checked here; the element mask (BitFit's query third of the fused
      // q/k/v bias, a gradient hook) is checked by its own test in peft-registry.test.ts
      for (const t of trainable) t.gradHook = null;
      const report = gradcheckTensors(() => peft.forward({ ids: x, labels }).loss!, trainable, { samples: 3, seed: 4 });
      for (const r of report) expect(r.maxRelErr, r.name).toBeLessThanOrEqual(F64_TOLERANCE);
    });
    for (const head of ['sequence-classification', 'token-classification'] as const) {
      it(`${name} on BERT (${head})`, async () => {
        const model = bert(head);
        const peft = new PeftModel(model, [await make(baseOf(model))]);
        const x = ids([[1, 4, 9, 2], [3, 3, 0, 7]]);
        const mask = tensor([1, 1, 1, 1, 1, 1, 1, 0], [2, 4], { dtype: 'f64' });
        const labels = head === 'sequence-classification' ? tensor([2, 0], [2], { dtype: 'i32' }) : ids([[0, 1, 2, 1], [2, -100, 0, -100]]);
        const report = gradcheckTensors(() => peft.forward({ ids: x, attentionMask: mask, labels }).loss!, peft.trainable(), { samples: 3, seed: 5 });
        expect(report.map((r) => r.name)).toContain('classifier.weight');
        for (const r of report) expect(r.maxRelErr, r.name).toBeLessThanOrEqual(F64_TOLERANCE);
      });
    }
  }
});

describe('parameter masks', () => {
  async function train(make: Factory, steps = 3) {
    const model = bert('sequence-classification');
    const peft = new PeftModel(model, [await make(baseOf(model))]);
    const before = new Map([...model.params].map(([n, t]) => [n, Float64Array.from(t.dataSync())]));
    const opt = new AdamW(peft.trainable(), { lr: 0.05, weightDecay: 0 });
    let dW = 0;
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      tidy(() => {
        const loss = peft.forward({ ids: ids([[1, 4, 9, 2], [3, 3, 0, 7]]), labels: tensor([2, 0], [2], { dtype: 'i32' }) }).loss!;
        const m0 = cpu.stats.launches.get('matmul') ?? 0;
        backward(loss);
        dW += (cpu.stats.launches.get('matmul') ?? 0) - m0;
      });
      opt.step();
    }
    const changed = [...model.params].filter(([n, t]) => !Buffer.from(Float64Array.from(t.dataSync()).buffer).equals(Buffer.from(before.get(n)!.buffer))).map(([n]) => n);
    return { peft, changed, matmulsInBackward: dW / steps, opt };
  }

  it('frozen base tensors are bit-identical after training and get no gradient; only masked-in ones change', async () => {
    for (const [name, make] of METHODS) {
      const { peft, changed, opt } = await train(make);
      const trainableBase = new Set(peft.base.params.trainable().map((t) => t.name));
      for (const n of changed) expect(trainableBase.has(n), `${name}: ${n} changed but is frozen`).toBe(true);
      for (const [n, t] of peft.base.params) if (!trainableBase.has(n)) expect(t.grad, `${name}: ${n}`).toBeNull();
      expect(opt.stateSize().tensors).toBe(peft.trainable().length);
    }
  });

  it('frozen weights get no dW matmul: BitFit backward launches fewer matmuls than full fine-tuning', async () => {
    const full = await train(() => fullFineTuning(), 1);
    const bit = await train((b) => bitFit(b), 1);
    // every Linear's dW is one matmul; BitFit computes only the dX ones
    expect(bit.matmulsInBackward).toBeLessThan(full.matmulsInBackward);
    const linears = [...bit.peft.base.params.keys()].filter((n) => /\.(query|key|value|dense)\.weight$/.test(n)).length;
    expect(full.matmulsInBackward - bit.matmulsInBackward).toBe(linears);
  });

  it("BitFit's query subset of GPT-2's fused q/k/v bias trains only the query third", async () => {
    const model = gpt2();
    const peft = new PeftModel(model, [bitFit(baseOf(model), { types: ['query'] })]);
    const before = Float64Array.from(model.params.tensor('h.0.attn.c_attn.bias').dataSync());
    const opt = new AdamW(peft.trainable(), { lr: 0.1, weightDecay: 0 });
    for (let s = 0; s < 2; s++) {
      opt.zeroGrad();
      tidy(() => backward(peft.forward({ ids: ids([[1, 2, 3]]), labels: ids([[1, 2, 3]]) }).loss!));
      opt.step();
    }
    const after = model.params.tensor('h.0.attn.c_attn.bias').dataSync();
    const D = gptConfig.nEmbd;
    expect([...after.slice(D)]).toEqual([...before.slice(D)]);
    expect([...after.slice(0, D)]).not.toEqual([...before.slice(0, D)]);
  });
});

describe('HF PEFT adapter format', () => {
  for (const [name, make] of METHODS.filter(([n]) => /prefix \(|^prompt|ptuning/.test(n))) {
    it(`${name}: export → import reproduces the logits`, async () => {
      const model = bert('sequence-classification');
      const method = await make(baseOf(model));
      const peft = new PeftModel(model, [method]);
      const x = ids([[1, 4, 9, 2]]);
      const want = Array.from(peft.forward({ ids: x }).logits!.dataSync());
      const { config, tensors } = await exportHfAdapter(baseOf(model), method, { taskType: 'SEQ_CLS' });
      const bytes = serializeSafetensors(tensors);
      const fresh = bert('sequence-classification');
      fresh.params.assign('classifier.weight', new Float64Array(fresh.params.tensor('classifier.weight').size));
      const loaded = importHfAdapter(baseOf(fresh), JSON.parse(JSON.stringify(config)), parseSafetensors(bytes, 'adapter_model.safetensors'));
      const got = Array.from(new PeftModel(fresh, [loaded]).forward({ ids: x }).logits!.dataSync());
      got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-5)); // the file holds f32
      expect(config.modules_to_save).toEqual(['classifier', 'score']);
      expect([...tensors instanceof Map ? tensors.keys() : []]).toEqual(['prompt_embeddings', 'base_model.classifier.weight', 'base_model.classifier.bias']);
    });
  }

  it('rejects an adapter made for another model with a one-line error naming the field', async () => {
    const model = bert('sequence-classification');
    const { config, tensors } = await exportHfAdapter(baseOf(model), await promptTuning(baseOf(model), { numVirtualTokens: 2 }), { taskType: 'SEQ_CLS' });
    const file = parseSafetensors(serializeSafetensors(tensors), 'adapter_model.safetensors');
    expect(() => importHfAdapter(baseOf(model), { ...config, token_dim: 768 }, file)).toThrow(/adapter_config.json: token_dim: 768 does not match/);
    expect(() => importHfAdapter(baseOf(model), { ...config, peft_type: 'LORA' }, file)).toThrow(/peft_type: 'LORA'/);
    const gpt = gpt2();
    expect(() => importHfAdapter(baseOf(gpt), { ...config, num_layers: undefined, token_dim: undefined, num_attention_heads: undefined }, file))
      .toThrow(/task_type: SEQ_CLS needs a classification head; this gpt2 model has none/);
    expect(() => importHfAdapter(baseOf(model), { ...config, num_attention_heads: 12 }, file)).toThrow(/num_attention_heads: 12 does not match the base model's 2 heads/);
    expect(() => importHfAdapter(baseOf(gpt), { ...config, task_type: 'CAUSAL_LM', num_layers: undefined, token_dim: undefined, num_attention_heads: undefined }, file))
      .toThrow(/the base model has no parameter classifier/);
  });
});

describe('the whole-model check can fail', () => {
  it('reports a gradient cut by a stray detach()', async () => {
    const model = gpt2();
    const method = await promptTuning(baseOf(model), { numVirtualTokens: 2, seed: 3 });
    const table = method.params.tensor('prompt_embeddings');
    const cut: PeftMethod = { ...method, input: { numVirtualTokens: 2, embeddings: () => table.detach() } };
    const peft = new PeftModel(model, [cut]);
    const report = gradcheckTensors(() => peft.forward({ ids: ids([[1, 2, 3]]), labels: ids([[1, 2, 3]]) }).loss!, [table], { samples: 4 });
    expect(report[0].maxRelErr).toBeGreaterThan(1e-3);
  });
});
