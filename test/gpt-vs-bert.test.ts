/**
 * The verbalizer readout of `webpeft compare --ablation gpt-vs-bert`, checked against computations that do not go
 * through it: on gpt2-tiny the class scores are the LM head's logits of " ham" / " spam" (ln_f hidden · wte row,
 * done here in plain JS) at the position before the slot, and nothing after that position changes them; on bert-tiny
 * they are the masked-LM head's logits at the [MASK] found in the ids; the loss is the cross-entropy over the two
 * scores; the gradient reaches the prompt encoder and nothing of either model; both models read the same mail tokens.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../src/autograd/op.js';
import { backward } from '../src/autograd/tape.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import type { Batch } from '../src/data/datasets.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { buildMethod } from '../src/peft/registry.js';
import { readPositions, verbalizerIds } from '../src/peft/verbalizer.js';
import { gptVsBertTemplates, VERBALIZER_WORDS } from '../src/train/compare-gpt-vs-bert.js';
import { loadBert, loadGpt2 } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';
import { batchTensors } from '../src/train/trainer.js';

const P = 4;
const templates = gptVsBertTemplates(P);
type Laid = Batch & { layout: { kind: 'slots'; slots: Int32Array }; readAt: Int32Array };

async function values(t: Tensor): Promise<number[]> {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

/** Mean cross-entropy of (B, 2) scores against labels, in plain JS. */
function crossEntropy(scores: number[], labels: ArrayLike<number>): number {
  let total = 0;
  for (let b = 0; b < labels.length; b++) {
    const [a, c] = [scores[2 * b]!, scores[2 * b + 1]!];
    const m = Math.max(a, c);
    total += m + Math.log(Math.exp(a - m) + Math.exp(c - m)) - scores[2 * b + labels[b]!]!;
  }
  return total / labels.length;
}

const row = (b: Batch, r: number) => Array.from(b.ids.subarray(r * b.shape[1], (r + 1) * b.shape[1]));
const realLength = (b: Batch, r: number) => b.attentionMask.subarray(r * b.shape[1], (r + 1) * b.shape[1]).reduce((n, m) => n + m, 0);

describe('the verbalizer words and templates', () => {
  it('" ham" and " spam" are one token each in both embedded vocabularies; a longer word is refused naming it', async () => {
    for (const name of ['gpt2-tiny', 'bert-tiny'] as const) {
      const { tokenizer, model } = name === 'gpt2-tiny' ? await loadGpt2(name, { backend: cpu }) : await loadBert(name, { backend: cpu, head: 'masked-lm' });
      model.dispose();
      const ids = verbalizerIds(tokenizer, VERBALIZER_WORDS, name);
      expect(ids.map((id) => tokenizer.decode([id]))).toEqual(VERBALIZER_WORDS);
      expect(() => verbalizerIds(tokenizer, [' ham', ' junk'], name)).toThrow(/^verbalizer: " junk" is [2-9] tokens in (gpt2-tiny|bert-tiny) \(/);
      expect(() => verbalizerIds(tokenizer, [' ham', ' ham'], name)).toThrow(/two classes have the same token/);
    }
  });

  it('the P-tuning template splits P virtual tokens around the mail and keeps the anchor; P < 1 is refused', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), (p) => {
      const t = gptVsBertTemplates(p).ptuning;
      const counts = [...t.matchAll(/\{p:(\d+)\}/g)].map((m) => Number(m[1]));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(p);
      expect(counts[0]! - (counts[1] ?? 0)).toBeGreaterThanOrEqual(0);
      expect(counts[0]! - (counts[1] ?? 0)).toBeLessThanOrEqual(1);
      expect(t.endsWith('This mail is [MASK]')).toBe(true);
    }));
    expect(() => gptVsBertTemplates(0)).toThrow(/at least 1 virtual token, got --virtual-tokens 0/);
  });

  it('a causal LM reads the position before the slot, a masked LM the slot; no position before 0', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 8 }), (slots) => {
      const at = Int32Array.from(slots);
      expect(Array.from(readPositions(at, true))).toEqual(slots.map((p) => p - 1));
      expect(Array.from(readPositions(at, false))).toEqual(slots);
    }));
    expect(() => readPositions(Int32Array.from([3, 0]), true)).toThrow(/row 1 has its slot at 0/);
  });
});

