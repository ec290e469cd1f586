/**
 * Pretraining of the embedded bart-tiny (assets/models/bart-tiny) with this engine, as BART was pretrained: a
 * denoising autoencoder whose noise is *text infilling* — spans with Poisson(λ = 3) lengths, each replaced by one
 * [MASK] (a length-0 span inserts a [MASK]), until ~30 % of the tokens are masked — and whose decoder reconstructs
 * the original text (cross-entropy over every target token). `node scripts/pretrain-bart.mjs` bundles this file and
 * calls `main`; the data, noise and evaluation helpers are exported for test/pretrained-bart.test.ts.
 *
 * Text: assets/data/corpus.txt plus the *training-split* mails of spam.jsonl (subject + body, no labels), as
 * bert-tiny v2 — validation and test mails never (the splits are by thread, shared by spam.jsonl and subject.jsonl).
 * Tokenizer: bert-tiny's byte-level BPE (assets/data/tokenizer/bert): it has the [PAD], [MASK], [CLS], [SEP] tokens
 * BART needs (pad, mask, bos, eos); gpt2-tiny's has only <|endoftext|>. Everything is seeded: initialization, data
 * order, noise (seed, step, row), dropout (seed, step).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../src/autograd/backend.js';
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { hash32, Rng } from '../src/kernels/rng.js';
import { type BackendName, releaseBackend, selectBackend } from '../src/kernels/select.js';
import { dataPath, loadBpe, loadCorpus, loadHeldoutCorpus, loadSpam, packageRoot } from '../src/data/load.js';
import { IGNORE_INDEX, spamText } from '../src/data/datasets.js';
import { type BartConfig, parseBartConfig, bartConfigToJson } from '../src/io/bart-config.js';
import { saveSafetensors } from '../src/io/node.js';
import { writeFolderAtomic } from '../src/io/atomic-folder.js';
import { Bart } from '../src/models/bart.js';
import { assignValues } from '../src/models/params.js';
import { trainLoop } from '../src/train/trainer.js';
import { type Seq2seqBatch, seq2seqBatch, seq2seqTensors } from '../src/train/seq2seq-task.js';
import { BERT_IDS, type Encode, VOCAB_SIZE, encodeDocs, epochBatcher, logUnigram, tokenCounts } from './pretrain.js';

/** BART's roles on bert-tiny's tokenizer: bos = [CLS], eos = [SEP], pad = [PAD], mask = [MASK]. */
export const BART_IDS = { pad: BERT_IDS.pad, bos: BERT_IDS.cls, eos: BERT_IDS.sep, mask: BERT_IDS.mask } as const;
export const BART_MAX_POSITIONS = 128;
/** Text pieces of ≤ 126 tokens: the encoder sees [CLS] noised [SEP], the decoder predicts piece + [SEP]. */
export const PIECE = BART_MAX_POSITIONS - 2;

export const BART_TINY_JSON = {
  model_type: 'bart', architectures: ['BartForConditionalGeneration'], is_encoder_decoder: true,
  vocab_size: VOCAB_SIZE, d_model: 64, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4,
  encoder_ffn_dim: 256, decoder_ffn_dim: 256, activation_function: 'gelu', dropout: 0.1, attention_dropout: 0, activation_dropout: 0,
  max_position_embeddings: BART_MAX_POSITIONS, scale_embedding: false, init_std: 0.02, tie_word_embeddings: true,
  pad_token_id: BART_IDS.pad, bos_token_id: BART_IDS.bos, eos_token_id: BART_IDS.eos,
  decoder_start_token_id: BART_IDS.bos, forced_eos_token_id: BART_IDS.eos,
} as const;

export const bartTinyConfig = (initStd?: number): BartConfig =>
  parseBartConfig({ ...BART_TINY_JSON, ...(initStd === undefined ? {} : { init_std: initStd }) }, 'bart-tiny');

// ---------------------------------------------------------------------------------------------------------------
// Noise: text infilling
// ---------------------------------------------------------------------------------------------------------------

export interface InfillOptions {
  /** Fraction of the tokens to mask (BART: 0.3). */
  ratio: number;
  /** Mean span length (BART: Poisson λ = 3). */
  lambda: number;
  maskId: number;
  seed: number;
}

/** A Poisson(λ) draw (Knuth's product of uniforms). */
export function poisson(rng: Rng, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.next();
  while (p > limit) { k++; p *= rng.next(); }
  return k;
}

/**
 * Text infilling: spans (start uniform, length Poisson(λ)) are drawn until round(ratio · n) tokens are covered; each
 * maximal run of covered tokens becomes one mask token, and a length-0 span inserts a mask token before its start.
 */
