/**
 * End-to-end rows: a GPT-2 block forward + backward (ours: the model's own block, one layer, tiny vocabulary; the
 * peer: the same block written in tfjs ops, gradients by tf.grads), one training step of the embedded models for
 * every method, and GPT-2-124M- and BERT-base-shaped steps at batch 1 (random init).
 */
import type { Backend } from '../src/autograd/backend.js';
import { tensor } from '../src/autograd/create.js';
import { mul, sum } from '../src/autograd/functions.js';
import { AdamW, clipGradNorm, decaysLikeHf } from '../src/autograd/optim.js';
import { backward } from '../src/autograd/tape.js';
import { keep, tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig, parseGpt2Config } from '../src/io/config.js';
import { Bert } from '../src/models/bert.js';
import { Gpt2 } from '../src/models/gpt2.js';
import { Rng } from '../src/kernels/rng.js';
import { baseOf } from '../src/peft/base.js';
import { METHOD_NAMES, type MethodName } from '../src/peft/counts.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/train/methods.js';
import { loadBert, loadGpt2 } from '../src/train/model-dir.js';
import { makeTask, type TaskName } from '../src/train/tasks.js';
import type { BenchCase, Runner } from './case.js';
import type { Tf } from './peers.js';

type TfTensor = ReturnType<Tf['tensor']>;

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

function randomIds(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => Math.min(vocab - 1, Math.floor(rng.uniform(0, vocab))));
}

function disposeGrads(params: Iterable<Tensor>): void {
  for (const p of params) { p.grad?.dispose(); p.grad = null; }
}

// ---- GPT-2 block forward + backward

function blockCase(B: number, T: number, D: number, H: number): BenchCase {
  const V = 64;
  const config = parseGpt2Config({ model_type: 'gpt2', vocab_size: V, n_positions: T, n_embd: D, n_layer: 1, n_head: H });
  const ids = randomIds(B * T, V, 1);
  const probe = randomValues(B * T * D, 2);
  // 2·(fwd + 2·bwd) flops of the block's matmuls: qkv, proj, fc, fc-proj (24·B·T·D²) and attention (4·B·T²·D)
  const flops = 3 * (24 * B * T * D * D + 4 * B * T * T * D);
  return {
    name: 'gpt2 block fwd+bwd', shape: `B${B} T${T} d${D}`, flops,
    ours: async (backend) => {
      const model = Gpt2.init(config, { backend, seed: 1 });
      const params = model.params.trainable();
      const idsT = tensor(ids, [B, T], { backend, dtype: 'i32' });
      const probeT = tensor(probe, [B, T, D], { backend });
      return {
        async run() {
          const loss = tidy(() => {
            const l = sum(mul(model.forward({ ids: idsT }).hidden, probeT));
            backward(l);
            return keep(l.detach());
          });
          await loss.item();
          await params[0].grad!.data();
          loss.dispose();
          disposeGrads(params);
        },
        dispose() { idsT.dispose(); probeT.dispose(); model.dispose(); },
      };
    },
    peer: async (tf) => tfBlock(tf, B, T, D, H, V, ids, probe),
  };
}

/** The same computation in tfjs: embeddings, one pre-LN block (causal attention, gelu_new MLP), ln_f. */
function tfBlock(tf: Tf, B: number, T: number, D: number, H: number, V: number, ids: Int32Array, probe: Float32Array): Runner {
  const Dh = D / H;
  let seed = 10;
  const w = (shape: number[], scale = 0.02) => tf.variable(tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed++, scale), shape));
  const ones = (n: number) => tf.variable(tf.ones([n]));
  const zeros = (n: number) => tf.variable(tf.zeros([n]));
  const p = {
    wte: w([V, D]), wpe: w([T, D]), ln1g: ones(D), ln1b: zeros(D), attnW: w([D, 3 * D]), attnB: zeros(3 * D),
    projW: w([D, D]), projB: zeros(D), ln2g: ones(D), ln2b: zeros(D), fcW: w([D, 4 * D]), fcB: zeros(4 * D),
    fc2W: w([4 * D, D]), fc2B: zeros(D), lnfg: ones(D), lnfb: zeros(D),
  };
  const idsT = tf.tensor(ids, [B, T], 'int32');
  const probeT = tf.tensor(probe, [B, T, D]);
  const causal = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
  const maskBias = tf.mul(tf.sub(1, causal), -1e9);
  const positions = tf.range(0, T, 1, 'int32');
  const ln = (x: TfTensor, g: TfTensor, b: TfTensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
  };
  const linear = (x: TfTensor, W: TfTensor, b: TfTensor) => tf.add(tf.matMul(tf.reshape(x, [-1, W.shape[0]]) as never, W as never), b);
  const gelu = (x: TfTensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
  const heads = (x: TfTensor) => tf.transpose(tf.reshape(x, [B, T, H, Dh]), [0, 2, 1, 3]);
  const list = Object.values(p);
  const loss = (...vs: TfTensor[]) => {
    const [wte, wpe, ln1g, ln1b, attnW, attnB, projW, projB, ln2g, ln2b, fcW, fcB, fc2W, fc2B, lnfg, lnfb] = vs;
    let h = tf.add(tf.gather(wte, idsT), tf.gather(wpe, positions));
    const qkv = tf.reshape(linear(ln(h, ln1g, ln1b), attnW, attnB), [B, T, 3 * D]);
    const [q, k, v] = tf.split(qkv, 3, -1).map(heads);
    const scores = tf.add(tf.mul(tf.matMul(q as never, k as never, false, true), 1 / Math.sqrt(Dh)), maskBias);
    const ctx = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores) as never, v as never), [0, 2, 1, 3]), [B, T, D]);
    h = tf.add(h, tf.reshape(linear(ctx, projW, projB), [B, T, D]));
    const mlp = linear(gelu(linear(ln(h, ln2g, ln2b), fcW, fcB)), fc2W, fc2B);
    h = tf.add(h, tf.reshape(mlp, [B, T, D]));
    return tf.sum(tf.mul(ln(h, lnfg, lnfb), probeT)) as never;
  };
  const gradFn = tf.valueAndGrads(loss as never);
  return {
    async run() {
      const { value, grads } = tf.tidy(() => gradFn(list as never) as never) as { value: TfTensor; grads: TfTensor[] };
      await value.data();
      await grads[0].data();
      value.dispose();
      for (const g of grads) g.dispose();
    },
    dispose() { for (const t of [...list, idsT, probeT, causal, maskBias, positions]) t.dispose(); },
  };
}

