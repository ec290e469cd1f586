/**
 * Linear probes: what a frozen encoder offers a task before any PEFT method touches it. For the spam task, each mail
 * is encoded once (no dropout) and a logistic regression is fitted on the training split's features (standardized,
 * L2-regularized, full-batch gradient descent in float64, the L2 strength picked on the validation split); the
 * validation accuracy of each feature set is printed. Feature sets: the last layer's [CLS] vector, the pooler's
 * output, the mean over real tokens of each layer, and (no model) a bag of token ids, the task's own ceiling for a
 * linear reader of the words.
 *
 *   node scripts/probe.mjs [--model bert-tiny|DIR] [--max-length 48] [--untrained] [--bag]
 */
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { loadSpam } from '../src/data/load.js';
import { collateClassification, spamLabelId, spamText } from '../src/data/datasets.js';
import { loadBert } from '../src/train/model-dir.js';
import { batchTensors } from '../src/train/trainer.js';
import { Bert } from '../src/models/bert.js';

type Rows = Float64Array[];

function standardize(train: Rows, ...others: Rows[]): void {
  const d = train[0]!.length;
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (const r of train) for (let j = 0; j < d; j++) mu[j] += r[j]! / train.length;
  for (const r of train) for (let j = 0; j < d; j++) sd[j] += (r[j]! - mu[j]!) ** 2 / train.length;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) + 1e-8;
  for (const rows of [train, ...others]) for (const r of rows) for (let j = 0; j < d; j++) r[j] = (r[j]! - mu[j]!) / sd[j]!;
}

/** Logistic regression by full-batch gradient descent (Adam-free: plain steps on a convex loss). */
function fitLogistic(x: Rows, y: number[], l2: number, iters = 400, lr = 0.5): { w: Float64Array; b: number } {
  const d = x[0]!.length;
  const w = new Float64Array(d);
  let b = 0;
  for (let it = 0; it < iters; it++) {
    const gw = new Float64Array(d);
    let gb = 0;
    for (let i = 0; i < x.length; i++) {
      const r = x[i]!;
      let z = b;
      for (let j = 0; j < d; j++) z += w[j]! * r[j]!;
      const g = 1 / (1 + Math.exp(-z)) - y[i]!;
      gb += g;
      for (let j = 0; j < d; j++) gw[j] += g * r[j]!;
    }
    for (let j = 0; j < d; j++) w[j] -= lr * (gw[j]! / x.length + l2 * w[j]!);
    b -= lr * gb / x.length;
  }
  return { w, b };
}

function accuracyOf(m: { w: Float64Array; b: number }, x: Rows, y: number[]): number {
  let ok = 0;
  for (let i = 0; i < x.length; i++) {
    let z = m.b;
    for (let j = 0; j < m.w.length; j++) z += m.w[j]! * x[i]![j]!;
    if ((z > 0 ? 1 : 0) === y[i]) ok++;
  }
  return ok / x.length;
}

function probe(name: string, train: Rows, yTrain: number[], val: Rows, yVal: number[]): { name: string; accuracy: number; l2: number } {
  standardize(train, val);
  let best = { name, accuracy: -1, l2: 0 };
  for (const l2 of [1e-4, 1e-3, 1e-2, 1e-1]) {
    const acc = accuracyOf(fitLogistic(train, yTrain, l2), val, yVal);
    if (acc > best.accuracy) best = { name, accuracy: acc, l2 };
  }
  return best;
}

async function features(model: Bert, texts: string[], encode: (t: string) => number[], maxLength: number): Promise<Map<string, Rows>> {
  const out = new Map<string, Rows>();
  const push = (k: string, r: Float64Array) => { if (!out.has(k)) out.set(k, []); out.get(k)!.push(r); };
  const D = model.config.hiddenSize;
  for (let i = 0; i < texts.length; i += 32) {
    const chunk = texts.slice(i, i + 32);
    const b = collateClassification(chunk, chunk.map(() => 0), { encode, maxLength, padId: 0, prefix: [2], suffix: [3] });
    const layers: Float32Array[] = [];
    let pooled: Float32Array | null = null;
    const res = noGrad(() => tidy(() => {
      const t = batchTensors(b, model.backend, 'f32');
      return model.forward({ ids: t.ids, attentionMask: t.attentionMask });
    }));
    layers.push((await res.hidden.data()) as Float32Array);
    if (res.pooled) pooled = (await res.pooled.data()) as Float32Array;
    res.hidden.dispose(); res.pooled?.dispose();
    const [B, T] = b.shape;
    for (let r = 0; r < B; r++) {
      const h = layers[0]!;
      push('last [CLS]', Float64Array.from(h.subarray(r * T * D, r * T * D + D)));
      const mean = new Float64Array(D);
      let n = 0;
      for (let t = 0; t < T; t++) if (b.attentionMask[r * T + t]) { n++; for (let j = 0; j < D; j++) mean[j] += h[(r * T + t) * D + j]!; }
      for (let j = 0; j < D; j++) mean[j] /= n;
      push('last mean', mean);
      if (pooled) push('pooler', Float64Array.from(pooled.subarray(r * D, (r + 1) * D)));
    }
  }
  return out;
}

function bagOfIds(texts: string[], encode: (t: string) => number[], maxLength: number, vocab: number): Rows {
  return texts.map((t) => {
    const r = new Float64Array(vocab);
    for (const id of encode(t).slice(0, maxLength - 2)) r[id] = 1;
    return r;
  });
}

export async function main(argv: string[]): Promise<void> {
  const arg = (k: string, d: string) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1]! : d; };
  const maxLength = Number(arg('--max-length', '48'));
  const backend = cpu;
  const { model, tokenizer } = await loadBert(arg('--model', 'bert-tiny'), { backend, head: 'sequence-classification', numLabels: 2, seed: 0 });
  const m = argv.includes('--untrained') ? Bert.init(model.config, { head: 'sequence-classification', seed: 0, backend, dtype: 'f32' }) : model;
  const encode = (t: string) => tokenizer.encode(t, { addSpecialTokens: false });
  const train = loadSpam('train');
  const val = loadSpam('validation');
  const tx = train.map(spamText), vx = val.map(spamText);
  const ty = train.map(spamLabelId), vy = val.map(spamLabelId);
  const t0 = performance.now();
  const ft = await features(m, tx, encode, maxLength);
  const fv = await features(m, vx, encode, maxLength);
  console.log(`features in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const k of ft.keys()) console.log(JSON.stringify(probe(k, ft.get(k)!, ty, fv.get(k)!, vy)));
  if (argv.includes('--bag')) console.log(JSON.stringify(probe('bag of ids', bagOfIds(tx, encode, maxLength, 4096), ty, bagOfIds(vx, encode, maxLength, 4096), vy)));
}
