/**
 * The research bench without the DOM: an embedded model and the shipped data fetched from the package (`/assets/`),
 * one method trained exactly as `webpeft train` trains it — the same settings object, schedule, data order, loss and
 * dropout seeds, through the library's own buildTask/buildMethod/trainLoop — so its losses are the CLI's up to
 * the backend's rounding. Around that: BitFit's bias change per layer × type (the method spec's own analysis),
 * attention from real positions to the virtual tokens, and the adapter as the files `webpeft train --out` writes.
 */
import {
  Bert, Gpt2, PeftModel, TASK_INFO, TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION, TextTokenizer, assertFinite, baseOf,
  baseSignature, batchTensors, buildMethod, generateWith, peftModelFromFiles, buildTask, bySplit, taskDefaultLr, exportHfAdapter, keep, methodLabel,
  methodSpec, noGrad, parseJsonl, parseModelConfig, parseSafetensors, parseTemplate, peftTypeOf, serializeSafetensors,
  stateTensors, tidy, trainLoop, virtualCount, warmupSteps,
  type AdamW, type Backend, type Batch, type BiasType, type Evaluation, type MethodName, type MethodSettings, type PeftMethod,
  type Split, type StepLog, type Task, type TaskData, type TaskName, type Tensor, type TextTokenizer as Tokenizer, type TrainingState,
  type VirtualLayout,
} from 'webpeft';

/** Fetches a file of the package by path ('assets/models/bert-tiny/config.json') as bytes. */
export type GetFile = (path: string) => Promise<Uint8Array>;