// ---- training steps

/** One optimizer step as trainer.ts does it: forward, backward, gradient masks, clipping, AdamW, loss read back. */
function stepRunner(trainable: Tensor[], lossOf: () => Tensor, dispose: () => void): Runner {
  const opt = new AdamW(trainable, { lr: 1e-4, weightDecay: 0.01, decays: decaysLikeHf });
  return {
    async run() {
      const loss = tidy(() => {
        const l = lossOf();
        backward(l);
        return keep(l.detach());
      });
      clipGradNorm(trainable, 1)?.dispose();
      opt.step();
      opt.zeroGrad();
      await loss.item();
      loss.dispose();
    },
    dispose() { opt.dispose(); dispose(); },
  };
}

const EMBEDDED: { model: 'bert-tiny' | 'gpt2-tiny'; task: TaskName }[] = [
  { model: 'bert-tiny', task: 'spam' }, { model: 'gpt2-tiny', task: 'subject' },
];

/** What `webpeft compare` trains with: batch 16, 48 tokens, 10 virtual tokens, encoder/MLP hidden 64. */
function embeddedStepCase(model: 'bert-tiny' | 'gpt2-tiny', taskName: TaskName, method: MethodName): BenchCase {
  return {
    name: `${model} step ${method}`, shape: 'B16 T48',
    ours: async (backend: Backend) => {
      const loaded = model === 'bert-tiny'
        ? await loadBert(model, { backend, head: 'sequence-classification', numLabels: 2, seed: 1 })
        : await loadGpt2(model, { backend, seed: 1 });
      const peft = new PeftModel(loaded.model, [await buildMethod(method, baseOf(loaded.model), { virtualTokens: 10, hidden: 64, encoder: 'lstm', seed: 1 })]);
      const task = makeTask(taskName, loaded.tokenizer, { batchSize: 16, maxLength: 48, seed: 1 });
      const batch = task.batch(0);
      let step = 0;
      return stepRunner(peft.trainable(), () => task.loss(peft, batch, step++), () => loaded.model.dispose());
    },
  };
}

/** Full fine-tuning of a model with a real model's shape and random weights, one sequence of T tokens. */
function bigStepCase(kind: 'gpt2-124M' | 'bert-base', T: number): BenchCase {
  return {
    name: `${kind} step full`, shape: `B1 T${T}`, backends: ['cpu'], runs: 5,
    ours: async (backend) => {
      if (kind === 'gpt2-124M') {
        const config = parseGpt2Config({ model_type: 'gpt2', n_positions: 1024 });
        const model = Gpt2.init(config, { backend, seed: 1 });
        const ids = tensor(randomIds(T, config.vocabSize, 3), [1, T], { backend, dtype: 'i32' });
        return stepRunner(model.params.trainable(), () => model.forward({ ids, labels: ids, train: true }).loss!, () => { ids.dispose(); model.dispose(); });
      }
      const config = parseBertConfig({ model_type: 'bert', num_labels: 2 });
      const model = Bert.init(config, { backend, head: 'sequence-classification', seed: 1 });
      const ids = tensor(randomIds(T, config.vocabSize, 4), [1, T], { backend, dtype: 'i32' });
      const labels = tensor([1], [1], { backend, dtype: 'i32' });
      return stepRunner(model.params.trainable(), () => model.forward({ ids, labels, train: true }).loss!,
        () => { ids.dispose(); labels.dispose(); model.dispose(); });
    },
  };
}

export function modelCases(): BenchCase[] {
  const cases: BenchCase[] = [blockCase(4, 128, 256, 4), blockCase(1, 128, 768, 12)];
  for (const { model, task } of EMBEDDED) {
    // gpt2-tiny has no head of its own (the LM head is tied to wte): frozen leaves nothing to train
    for (const method of METHOD_NAMES) if (!(model === 'gpt2-tiny' && method === 'frozen')) cases.push(embeddedStepCase(model, task, method));
  }
  cases.push(bigStepCase('gpt2-124M', 32), bigStepCase('bert-base', 32));
  return cases;
}

/** The full fine-tuning row a method's step row is compared with (same model), or null. */
export function fullStepOf(name: string): string | null {
  const m = /^(.*) step (.*)$/.exec(name);
  return m && m[2] !== 'full' ? `${m[1]} step full` : null;
}
