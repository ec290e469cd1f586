import { parseArgs } from 'node:util';
import { dirname, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { tensor } from '../autograd/create.js';
import { backward } from '../autograd/tape.js';
import { tidy, type Tensor } from '../autograd/tensor.js';
import { saveSafetensors } from '../io/node.js';
import { baseOf } from '../peft/base.js';
import { generateWith, PeftModel } from '../peft/peft-model.js';
import { releaseBackend, selectBackend, type BackendName } from '../kernels/select.js';
import { loadAdapter } from '../train/adapter-dir.js';
import { loadBert, loadGpt2, modelDir } from '../train/model-dir.js';
import { loadConfig } from '../io/node.js';
import type { BertHead } from '../models/bert.js';
import { intFlag, optionalInt, optionalReal } from './flags.js';

export const generateHelp = `webpeft generate --prompt TEXT [--model NAME|DIR] [--adapter DIR …] [--max-new-tokens N] [--temperature T]
                  [--top-k K] [--top-p P] [--seed S] [--backend cpu|webgpu] [--allow-nonfinite]
  GPT-2 text generation through the KV cache, optionally under a prefix/prompt adapter (greedy unless sampling is asked).
  Several --adapter: one mixed-adapter batch, row i under adapter i (one --prompt is repeated for each adapter).`;

export async function generateCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: {
    prompt: { type: 'string', multiple: true }, model: { type: 'string', default: 'gpt2-tiny' }, adapter: { type: 'string', multiple: true },
    'max-new-tokens': { type: 'string', default: '30' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' },
    seed: { type: 'string', default: '0' }, backend: { type: 'string', default: 'cpu' }, 'allow-nonfinite': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } });
  if (v.help) { console.log(generateHelp); return 0; }
  if (!v.prompt?.length) throw new Error('--prompt TEXT is required (repeat it for a batch)');
  const sampling = {
    maxNewTokens: intFlag(v['max-new-tokens'], '--max-new-tokens', 30, 1), temperature: optionalReal(v.temperature, '--temperature', { above: 0 }),
    topK: optionalInt(v['top-k'], '--top-k', 0), topP: optionalReal(v['top-p'], '--top-p', { above: 0, max: 1 }), seed: intFlag(v.seed, '--seed', 0, 0),
  };
  const backend = await selectBackend(v.backend as BackendName);
  try {
    const allowNonfinite = v['allow-nonfinite'] ?? false;
    const { model, tokenizer } = await loadGpt2(v.model, { backend, allowNonfinite });
    const adapterDirs = v.adapter ?? [];
    const methods = [];
    for (const dir of adapterDirs) {
      const loaded = await loadAdapter(dir, baseOf(model), { allowNonfinite, modelName: v.model });
      for (const note of loaded.notes) console.error(`webpeft generate: note: ${note}`);
      methods.push(loaded.method);
    }
    // several adapters: a mixed batch, row i under adapter i
    const mixed = methods.length > 1;
    const texts = mixed && v.prompt.length === 1 ? methods.map(() => v.prompt![0]) : v.prompt;
    if (mixed && texts.length !== methods.length) throw new Error(`--prompt: ${texts.length} prompts for ${methods.length} adapters (give one, or one per adapter)`);
    const peft = new PeftModel(model, mixed ? methods.map((m) => [m]) : methods);
    const eos = tokenizer.specialTokenId('eos') ?? model.config.eosTokenId ?? undefined;
    const prompts = texts.map((p) => tokenizer.encode(p, { addSpecialTokens: false }));
    const out = await generateWith(peft, prompts, {
      ...sampling,
      adapterIds: mixed ? Int32Array.from(methods.keys()) : undefined,
      stopTokens: eos === undefined || eos === null ? [] : [eos],
    });
    out.tokens.forEach((t, b) => console.log(`${mixed ? `[${adapterDirs[b]}] ` : ''}${texts[b]}${tokenizer.decode(t.filter((id) => id !== eos))}`));
    if (out.stopped) {
      console.error(`webpeft generate: stopped after ${Math.max(...out.tokens.map((t) => t.length))} of ${sampling.maxNewTokens} new tokens: ${out.stopped}`);
      return 1;
    }
    return 0;
  } finally {
    releaseBackend(backend);
  }
}

