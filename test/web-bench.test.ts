/**
 * The page's DOM-free parts in Node: the stored zip the adapter downloads come in (read back by an independent
 * CRC), and the attention-to-virtual-tokens panel's numbers — per layer, the mean over heads, rows and real query
 * positions of the probability on each virtual token — for a per-layer prefix and for template slots.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../src/autograd/op.js';
import { tensor } from '../src/autograd/create.js';
import { tidy, type Tensor } from '../src/autograd/tensor.js';
import { parseBertConfig } from '../src/io/config.js';
import { Bert } from '../src/models/bert.js';
import { baseOf } from '../src/peft/base.js';
import { PeftModel } from '../src/peft/peft-model.js';
import { pTuningV2 } from '../src/peft/p-tuning-v2.js';
import { promptTuning } from '../src/peft/prompt-tuning.js';
import type { VirtualLayout } from '../src/peft/hooks.js';
import type { Batch } from '../src/data/datasets.js';
import { virtualAttention } from '../web/bench.js';
import { unzipStored, zipStored } from '../web/zip.js';
import { matmul } from '../src/autograd/functions.js';
import { cpu, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool, startCpuPool } from '../src/kernels/cpu/pool.js';
import { runCli } from './helpers/cli.js';

describe('the page\'s CPU pool, started ahead (startCpuPool), and --train-limit', () => {
  it('starts threads − 1 workers and resolves once they run; a threaded matmul then uses them and equals one thread bit for bit', async () => {
    const [M, K, N] = [96, 128, 64];
    const a = tensor(Float32Array.from({ length: M * K }, (_, i) => Math.sin(i)), [M, K], { backend: cpu });
    const b = tensor(Float32Array.from({ length: K * N }, (_, i) => Math.cos(i)), [K, N], { backend: cpu });
    try {
      setCpuThreads(1);
      const one = Float32Array.from(matmul(a, b).dataSync());
      setCpuThreads(3, { minWork: 1 });
      expect(await startCpuPool()).toBe(2);
      expect(cpuPoolInfo()).toMatchObject({ threads: 3, workers: 2, broken: null });
      expect(await startCpuPool()).toBe(2); // already running: the same workers
      const jobs = cpuPoolInfo().workerJobs;
      const three = Float32Array.from(matmul(a, b).dataSync());
      expect(cpuPoolInfo().workerJobs).toBeGreaterThan(jobs);
      expect(Array.from(three)).toEqual(Array.from(one));
    } finally {
      setCpuThreads(1);
      shutdownCpuPool();
      a.dispose();
      b.dispose();
    }
  });

  it('--train-limit below the batch size is a one-line error; a limited run saves its limit in the training state', async () => {
    const bad = await runCli('train', '--task', 'tokens', '--method', 'bitfit', '--steps', '1', '--batch-size', '8', '--train-limit', '4', '--out', '/nonexistent/x');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/train limit 4 is below the batch size 8/);
    const out = mkdtempSync(join(tmpdir(), 'webpeft-limit-'));
    try {
      const r = await runCli('train', '--task', 'tokens', '--method', 'bitfit', '--steps', '2', '--stop-after', '1', '--batch-size', '4', '--max-length', '16',
        '--train-limit', '4', '--eval-limit', '4', '--out', out);
      expect(r.code, r.err).toBe(0);
      const state = JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8')) as { data: Record<string, number> };
      expect(state.data).toEqual({ batchSize: 4, maxLength: 16, seed: 42, trainLimit: 4 });
      const conflict = await runCli('train', '--resume', out, '--train-limit', '8', '--out', out);
      expect(conflict.code).not.toBe(0);
      expect(conflict.err).toMatch(/--train-limit 8 \(saved: 4\) contradict/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the stored zip of the adapter download', () => {
  it('reads back every file, each with the CRC-32 Node computes, under the folder', () => {
    const files: Record<string, Uint8Array> = {
      'adapter_config.json': new TextEncoder().encode('{"peft_type": "PREFIX_TUNING"}\n'),
      'adapter_model.safetensors': Uint8Array.from({ length: 70_001 }, (_, i) => (i * 2654435761) >>> 24),
      'empty.txt': new Uint8Array(0),
    };
    const zip = zipStored(files, 'ptuning-v2-spam-1');
    const back = unzipStored(zip);
    expect([...back.keys()]).toEqual(Object.keys(files).map((f) => `ptuning-v2-spam-1/${f}`));
    for (const [name, data] of Object.entries(files)) expect(Array.from(back.get(`ptuning-v2-spam-1/${name}`)!)).toEqual(Array.from(data));
    // the central directory's CRCs, read here without the page's code, are zlib's
    const view = new DataView(zip.buffer, zip.byteOffset);
    let at = view.getUint32(zip.length - 22 + 16, true);
    for (const data of Object.values(files)) {
      expect(view.getUint32(at + 16, true)).toBe(crc32(data));
      at += 46 + view.getUint16(at + 28, true);
    }
  });

  it('refuses a compressed entry and a damaged one, naming the file', () => {
    const zip = zipStored({ 'a.json': new TextEncoder().encode('{}') }, 'x');
    const compressed = zip.slice();
    const central = new DataView(compressed.buffer).getUint32(compressed.length - 22 + 16, true);
    new DataView(compressed.buffer).setUint16(central + 10, 8, true); // method: deflate
    expect(() => unzipStored(compressed, 'up.zip')).toThrow(/up\.zip: x\/a\.json is compressed \(method 8\)/);
    const damaged = zip.slice();
    damaged[30 + 'x/a.json'.length] ^= 1; // a byte of the file's data
    expect(() => unzipStored(damaged, 'up.zip')).toThrow(/up\.zip: x\/a\.json is damaged/);
    expect(() => unzipStored(new Uint8Array(40), 'up.zip')).toThrow(/not a zip archive/);
  });
});

describe('attention from real positions to the virtual tokens', () => {
  const config = parseBertConfig({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 32 });
  const [B, T] = [2, 6];
  const ids = Int32Array.from([1, 4, 5, 6, 7, 2, 1, 8, 9, 2, 0, 0]);
  const mask = Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  const batch = (layout?: VirtualLayout): Batch & { layout?: VirtualLayout } =>
    ({ ids, attentionMask: mask, labels: Int32Array.from([0, 1]), shape: [B, T], labelShape: [B], layout });

  /** The definition, spelled out: probs (B, H, T', S) from the observer; `cols(b)` the key column of each virtual token. */
  function expected(peft: PeftModel, layout: VirtualLayout | undefined, real: (b: number, i: number) => boolean, cols: (b: number) => number[]) {
    const seen: { shape: readonly number[]; v: Float32Array }[] = [];
    noGrad(() => tidy(() => {
      peft.forward({ ids: tensor(ids, [B, T], { dtype: 'i32' }), attentionMask: tensor(Float32Array.from(mask), [B, T]), layout,
        onAttention: (_l: number, p: Tensor) => { seen.push({ shape: p.shape, v: Float32Array.from(p.dataSync()) }); } });
    }));
    return seen.map(({ shape: [, H, Tq, S], v }) => {
      const out = new Float64Array(cols(0).length);
      let n = 0;
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tq; i++) {
        if (!real(b, i)) continue;
        n++;
        cols(b).forEach((c, k) => { out[k] += v[((b * H + h) * Tq + i) * S + c]; });
      }
      return Array.from(out, (x) => x / n);
    });
  }

  it('P-tuning v2: the prefix keys come first at every layer; padding queries do not count', async () => {
    const model = Bert.init(config, { seed: 3, dtype: 'f32', head: 'sequence-classification' });
    const peft = new PeftModel(model, [pTuningV2(baseOf(model), { numVirtualTokens: 3, seed: 1 })]);
    const a = await virtualAttention(peft, batch());
    expect(a.tokens).toEqual(['kv0', 'kv1', 'kv2']);
    const want = expected(peft, undefined, (b, i) => mask[b * T + i] === 1, () => [0, 1, 2]);
    expect(a.values.length).toBe(2);
    a.values.forEach((row, l) => row.forEach((x, k) => expect(x).toBeCloseTo(want[l][k], 6)));
    a.share.forEach((s, l) => expect(s).toBeCloseTo(a.values[l].reduce((x, y) => x + y, 0), 12));
    model.dispose();
  });

  it('prompt tuning in template slots: each token read at its slot, slot positions are not queries', async () => {
    const model = Bert.init(config, { seed: 4, dtype: 'f32', head: 'sequence-classification' });
    const peft = new PeftModel(model, [await promptTuning(baseOf(model), { numVirtualTokens: 2, seed: 2 })]);
    // row 0: slots at positions 1 and 4; row 1: at 2 and 1 (order within a row is the template's)
    const slots = Int32Array.from([-1, 0, -1, -1, 1, -1, -1, 1, 0, -1, -1, -1]);
    const a = await virtualAttention(peft, batch({ kind: 'slots', slots }));
    expect(a.tokens).toEqual(['p0', 'p1']);
    const want = expected(peft, { kind: 'slots', slots }, (b, i) => mask[b * T + i] === 1 && slots[b * T + i] < 0, (b) => (b === 0 ? [1, 4] : [2, 1]));
    a.values.forEach((row, l) => row.forEach((x, k) => expect(x).toBeCloseTo(want[l][k], 6)));
    for (const s of a.share) { expect(s).toBeGreaterThan(0); expect(s).toBeLessThan(1); }
    model.dispose();
  });
});