export function textInfill(tokens: readonly number[], o: InfillOptions): number[] {
  const n = tokens.length;
  const target = Math.round(o.ratio * n);
  const rng = new Rng(o.seed);
  const masked = new Uint8Array(n);
  const inserts = new Uint8Array(n);
  let covered = 0;
  for (let tries = 0; covered < target && tries < 16 * n; tries++) {
    const length = Math.min(poisson(rng, o.lambda), n);
    const start = rng.int(n);
    if (length === 0) { inserts[start] = 1; continue; }
    for (let i = start; i < Math.min(n, start + length); i++) if (!masked[i]) { masked[i] = 1; covered++; }
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (masked[i]) { if (i === 0 || !masked[i - 1]) out.push(o.maskId); continue; }
    if (inserts[i] && (i === 0 || !masked[i - 1])) out.push(o.maskId);
    out.push(tokens[i]!);
  }
  return out;
}

export const INFILL = { ratio: 0.3, lambda: 3, maskId: BART_IDS.mask } as const;

/** Pieces of ≤ PIECE tokens of each document. */
export function bartPieces(docs: readonly (readonly number[])[]): number[][] {
  const out: number[][] = [];
  for (const d of docs) for (let i = 0; i < d.length; i += PIECE) out.push(d.slice(i, i + PIECE));
  return out.filter((p) => p.length > 0);
}