describe('gpt2-tiny through its LM head', () => {
  it('class scores = ln_f hidden · wte row of each word at the position before the slot, computed apart; later tokens change nothing; loss = CE over the two', async () => {
    const { model, tokenizer } = await loadGpt2('gpt2-tiny', { backend: cpu, seed: 3 });
    const method = await buildMethod('ptuning', baseOf(model), { virtualTokens: P, seed: 5 });
    const peft = new PeftModel(model, [method]);
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 20, seed: 11, verbalizer: { template: templates.ptuning, words: VERBALIZER_WORDS, causal: true } });
    const batch = task.batch(0) as Laid;
    const [B, T] = batch.shape;
    const words = VERBALIZER_WORDS.map((w) => tokenizer.encode(w, { addSpecialTokens: false })[0]!);
    const anchor = tokenizer.encode('This mail is', { addSpecialTokens: false });
    const eos = tokenizer.specialTokenId('eos')!;
    const scores = await values(noGrad(() => tidy(() => task.classScores!(peft, batch))));
    expect(scores.length).toBe(2 * B);
    // the model's hidden states (after ln_f) and its tied embedding matrix, read back and multiplied here
    const t = batchTensors(batch, cpu, 'f32');
    const hidden = await values(noGrad(() => tidy(() => (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: batch.layout }) as { hidden: Tensor }).hidden)));
    const wte = Array.from(await model.params.tensor('wte.weight').data());
    const D = model.config.nEmbd;
    for (let b = 0; b < B; b++) {
      // the slot is the last real token (GPT-2 has no [SEP]), the anchor right before it
      const ids = row(batch, b);
      const slot = realLength(batch, b) - 1;
      expect(ids[slot]).toBe(eos);
      expect(ids.slice(slot - anchor.length, slot)).toEqual(anchor);
      expect(batch.readAt[b]).toBe(slot - 1);
      words.forEach((w, c) => {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += hidden[(b * T + slot - 1) * D + d]! * wte[w * D + d]!;
        expect(scores[2 * b + c]).toBeCloseTo(dot, 4);
      });
    }
    // causal: the slot's own token and the padding after it are never seen from the read position
    const changed: Laid = { ...batch, ids: Int32Array.from(batch.ids, (id, i) => (i % T >= batch.readAt[Math.floor(i / T)]! + 1 ? (id + 17) % 4000 : id)) };
    const again = await values(noGrad(() => tidy(() => task.classScores!(peft, changed))));
    again.forEach((s, i) => expect(s).toBeCloseTo(scores[i]!, 5));
    // … but a mail token before it does
    const firstMail = Array.from(batch.layout.slots.subarray(0, T)).findIndex((k, i) => k < 0 && i > 0 && batch.layout.slots[i - 1]! >= 0);
    const mailEdit: Laid = { ...batch, ids: Int32Array.from(batch.ids, (id, i) => (i === firstMail ? (id + 1) % 4000 : id)) };
    const edited = await values(noGrad(() => tidy(() => task.classScores!(peft, mailEdit))));
    expect(Math.abs(edited[0]! - scores[0]!) + Math.abs(edited[1]! - scores[1]!)).toBeGreaterThan(1e-6);
    // the training loss: the cross-entropy over the two words' scores of the same (dropout) pass
    const trainScores = await values(tidy(() => task.classScores!(peft, batch, { train: true, seed: 0 })));
    const loss = tidy(() => task.loss(peft, batch, 0));
    expect(await loss.item()).toBeCloseTo(crossEntropy(trainScores, batch.labels), 5);
    loss.dispose();
    method.params.dispose();
    model.dispose();
  }, 60_000);

  it('the gradient reaches every prompt-encoder tensor and no tensor of the model (body and LM head frozen)', async () => {
    for (const family of ['gpt2', 'bert'] as const) {
      const { model, tokenizer } = family === 'gpt2' ? await loadGpt2('gpt2-tiny', { backend: cpu, seed: 1 }) : await loadBert('bert-tiny', { backend: cpu, seed: 1, head: 'masked-lm' });
      const method = await buildMethod('ptuning', baseOf(model), { virtualTokens: P, seed: 2 });
      const peft = new PeftModel(model, [method]);
      const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 20, seed: 3, verbalizer: { template: templates.ptuning, words: VERBALIZER_WORDS, causal: family === 'gpt2' } });
      expect(model.params.trainable(), family).toEqual([]);
      expect(peft.trainable()).toEqual(method.params.trainable());
      expect(method.params.trainable().length).toBeGreaterThan(2); // LSTM + MLP tensors
      const loss = task.loss(peft, task.batch(0), 0);
      backward(loss);
      for (const [name, p] of method.params.list()) {
        const g = await values(p.grad!);
        expect(g.every(Number.isFinite), name).toBe(true);
        expect(g.some((x) => x !== 0), `${family} ${name}`).toBe(true);
        p.grad = null;
      }
      for (const [name, p] of model.params.list()) expect(p.grad, `${family} ${name}`).toBeNull();
      method.params.dispose();
      model.dispose();
    }
  }, 60_000);
});