export const fetchFile = (root: string): GetFile => async (path) => {
  const url = new URL(path, root);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status} ${res.statusText} (is the page served by npm run web?)`);
  return new Uint8Array(await res.arrayBuffer());
};

const utf8 = new TextDecoder();
const json = (bytes: Uint8Array, file: string): unknown => {
  try { return JSON.parse(utf8.decode(bytes)); } catch (e) { throw new Error(`${file}: (root): is not valid JSON (${(e as Error).message})`); }
};

/** What one run is: the flags of `webpeft train` (undefined = the CLI's default). */
export interface RunSettings {
  task: TaskName;
  method: MethodName;
  steps: number;
  lr?: number;
  batchSize: number;
  maxLength: number;
  seed: number;
  /** Validation examples evaluated at the end (`--eval-limit`). */
  evalLimit: number;
  /** Train on the first N training examples only (`--train-limit`; undefined: all). */
  trainLimit?: number;
  virtualTokens?: number;
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  /** BitFit's bias subset (the CLI trains all of them). */
  biasTypes?: BiasType[];
  template?: string;
}

export const MODEL_OF: Record<TaskName, 'bert-tiny' | 'gpt2-tiny'> = { spam: 'bert-tiny', tokens: 'bert-tiny', subject: 'gpt2-tiny' };
const TASK_TYPE: Record<TaskName, string> = { spam: 'SEQ_CLS', tokens: 'TOKEN_CLS', subject: 'CAUSAL_LM' };
const DATA_FILE: Record<TaskName, string> = { spam: 'spam.jsonl', tokens: 'tokens.jsonl', subject: 'subject.jsonl' };

/** Where a model comes from: the embedded one for the task (over HTTP), or an HF folder the user picked. */
export interface ModelSource { name: string; get: GetFile; dir: string }

export const embeddedModel = (task: TaskName, get: GetFile): ModelSource => ({ name: MODEL_OF[task], get, dir: `assets/models/${MODEL_OF[task]}/` });

/**
 * Files the user picked (a directory picker gives `folder/config.json`, …): a GetFile by base name. tokenizer_config.json
 * may be missing (then {}); the other three are required and named when they are not there.
 */
export function pickedFolder(files: readonly File[]): ModelSource {
  const byName = new Map(files.map((f) => [f.name, f]));
  const folder = (files[0] as File & { webkitRelativePath?: string } | undefined)?.webkitRelativePath?.split('/')[0] || 'local model';
  for (const need of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    if (!byName.has(need)) throw new Error(`${folder}: no ${need} among the picked files (an HF model folder holds config.json, model.safetensors, tokenizer.json)`);
  }
  return {
    name: folder, dir: '',
    get: async (path) => {
      const f = byName.get(path);
      if (!f) return path === 'tokenizer_config.json' ? new TextEncoder().encode('{}') : Promise.reject(new Error(`${folder}/${path}: not picked`));
      return new Uint8Array(await f.arrayBuffer());
    },
  };
}

/** A model folder, checked as model-dir.ts checks one on disk (config, finite weights, vocabulary, family). */
export async function loadModel(task: TaskName, backend: Backend, seed: number, source: ModelSource): Promise<{ model: Bert | Gpt2; tokenizer: Tokenizer; name: string }> {
  const { name, dir, get } = source;
  const [cfg, weightsBytes, tok, tokCfg] = await Promise.all(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => get(dir + f)));
  const loaded = parseModelConfig(json(cfg, `${dir}config.json`), `${dir}config.json`);
  const weights = parseSafetensors(weightsBytes, `${dir}model.safetensors`);
  assertFinite(weights, `${dir}model.safetensors`);
  const tokenizer = new TextTokenizer(json(tok, `${dir}tokenizer.json`), json(tokCfg, `${dir}tokenizer_config.json`) as Record<string, unknown>, `${dir}tokenizer.json`);
  if (tokenizer.vocabSize > loaded.vocabSize) throw new Error(`${dir}tokenizer.json: model.vocab: ids up to ${tokenizer.vocabSize - 1}, but vocab_size is ${loaded.vocabSize}`);
  const info = TASK_INFO[task];
  if (loaded.modelType !== info.family) throw new Error(`${dir}config.json: model_type: '${loaded.modelType}', the ${task} task needs a ${info.family} model`);
  if (loaded.modelType === 'gpt2') return { model: Gpt2.load(loaded, weights.tensors, { backend, dtype: 'f32', seed }), tokenizer, name };
  // as loadBert: a fresh classifier of numLabels classes, labels named as HF names them
  const n = info.numLabels ?? loaded.numLabels;
  const id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
  const config = info.numLabels ? { ...loaded, numLabels: n, id2label, label2id: Object.fromEntries(Object.entries(id2label).map(([i, l]) => [l, Number(i)])) } : loaded;
  return { model: Bert.load(config, weights.tensors, { backend, dtype: 'f32', head: info.head === 'lm' ? 'base' : info.head, seed }), tokenizer, name };
}

const dataCache = new Map<string, unknown[]>();

/** The shipped examples of one task (fetched once per page), as the TaskData buildTask reads. */
export async function loadTaskData(task: TaskName, get: GetFile): Promise<TaskData> {
  const file = DATA_FILE[task];
  if (!dataCache.has(file)) dataCache.set(file, parseJsonl(utf8.decode(await get(`assets/data/${file}`))));
  const rows = <T extends { split: Split }>(f: string) => (split: Split): T[] => {
    const r = dataCache.get(f);
    if (!r) throw new Error(`assets/data/${f} is not loaded (this run's task is ${task})`);
    return bySplit(r as T[], split);
  };
  return { spam: rows('spam.jsonl'), tokens: rows('tokens.jsonl'), subject: rows('subject.jsonl') };
}

/** `webpeft train`'s method settings from the run's flags (planRun in src/cli/train.ts). */
export function methodSettings(s: RunSettings): MethodSettings {
  const settings: MethodSettings = { virtualTokens: s.virtualTokens, hidden: s.hidden, encoder: s.encoder ?? 'lstm', seed: s.seed,
    ...(s.biasTypes ? { biasTypes: s.biasTypes } : {}), ...(s.template ? { template: s.template } : {}) };
  if (s.template) settings.virtualTokens ??= virtualCount(parseTemplate(s.template));
  return settings;
}