/** The denoising pair of a piece: [CLS] infill(piece) [SEP] → piece [SEP]. */
export function denoisingBatch(pieces: readonly (readonly number[])[], seed: number): Seq2seqBatch {
  const sources = pieces.map((p, r) => [BART_IDS.bos, ...textInfill(p, { ...INFILL, seed: hash32(seed ^ hash32(0x1f11 + r)) }), BART_IDS.eos]);
  return seq2seqBatch(sources, pieces.map((p) => [...p, BART_IDS.eos]), BART_IDS.pad);
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------------------------

/** The held-out denoising batches: pieces of corpus-heldout.txt, noised with seed (seed, batch index). */
export function heldoutDenoisingBatches(encode: Encode, seed: number, limit = Infinity, batchSize = 16): Seq2seqBatch[] {
  const pieces = bartPieces(encodeDocs(loadHeldoutCorpus(), encode)).slice(0, limit);
  const out: Seq2seqBatch[] = [];
  for (let i = 0, k = 0; i < pieces.length; i += batchSize, k++) out.push(denoisingBatch(pieces.slice(i, i + batchSize), hash32(seed ^ hash32(0xe7a1 + k))));
  return out;
}

export interface DenoisingEval { meanNll: number; accuracy: number; tokens: number }

/** Token-weighted reconstruction NLL and argmax accuracy over the target tokens (no dropout). */
export async function evalDenoising(model: Bart, batches: readonly Seq2seqBatch[]): Promise<DenoisingEval> {
  let nll = 0;
  let right = 0;
  let tokens = 0;
  const V = model.config.vocabSize;
  for (const b of batches) {
    const out = noGrad(() => tidy(() => {
      const o = model.forward(seq2seqTensors(b, model.backend, model.dtype as 'f32' | 'f64'));
      return { loss: o.loss!, logits: o.logits };
    }));
    const n = b.labels.reduce((s, l) => s + (l === IGNORE_INDEX ? 0 : 1), 0);
    nll += (await out.loss.item()) * n;
    const logits = await out.logits.data();
    out.loss.dispose();
    out.logits.dispose();
    b.labels.forEach((label, i) => {
      if (label === IGNORE_INDEX) return;
      let arg = 0;
      for (let v = 1; v < V; v++) if (logits[i * V + v]! > logits[i * V + arg]!) arg = v;
      if (arg === label) right++;
    });
    tokens += n;
  }
  return { meanNll: nll / tokens, accuracy: right / tokens, tokens };
}

// ---------------------------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------------------------

export interface BartHyper { batchSize: number; lr: number; warmupFraction: number; weightDecay: number; clip: number; dropout: boolean; initStd: number; logPrior: boolean }
export const BART_HYPER: BartHyper = { batchSize: 8, lr: 3e-3, warmupFraction: 0.06, weightDecay: 0.01, clip: 1, dropout: true, initStd: 0.02, logPrior: true };

/** The training text: corpus documents + the spam training split's mails (subject + body). */
export function bartTrainPieces(encode: Encode): number[][] {
  const docs = encodeDocs(loadCorpus(), encode);
  for (const e of loadSpam('train')) docs.push(encode(spamText(e)));
  return bartPieces(docs);
}

export interface BartRunOptions { steps: number; backend: Backend; seed: number; hyper?: Partial<BartHyper>; log?: (s: string) => void; logEvery?: number; evaluate?: boolean }

/**
 * A fresh bart-tiny with the run's initialization: per-tensor seeds; with `logPrior` the `final_logits_bias` buffer
 * (added to the logits, not trained, saved in the checkpoint as HF does) holds the log add-one unigram frequencies
 * of the training tokens, so the initial decoder already predicts the unigram distribution.
 */
export function initBartTiny(h: BartHyper, seed: number, backend: Backend, pieces: readonly (readonly number[])[]): Bart {
  const model = Bart.init(bartTinyConfig(h.initStd), { seed, backend, dtype: 'f32' });
  if (h.logPrior) {
    const counts = tokenCounts(pieces.map((p) => [...p, BART_IDS.eos]));
    assignValues(model.finalLogitsBias, logUnigram(counts, [BART_IDS.pad, BERT_IDS.unk, BART_IDS.bos, BART_IDS.mask]), 'final_logits_bias');
  }
  return model;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function pretrainBart(o: BartRunOptions) {
  const h = { ...BART_HYPER, ...o.hyper };
  const bpe = loadBpe('bert');
  const encode: Encode = (t) => bpe.encode(t);
  const pieces = bartTrainPieces(encode);
  const model = initBartTiny(h, o.seed, o.backend, pieces);
  const batchOf = epochBatcher(pieces, h.batchSize, o.seed);
  const warmup = Math.round(h.warmupFraction * o.steps);
  const corpusTokens = pieces.reduce((a, p) => a + p.length, 0);
  o.log?.(`[bart-tiny] ${model.params.count()} parameters, ${pieces.length} pieces of ≤ ${PIECE} (${corpusTokens} tokens), batch ${h.batchSize}, ` +
    `${o.steps} steps (${((o.steps * h.batchSize) / pieces.length).toFixed(2)} epochs), lr ${h.lr}, warm-up ${warmup}, ${o.backend.describe()}`);
  const losses: number[] = [];
  const every = o.logEvery ?? 20;
  let tokensSeen = 0;
  let lastSeconds = 0;
  const result = await trainLoop({
    trainable: model.params.trainable(), config: { steps: o.steps, lr: h.lr, warmup, weightDecay: h.weightDecay, clip: h.clip },
    batch: (step) => {
      const b = denoisingBatch(batchOf(step), hash32(o.seed ^ hash32(0x3a5c + step)));
      tokensSeen += b.labels.reduce((s, l) => s + (l === IGNORE_INDEX ? 0 : 1), 0);
      return b;
    },
    loss: (b, step) => model.forward({ ...seq2seqTensors(b as Seq2seqBatch, o.backend, 'f32'), train: h.dropout, seed: hash32(o.seed ^ hash32(0xba27 + step)) }).loss!,
    onStep: ({ step, loss, lr, seconds }) => {
      losses.push(loss);
      if ((step + 1) % every !== 0 && step !== 0 && step !== o.steps - 1) return;
      o.log?.(`[bart-tiny] step ${String(step + 1).padStart(5)}/${o.steps}  loss ${loss.toFixed(4)} (avg20 ${mean(losses.slice(-20)).toFixed(4)})  lr ${lr.toExponential(2)}  ` +
        `${(((seconds - lastSeconds) / Math.min(every, step + 1)) * 1000).toFixed(0)} ms/step  ${seconds.toFixed(0)} s`);
      lastSeconds = seconds;
    },
  });
  const curve = Array.from({ length: Math.ceil(losses.length / 50) }, (_, k) => ({ steps: `${k * 50 + 1}-${Math.min(losses.length, (k + 1) * 50)}`, meanLoss: mean(losses.slice(k * 50, (k + 1) * 50)) }));
  const report: Record<string, unknown> = {
    model: 'bart-tiny', backend: o.backend.name, device: o.backend.describe(), seed: o.seed, steps: o.steps, batchSize: h.batchSize,
    maxPositions: BART_MAX_POSITIONS, lr: h.lr, warmupSteps: warmup, weightDecay: h.weightDecay, clip: h.clip, dropout: h.dropout, initStd: h.initStd, logPrior: h.logPrior,
    objective: { noise: 'text infilling', ...INFILL, spanLengths: 'Poisson(3)', target: 'the original piece + [SEP]', text: 'corpus.txt + spam.jsonl training-split mails (subject + body)' },
    parameters: model.params.count(), pieces: pieces.length, trainTokensInCorpus: corpusTokens, targetTokensSeen: tokensSeen,
    epochs: (o.steps * h.batchSize) / pieces.length, trainSeconds: result.seconds, secondsPerStep: result.seconds / o.steps,
    firstLoss: losses[0], finalTrainLoss: losses[losses.length - 1], finalTrainLossMean20: mean(losses.slice(-20)), lossCurveMeanPer50Steps: curve,
  };
  if (o.evaluate ?? true) {
    const t0 = performance.now();
    const heldout = heldoutDenoisingBatches(encode, o.seed);
    const trained = await evalDenoising(model, heldout);
    const untrainedModel = initBartTiny(h, o.seed, o.backend, pieces);
    const untrained = await evalDenoising(untrainedModel, heldout);
    untrainedModel.dispose();
    report.heldout = { targetTokens: trained.tokens, meanNll: trained.meanNll, accuracy: trained.accuracy,
      untrainedMeanNll: untrained.meanNll, untrainedAccuracy: untrained.accuracy, note: 'untrained = the same initialization (log-prior bias included), 0 steps' };
    report.evalSeconds = (performance.now() - t0) / 1000;
    o.log?.(`[bart-tiny] held-out denoising NLL ${trained.meanNll.toFixed(4)} (untrained ${untrained.meanNll.toFixed(4)}), token accuracy ` +
      `${(100 * trained.accuracy).toFixed(2)} % (untrained ${(100 * untrained.accuracy).toFixed(2)} %) over ${trained.tokens} target tokens`);
  }
  return { model, report };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** config.json, model.safetensors (F32, HF keys + final_logits_bias, metadata format=pt), bert-tiny's tokenizer files. */
export async function writeBartDir(dir: string, model: Bart): Promise<{ bytes: number; sha256: string }> {
  const config = { ...bartConfigToJson(model.config), torch_dtype: 'float32' };
  const checkpoint = await model.save();
  await writeFolderAtomic(dir, async (folder) => {
    writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    await saveSafetensors(join(folder, 'model.safetensors'), checkpoint, { format: 'pt' });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(dataPath(`tokenizer/bert/${f}`), join(folder, f));
  }, ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  return { bytes: bytes.length, sha256: sha256(bytes) };
}

export const USAGE = `node scripts/pretrain-bart.mjs [--steps N] [--seed S] [--lr X] [--batch B] [--init-std S] [--backend cpu|webgpu] [--out DIR] [--bench N] [--no-eval]
  Trains bart-tiny (text infilling) and writes DIR/bart-tiny with DIR/bart-tiny/pretrain-report.json (default DIR assets/models).`;

export async function main(argv: readonly string[], log: (s: string) => void = (s) => console.log(s)): Promise<void> {
  if (argv.includes('--help')) { log(USAGE); return; }
  let steps = 500;
  let seed = 0;
  let out = join(packageRoot(), 'assets', 'models');
  let backendName: BackendName = 'cpu';
  let bench: number | null = null;
  let evaluate = true;
  const hyper: Partial<BartHyper> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => { const x = argv[++i]; if (x === undefined) throw new Error(`${a} needs a value`); return x; };
    const num = () => { const x = v(); const n = Number(x); if (!Number.isFinite(n) || n < 0) throw new Error(`${a}: expected a non-negative number, got ${x}`); return n; };
    if (a === '--steps') steps = num();
    else if (a === '--seed') seed = num();
    else if (a === '--lr') hyper.lr = num();
    else if (a === '--batch') hyper.batchSize = Math.max(1, num());
    else if (a === '--init-std') hyper.initStd = num();
    else if (a === '--out') out = v();
    else if (a === '--bench') bench = num();
    else if (a === '--no-eval') evaluate = false;
    else if (a === '--backend') { const b = v(); if (b !== 'cpu' && b !== 'webgpu') throw new Error(`--backend: cpu or webgpu, got ${b}`); backendName = b; }
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const backend = await selectBackend(backendName);
  try {
    const t0 = performance.now();
    if (bench !== null) {
      const { model, report } = await pretrainBart({ steps: bench, backend, seed, hyper, log, logEvery: 1, evaluate: false });
      log(`[bench] first loss ${(report.firstLoss as number).toFixed(6)}, ${(report.secondsPerStep as number).toFixed(2)} s/step`);
      model.dispose();
      return;
    }
    const { model, report } = await pretrainBart({ steps, backend, seed, hyper, log, evaluate });
    const dir = join(out, 'bart-tiny');
    const file = await writeBartDir(dir, model);
    model.dispose();
    const full = {
      command: `node scripts/pretrain-bart.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`, node: process.version, platform: `${process.platform}-${process.arch}`,
      date: new Date().toISOString(), ...report, wallSeconds: (performance.now() - t0) / 1000, safetensorsBytes: file.bytes, safetensorsSha256: file.sha256,
    };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'pretrain-report.json'), `${JSON.stringify(full, null, 2)}\n`);
    log(`[bart-tiny] wrote ${dir} (model.safetensors ${(file.bytes / 1e6).toFixed(2)} MB, sha256 ${file.sha256.slice(0, 16)}…)`);
  } finally {
    releaseBackend(backend);
  }
}