describe('bert-tiny through its masked-LM head', () => {
  it('loads the pretrained MLM head; class scores = the model\u2019s logits of the two words at the [MASK] found in the ids', async () => {
    const { model, tokenizer } = await loadBert('bert-tiny', { backend: cpu, seed: 3, head: 'masked-lm' });
    expect(model.loadReport!.initialized).toEqual([]);
    const method = await buildMethod('ptuning', baseOf(model), { virtualTokens: P, seed: 5 });
    const peft = new PeftModel(model, [method]);
    const task = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 20, seed: 11, verbalizer: { template: templates.ptuning, words: VERBALIZER_WORDS, causal: false } });
    const batch = task.batch(2) as Laid;
    const [B, T] = batch.shape;
    const V = model.config.vocabSize;
    const words = VERBALIZER_WORDS.map((w) => tokenizer.encode(w, { addSpecialTokens: false })[0]!);
    const scores = await values(noGrad(() => tidy(() => task.classScores!(peft, batch))));
    const t = batchTensors(batch, cpu, 'f32');
    const logits = await values(noGrad(() => tidy(() => (peft.forward({ ids: t.ids, attentionMask: t.attentionMask, layout: batch.layout }) as { logits: Tensor }).logits)));
    for (let b = 0; b < B; b++) {
      const ids = row(batch, b);
      const mask = ids.indexOf(tokenizer.specialTokenId('mask')!);
      expect(ids.lastIndexOf(tokenizer.specialTokenId('mask')!)).toBe(mask);
      expect(ids[mask + 1]).toBe(tokenizer.specialTokenId('sep'));
      words.forEach((w, c) => expect(scores[2 * b + c]).toBeCloseTo(logits[(b * T + mask) * V + w]!, 5));
    }
    method.params.dispose();
    model.dispose();
  }, 60_000);

  it('both models read the same mails, the same tokens of each (max length − 2 of them), and no more', async () => {
    const gpt = await loadGpt2('gpt2-tiny', { backend: cpu });
    const bert = await loadBert('bert-tiny', { backend: cpu, head: 'masked-lm' });
    gpt.model.dispose();
    bert.model.dispose();
    const maxLength = 24;
    const mails = (tok: typeof gpt.tokenizer, causal: boolean) => {
      const task = makeTask('spam', tok, { batchSize: 8, maxLength, seed: 4, verbalizer: { template: templates.ptuning, words: VERBALIZER_WORDS, causal } });
      return [0, 1].flatMap((step) => {
        const b = task.batch(step) as Laid;
        const T = b.shape[1];
        return Array.from({ length: b.shape[0] }, (_, r) => {
          const slots = Array.from(b.layout.slots.subarray(r * T, (r + 1) * T));
          const start = slots.indexOf(P / 2 - 1) + 1; // after the first virtual block
          const end = slots.indexOf(P / 2); // the second begins
          return { label: b.labels[r], text: tok.decode(row(b, r).slice(start, end)), n: end - start };
        });
      });
    };
    const [g, bt] = [mails(gpt.tokenizer, true), mails(bert.tokenizer, false)];
    expect(g).toEqual(bt);
    expect(Math.max(...g.map((m) => m.n))).toBe(maxLength - 2);
  }, 60_000);
});
