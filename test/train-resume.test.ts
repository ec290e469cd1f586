/**
 * Resume ≡ uninterrupted: N steps in one run and k steps, a save, and a resume of the same folder for the
 * remaining N − k give the same losses and the same tensors — bit for bit on the CPU (f32), within rounding on
 * WebGPU. What must survive the save for that: the schedule over all N steps (warm-up included), AdamW's step
 * count and moments, the batches and dropout seeds of each absolute step, every tensor the method owns.
 * A training state that lacks or adds a tensor, or whose fields are garbage, is refused naming the field.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/autograd/backend.js';
import { parseSafetensors, serializeSafetensors } from '../src/io/safetensors.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { METHOD_NAMES, type MethodName } from '../src/peft/counts.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { loadAdapter, saveAdapter } from '../src/train/adapter-dir.js';
import { baseSignature } from '../src/train/base-check.js';
import { buildMethod, DEFAULT_LR, type MethodSettings } from '../src/train/methods.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { trainLoop, type TrainConfig } from '../src/train/trainer.js';
import { parseTrainingState, TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION } from '../src/train/training-state.js';
import { acquireGpu } from './helpers/gpu.js';
import { tinyBertDir } from './helpers/model-dirs.js';

const gpu = await acquireGpu();
afterAll(() => gpu?.destroy());
const dir = await tinyBertDir();
const work = mkdtempSync(join(tmpdir(), 'webpeft-resume-'));
const N = 6;
const K = 3;
const settings: MethodSettings = { virtualTokens: 3, hidden: 8, encoder: 'lstm', seed: 1 };
const data = { batchSize: 4, maxLength: 24, seed: 1 };

async function setUp(method: MethodName, backend: Backend) {
  const { model, tokenizer } = await loadBert(dir, { backend, head: 'sequence-classification', numLabels: 2, seed: 1 });
  const base = baseOf(model);
  return { model, base, task: makeTask('spam', tokenizer, data), method: await buildMethod(method, base, settings) };
}

const config = (method: MethodName): TrainConfig => ({ steps: N, lr: DEFAULT_LR[method], warmup: 2, weightDecay: 0.01, clip: 1, beta2: 0.999 });

/** Every trained tensor by saved key, read back. */
async function trained(peft: PeftModel, method: { params: Map<string, { data(): Promise<ArrayLike<number>> }> }) {
  const out = new Map<string, number[]>();
  for (const [name, t] of method.params) out.set(`method.${name}`, Array.from(await t.data()));
  for (const t of peft.base.params.trainable()) out.set(`base.${t.name}`, Array.from(await t.data()));
  return out;
}

async function uninterrupted(name: MethodName, backend: Backend) {
  const s = await setUp(name, backend);
  const peft = new PeftModel(s.model, [s.method]);
  const r = await trainLoop({ trainable: peft.trainable(), batch: (i) => s.task.batch(i), loss: (b, i) => s.task.loss(peft, b, i),
    config: config(name) });
  const tensors = await trained(peft, s.method);
  r.optimizer.dispose();
  s.model.dispose();
  return { losses: r.losses, tensors };
}

async function interrupted(name: MethodName, backend: Backend) {
  const out = join(work, `${name}-${backend.name}`);
  const first = await setUp(name, backend);
  const peft1 = new PeftModel(first.model, [first.method]);
  const c = config(name);
  const r1 = await trainLoop({ trainable: peft1.trainable(), batch: (i) => first.task.batch(i), loss: (b, i) => first.task.loss(peft1, b, i),
    config: c, stopAt: K });
  await saveAdapter(out, first.base, first.method, {
    format: TRAINING_STATE_FORMAT, version: TRAINING_STATE_VERSION, method: name, settings, task: 'spam', model: dir, step: K,
    optimizerStep: r1.optimizer.step_, schedule: { totalSteps: N, warmup: 2, lr: c.lr, weightDecay: 0.01, clip: 1, beta2: 0.999 }, data,
    base: await baseSignature(first.base, first.method),
  }, r1.optimizer, 'SEQ_CLS');
  r1.optimizer.dispose();
  first.model.dispose();

  const again = await setUp(name, backend); // a fresh process would see exactly this
  const loaded = await loadAdapter(out, again.base);
  const peft2 = new PeftModel(again.model, [loaded.method]);
  const r2 = await trainLoop({ trainable: peft2.trainable(), batch: (i) => again.task.batch(i), loss: (b, i) => again.task.loss(peft2, b, i),
    config: c,
    resume: { step: loaded.state!.step, optimizerStep: loaded.optimizerStep, moments: loaded.moments } });
  const tensors = await trained(peft2, loaded.method);
  r2.optimizer.dispose();
  again.model.dispose();
  return { losses: [...r1.losses, ...r2.losses], tensors, out };
}