export const dumpHelp = `webpeft dump --model NAME|DIR [--adapter DIR] --text TEXT [--labels L] [--head lm|sequence-classification|token-classification]
              [--dtype f32|f64] [--allow-nonfinite] --out FILE.safetensors
  Writes logits, loss and the gradient of every trainable tensor (by HF key, or adapter key as method.*) for one
  input, so the numbers can be compared with PyTorch. GPT-2: LM loss on the text itself. BERT: --labels is the class
  id (sequence-classification) or comma-separated per-token ids (token-classification).`;

export async function dumpCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: {
    model: { type: 'string' }, adapter: { type: 'string' }, text: { type: 'string' }, labels: { type: 'string' },
    head: { type: 'string', default: 'sequence-classification' }, dtype: { type: 'string', default: 'f32' }, out: { type: 'string' },
    'allow-nonfinite': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  } });
  if (v.help) { console.log(dumpHelp); return 0; }
  if (!v.model || !v.text || !v.out) throw new Error('--model, --text and --out are required');
  if (v.dtype !== 'f32' && v.dtype !== 'f64') throw new Error(`--dtype must be f32 or f64, got '${v.dtype}'`);
  const backend = await selectBackend('cpu');
  const dtype = v.dtype;
  const config = await loadConfig(modelDir(v.model));
  if (config.modelType === 'bart') throw new Error(`${v.model}: dump reads GPT-2 and BERT models; BART is not supported by dump yet`);
  const isGpt = config.modelType === 'gpt2';
  const allowNonfinite = v['allow-nonfinite'] ?? false;
  const loaded = isGpt ? await loadGpt2(v.model, { backend, dtype, allowNonfinite })
    : await loadBert(v.model, { backend, dtype, head: v.head as BertHead, allowNonfinite });
  const { model, tokenizer } = loaded;
  const methods = v.adapter ? [(await loadAdapter(v.adapter, baseOf(model), { allowNonfinite })).method] : [];
  const peft = new PeftModel(model, methods);
  if (!v.adapter) for (const t of model.params.values()) t.requireGrad(true); // no adapter: every weight's gradient
  const ids = tokenizer.encode(v.text, { addSpecialTokens: !isGpt });
  const idsT = tensor(ids, [1, ids.length], { dtype: 'i32' });
  let labels: Tensor | undefined;
  if (isGpt) labels = idsT;
  else if (v.labels !== undefined) {
    const parts = v.labels.split(',').map(Number);
    if (parts.some((x) => !Number.isInteger(x))) throw new Error(`--labels must be integers, got '${v.labels}'`);
    labels = v.head === 'token-classification' ? tensor(parts, [1, parts.length], { dtype: 'i32' }) : tensor(parts, [1], { dtype: 'i32' });
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array | Float64Array }>();
  const floats = (t: Tensor) => (dtype === 'f64' ? Float64Array.from(t.dataSync()) : Float32Array.from(t.dataSync()));
  tidy(() => {
    const out = peft.forward({ ids: idsT, labels }) as { logits?: Tensor; loss?: Tensor };
    if (out.logits) tensors.set('logits', { shape: [...out.logits.shape], data: floats(out.logits) });
    if (out.loss) {
      tensors.set('loss', { shape: [], data: floats(out.loss) });
      backward(out.loss);
    }
  });
  tensors.set('input_ids', { shape: [1, ids.length], data: Float64Array.from(ids) });
  for (const t of model.params.values()) if (t.grad) tensors.set(`grad.${t.name}`, { shape: [...t.shape], data: floats(t.grad) });
  for (const m of methods) for (const [name, t] of m.params) if (t.grad) tensors.set(`grad.method.${name}`, { shape: [...t.shape], data: floats(t.grad) });
  const path = resolve(v.out);
  await mkdir(dirname(path), { recursive: true });
  await saveSafetensors(path, tensors, { model: v.model, text: v.text, dtype });
  console.log(`wrote ${tensors.size} tensors (logits, loss, ${[...tensors.keys()].filter((k) => k.startsWith('grad.')).length} gradients) to ${path}`);
  return 0;
}