/** Per bias: mean |Δb| per element, ‖Δb‖₂ and its width, per layer × bias type (BitFit's analysis, as its spec computes it). */
export type BiasDelta = { layer: string; type: string; meanAbs: number; norm: number; size: number };

/** Mean attention of real query positions to each virtual token, per layer (heads, rows and queries averaged). */
export interface VirtualAttention {
  /** Labels of the virtual tokens: 'kv0'… for a per-layer prefix, 'p0'… for input virtual tokens. */
  tokens: string[];
  /** values[layer][token] */
  values: number[][];
  /** Per layer: the attention mass real positions put on all virtual tokens together. */
  share: number[];
}

export interface RunCallbacks {
  onStep?(log: StepLog, run: TrainedRun): void | Promise<void>;
  /** BitFit: after each step, the bias change so far. */
  onDeltas?(rows: BiasDelta[]): void | Promise<void>;
  /** Prompt/prefix methods: every `attentionEvery` steps and at the end. */
  onAttention?(a: VirtualAttention, step: number): void | Promise<void>;
  attentionEvery?: number;
}

/** One trained method, alive until disposed (its adapter can still be downloaded). */
export class TrainedRun {
  losses: number[] = [];
  seconds = 0;
  validation: Evaluation | null = null;
  deltas: BiasDelta[] = [];
  attention: VirtualAttention | null = null;
  optimizer: AdamW | null = null;
  readonly label: string;

  constructor(readonly settings: RunSettings, readonly modelName: string, readonly model: Bert | Gpt2, readonly tokenizer: Tokenizer, readonly method: PeftMethod,
    readonly peft: PeftModel, readonly task: Task, readonly lr: number, readonly warmup: number) {
    this.label = methodLabel(settings.method, methodSettings(settings));
  }

  get counts() { return this.peft.counts(); }
  get stepsPerSecond(): number { return this.seconds > 0 ? this.losses.length / this.seconds : 0; }

  /** The files `webpeft train --out` writes: HF PEFT's pair (prompt family), the training state, losses.json. */
  async adapterFiles(): Promise<Record<string, Uint8Array>> {
    const { settings: s, method } = this;
    const base = baseOf(this.model);
    const enc = new TextEncoder();
    const files: Record<string, Uint8Array> = {};
    const settings = methodSettings(s);
    if (peftTypeOf(method.kind)) {
      const hf = await exportHfAdapter(base, method, { taskType: TASK_TYPE[s.task], baseModelNameOrPath: this.modelName, promptInit: settings.promptInit ?? 'vocab' });
      files['adapter_config.json'] = enc.encode(`${JSON.stringify(hf.config, null, 2)}\n`);
      files['adapter_model.safetensors'] = serializeSafetensors(hf.tensors, hf.metadata, 'adapter_model.safetensors');
    }
    const state: TrainingState = {
      format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: s.method, settings, task: s.task, model: this.modelName,
      step: this.losses.length, optimizerStep: this.optimizer?.step_ ?? this.losses.length,
      schedule: { totalSteps: s.steps, warmup: this.warmup, lr: this.lr, weightDecay: 0.01, clip: 1, beta2: 0.999 },
      data: { batchSize: s.batchSize, maxLength: s.maxLength, seed: s.seed, ...(s.trainLimit ? { trainLimit: s.trainLimit } : {}) }, base: await baseSignature(base, method),
      ...(this.validation ? { metrics: { [`validation ${this.task.metric}`]: this.validation.metric, ...this.validation.extra } } : {}),
    };
    files['training_state.safetensors'] = serializeSafetensors(await stateTensors(base, method, this.optimizer), { format: 'webpeft-training-state' }, 'training_state.safetensors');
    files['training_state.json'] = enc.encode(`${JSON.stringify(state, null, 2)}\n`);
    files['losses.json'] = enc.encode(JSON.stringify(this.losses));
    return files;
  }