const maxDiff = (a: Map<string, number[]>, b: Map<string, number[]>) => {
  let d = 0;
  for (const [k, xs] of a) xs.forEach((x, i) => { d = Math.max(d, Math.abs(x - b.get(k)![i])); });
  return d;
};

describe('resume ≡ uninterrupted', () => {
  for (const name of METHOD_NAMES) {
    {
      it(`${name} on the CPU: ${K} steps + resume for ${N - K} = ${N} steps, bit for bit`, async () => {
        const a = await uninterrupted(name, cpu);
        const b = await interrupted(name, cpu);
        expect(b.losses).toEqual(a.losses);
        expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
        console.log(`${name}: resume difference ${maxDiff(a.tensors, b.tensors)} (losses ${a.losses.map((x) => x.toFixed(4)).join(' ')})`);
        for (const [k, xs] of a.tensors) expect(b.tensors.get(k), k).toEqual(xs);
      });
    }
  }

  it.runIf(gpu)('prefix tuning on WebGPU: the same within f32 rounding', async () => {
    const a = await uninterrupted('prefix', gpu!);
    const b = await interrupted('prefix', gpu!);
    b.losses.forEach((l, i) => expect(Math.abs(l - a.losses[i])).toBeLessThan(1e-5));
    expect(maxDiff(a.tensors, b.tensors)).toBeLessThan(1e-5);
  });
});

describe('a training state is checked field by field and tensor by tensor', () => {
  const good = async () => (await interrupted('ptuning', cpu)).out;

  it('a missing tensor is an error naming it', async () => {
    const out = await good();
    const file = join(out, 'training_state.safetensors');
    const st = parseSafetensors(readFileSync(file), file);
    const kept = new Map([...st.tensors].filter(([k]) => k !== 'method.lstm_head.weight_ih_l0').map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }]));
    writeFileSync(file, serializeSafetensors(kept));
    const { base } = await setUp('ptuning', cpu);
    await expect(loadAdapter(out, base)).rejects.toThrow(/training_state.safetensors: method.lstm_head.weight_ih_l0: missing/);
  });

  it('an extra tensor is an error naming it', async () => {
    const out = await good();
    const file = join(out, 'training_state.safetensors');
    const st = parseSafetensors(readFileSync(file), file);
    const more = new Map([...st.tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.data as Float32Array }]));
    more.set('method.stray', { shape: [2], data: new Float32Array(2) });
    writeFileSync(file, serializeSafetensors(more));
    const { base } = await setUp('ptuning', cpu);
    await expect(loadAdapter(out, base)).rejects.toThrow(/training_state.safetensors: method.stray: not a tensor of a 'ptuning' adapter/);
  });

  it('every field is validated, naming the file and field', async () => {
    const out = await good();
    const json = JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8'));
    expect(parseTrainingState(json, 'S').step).toBe(K);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ optimizerStep: 'x' }, /^S: optimizerStep: must be an integer ≥ 0, found 'x'$/],
      [{ schedule: { ...json.schedule, lr: -1 } }, /^S: schedule.lr: must be a number > 0, found -1$/],
      [{ schedule: { ...json.schedule, totalSteps: 2.5 } }, /^S: schedule.totalSteps: must be an integer ≥ 1/],
      [{ step: 99 }, /^S: step: 99 is past schedule.totalSteps 6$/],
      [{ method: 'lora' }, /^S: method: unknown method 'lora' \(known: full, frozen, bitfit/],
      [{ settings: null }, /^S: settings: must be an object, found null$/],
      [{ data: { ...json.data, batchSize: 0 } }, /^S: data.batchSize: must be an integer ≥ 1, found 0$/],
      [{ format: null }, /^S: format: not a webpeft training state/],
      [{ version: 1 }, /^S: version: 1 is not 2/],
      [{ base: { ...json.base, family: 't5' } }, /^S: base.family: must be one of gpt2, bert/],
    ];
    for (const [patch, message] of bad) expect(() => parseTrainingState({ ...json, ...patch }, 'S')).toThrow(message);
    expect(() => parseTrainingState(null, 'S')).toThrow(/^S: \(root\): must be an object, found null$/);
  });
});
