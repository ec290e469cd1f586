/**
 * A task tokenizes each text once per tokenizer: a second task built on the same tokenizer (compare's worker builds
 * one per run) encodes nothing again and gives the same batches, and a text's ids are the tokenizer's.
 */
import { describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { loadBert } from '../src/train/model-dir.js';
import { makeTask } from '../src/train/tasks.js';

describe('task tokenization cache', () => {
  it('a second spam task on the same tokenizer calls encode for no text, with the same batches', async () => {
    const { tokenizer, model } = await loadBert('bert-tiny', { backend: cpu, seed: 1, head: 'sequence-classification', numLabels: 2 });
    model.dispose();
    const seen: string[] = [];
    const plain = tokenizer.encode.bind(tokenizer);
    tokenizer.encode = (text, o) => { seen.push(text); return plain(text, o); };
    const a = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16, seed: 5 });
    const batchesA = [0, 1, 7].map((s) => a.batch(s));
    const first = seen.length;
    expect(first).toBeGreaterThan(0);
    const b = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16, seed: 5 });
    const batchesB = [0, 1, 7].map((s) => b.batch(s));
    expect(seen.length).toBe(first);
    expect(batchesB.map((x) => Array.from(x.ids))).toEqual(batchesA.map((x) => Array.from(x.ids)));
    // another seed's order reaches other mails: only those are encoded
    const c = makeTask('spam', tokenizer, { batchSize: 4, maxLength: 16, seed: 6 });
    c.batch(0);
    expect(new Set(seen).size).toBe(seen.length);
    // the ids in a batch are the tokenizer's own (after [CLS], cut to the length)
    const text = seen[0]!;
    expect(plain(text, { addSpecialTokens: false }).length).toBeGreaterThan(0);
  });
});