  /** GPT-2 runs: greedy continuation of `prompt` under the trained adapter (the KV-cache generator). */
  async generate(prompt: string, maxNewTokens: number): Promise<string> {
    if (!(this.model instanceof Gpt2)) throw new Error(`${this.label}: generation needs a GPT-2 run (the subject task)`);
    const ids = this.tokenizer.encode(prompt, { addSpecialTokens: false });
    if (ids.length === 0) throw new Error('generate: the prompt is empty');
    const eos = this.tokenizer.specialTokenId('eos') ?? this.model.config.eosTokenId ?? undefined;
    const out = await generateWith(this.peft as PeftModel<Gpt2>, [ids], { maxNewTokens, stopTokens: eos === undefined ? [] : [eos] });
    return this.tokenizer.decode(out.tokens[0].filter((id) => id !== eos));
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = null;
    this.method.params.dispose();
    this.model.dispose();
  }
}

/** Loads the model and data, builds the method and trains it as `webpeft train` would, then evaluates on validation. */
export async function trainRun(s: RunSettings, backend: Backend, get: GetFile, cb: RunCallbacks = {}, source = embeddedModel(s.task, get)): Promise<TrainedRun> {
  const { model, tokenizer, name } = await loadModel(s.task, backend, s.seed, source);
  let run: TrainedRun | null = null;
  try {
    const data = await loadTaskData(s.task, get);
    const base = baseOf(model);
    const method = await buildMethod(s.method, base, methodSettings(s));
    const peft = new PeftModel(model, [method]);
    const task = buildTask(s.task, tokenizer, { batchSize: s.batchSize, maxLength: s.maxLength, seed: s.seed, evalLimit: s.evalLimit, trainLimit: s.trainLimit, template: s.template }, data);
    const lr = s.lr ?? taskDefaultLr(s.task, s.method);
    const warmup = warmupSteps({ steps: s.steps, lr: 0 });
    run = new TrainedRun(s, name, model, tokenizer, method, peft, task, lr, warmup);
    const analysis = s.method === 'bitfit' ? methodSpec('bitfit').analysis : undefined;
    const before = analysis ? await analysis.capture(base.params) : null;
    const virtual = !!(method.input || method.kv);
    const every = cb.attentionEvery ?? 5;
    const probe = task.batch(0);
    const r = await trainLoop({
      trainable: peft.trainable(), batch: (step) => task.batch(step), loss: (b, step) => task.loss(peft, b, step),
      config: { steps: s.steps, lr, weightDecay: 0.01, clip: 1, beta2: 0.999, seed: s.seed, warmup },
      onStep: async (log) => {
        run!.losses.push(log.loss);
        run!.seconds = log.seconds;
        if (analysis && before) {
          run!.deltas = analysis.compare(before, await analysis.capture(base.params));
          await cb.onDeltas?.(run!.deltas);
        }
        if (virtual && ((log.step + 1) % every === 0 || log.step + 1 === s.steps)) {
          run!.attention = await virtualAttention(peft, probe);
          await cb.onAttention?.(run!.attention, log.step);
        }
        await cb.onStep?.(log, run!);
      },
    });
    run.losses = r.losses;
    run.seconds = r.seconds;
    run.optimizer = r.optimizer;
    run.validation = await task.evaluate(peft, 'validation');
    return run;
  } catch (e) {
    if (run) run.dispose(); else model.dispose();
    throw e;
  }
}

/**
 * Attention from real positions to the virtual tokens in an evaluation pass over `batch`, read from the model's
 * attention observer: for each layer, probabilities (B, H, T', S) averaged over heads, rows and real queries.
 * Where the virtual tokens are follows from the shapes: S − T' keys in front are a per-layer prefix; T' − T
 * queries in front are prepended input tokens; a template's slots say where its tokens went.
 */
export async function virtualAttention(peft: PeftModel, batch: Batch & { layout?: VirtualLayout }): Promise<VirtualAttention> {
  const layers: Tensor[] = [];
  noGrad(() => tidy(() => {
    const { backend, dtype } = peft.base.wordEmbeddings;
    const t = batchTensors(batch, backend, dtype as 'f32');
    peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: batch.layout, onAttention: (l: number, p: Tensor) => { layers[l] = keep(p); } });
  }));
  const [B, T] = batch.shape;
  const out: VirtualAttention = { tokens: [], values: [], share: [] };
  const slots = batch.layout?.kind === 'slots' ? batch.layout.slots : null;
  try {
    for (const probs of layers) {
      const [, H, Tq, S] = probs.shape;
      const kvP = S - Tq, inP = Tq - T;
      const nIn = slots ? Math.max(0, ...slots) + 1 : inP;
      if (!out.tokens.length) out.tokens = [...Array.from({ length: kvP }, (_, k) => `kv${k}`), ...Array.from({ length: nIn }, (_, k) => `p${k}`)];
      const values = (await probs.data()) as Float32Array;
      const sums = new Float64Array(kvP + nIn);
      let queries = 0;
      for (let b = 0; b < B; b++) {
        // key column of each virtual token in this row, and which queries are real tokens
        const cols = [...Array.from({ length: kvP }, (_, k) => k), ...Array.from({ length: nIn }, (_, k) => (slots ? kvP + slots.subarray(b * T, (b + 1) * T).indexOf(k) : kvP + k))];
        for (let i = 0; i < Tq; i++) {
          const j = i - inP; // the position in the original sequence
          if (j < 0 || !batch.attentionMask[b * T + j] || (slots && slots[b * T + j] >= 0)) continue;
          for (let h = 0; h < H; h++) {
            const row = ((b * H + h) * Tq + i) * S;
            cols.forEach((c, k) => { if (c >= 0) sums[k] += values[row + c]; });
          }
          queries += H;
        }
      }
      const mean = Array.from(sums, (x) => x / Math.max(1, queries));
      out.values.push(mean);
      out.share.push(mean.reduce((a, x) => a + x, 0));
    }
  } finally {
    for (const p of layers) p.dispose();
  }
  return out;
}

/**
 * An uploaded HF PEFT adapter (adapter_config.json + adapter_model.safetensors) on the task's model, evaluated on
 * the validation split: what `webpeft eval --adapter` prints for it.
 */
export async function evaluateUpload(files: Record<string, Uint8Array>, s: Pick<RunSettings, 'task' | 'maxLength' | 'seed' | 'evalLimit'>,
  backend: Backend, get: GetFile, source = embeddedModel(s.task, get)): Promise<{ evaluation: Evaluation; metric: string; kind: string }> {
  const config = files['adapter_config.json'], weights = files['adapter_model.safetensors'];
  if (!config || !weights) {
    throw new Error(`an HF PEFT adapter is adapter_config.json + adapter_model.safetensors; got ${Object.keys(files).join(', ') || 'nothing'}` +
      (files['training_state.json'] ? ' (a training state alone — BitFit, full, frozen — is read by webpeft eval in Node)' : ''));
  }
  const { model, tokenizer } = await loadModel(s.task, backend, s.seed, source);
  try {
    const data = await loadTaskData(s.task, get);
    const peft = peftModelFromFiles(model, { config: utf8.decode(config), weights });
    const task = buildTask(s.task, tokenizer, { batchSize: 16, maxLength: s.maxLength, seed: s.seed, evalLimit: s.evalLimit }, data);
    const evaluation = await task.evaluate(peft, 'validation');
    const kind = peft.adapters[0][0].kind;
    for (const m of peft.adapters.flat()) m.params.dispose();
    return { evaluation, metric: task.metric, kind };
  } finally {
    model.dispose();
  }
}
