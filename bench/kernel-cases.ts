/** Kernel rows: our backends' kernels called directly, next to the same op in tfjs. */
import type { Backend, MatmulParams, Storage } from '../src/autograd/backend.js';
import { Rng } from '../src/kernels/rng.js';
import { cpuThreads, setCpuThreads } from '../src/kernels/cpu/index.js';
import type { BenchCase, Runner } from './case.js';
import type { Tf } from './peers.js';

function randomF32(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** Inputs are made when a row runs, not when the case list is built (most runs filter most rows out). */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Uploads inputs, runs `kernel` and reads its first output back; releases everything it made. */
function oursRunner(backend: Backend, inputs: Float32Array[], kernel: (s: Storage[]) => { out: Storage; n: number; extra?: Storage[] }): Runner {
  const storages = inputs.map((x) => backend.upload(x, 'f32'));
  return {
    async run() {
      const { out, n, extra } = kernel(storages);
      await backend.read(out, n, 'f32');
      backend.release(out);
      for (const s of extra ?? []) backend.release(s);
    },
    dispose() { for (const s of storages) backend.release(s); },
  };
}

function tfRunner(tf: Tf, inputs: { data: Float32Array; shape: number[] }[], fn: (xs: ReturnType<Tf['tensor']>[]) => ReturnType<Tf['tensor']>): Runner {
  const xs = inputs.map((x) => tf.tensor(x.data, x.shape, 'float32'));
  return {
    async run() {
      const y = tf.tidy(() => fn(xs));
      await y.data();
      y.dispose();
    },
    dispose() { for (const x of xs) x.dispose(); },
  };
}

/** Runs `runner` with the CPU pool limited to `threads`, restoring the previous count after each run. */
function withThreads(threads: number, runner: Runner): Runner {
  return {
    async run() {
      const before = cpuThreads();
      setCpuThreads(threads);
      try { await runner.run(); } finally { setCpuThreads(before); }
    },
    dispose: () => runner.dispose(),
  };
}

function matmulCase(name: string, batch: number, M: number, K: number, N: number, transA: boolean, transB: boolean, threads?: number): BenchCase {
  const batchShape = batch > 1 ? [batch] : [];
  const aShape = [...batchShape, ...(transA ? [K, M] : [M, K])];
  const bShape = [...batchShape, ...(transB ? [N, K] : [K, N])];
  const data = lazy(() => ({ a: randomF32(batch * M * K, 1), b: randomF32(batch * K * N, 2) }));
  const p: MatmulParams = { batchA: batchShape, batchB: batchShape, batchOut: batchShape, M, K, N, transA, transB };
  const big = M * N * K * batch > 1024 ** 3;
  return {
    name, shape: `${batch > 1 ? `${batch}×` : ''}${M}×${K}×${N}`, flops: 2 * batch * M * N * K,
    // tfjs-cpu needs ~1–2 minutes per 2048³ product on this machine: six of them would dominate the whole bench
    noPeerOn: big ? ['cpu'] : [],
    ours: async (backend) => {
      const { a, b } = data();
      const runner = oursRunner(backend, [a, b], ([sa, sb]) => ({ out: backend.matmul(sa, sb, p, 'f32'), n: batch * M * N }));
      return threads === undefined ? runner : withThreads(threads, runner);
    },
    peer: async (tf) => tfRunner(tf, [{ data: data().a, shape: aShape }, { data: data().b, shape: bShape }], ([x, y]) => tf.matMul(x as never, y as never, transA, transB)),
  };
}

export function kernelCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const n of [256, 512, 1024, 2048]) cases.push(matmulCase('matmul', 1, n, n, n, false, false));
  // the same products on one thread: what the worker pool adds, under the same load
  for (const n of [256, 512, 1024, 2048]) cases.push({ ...matmulCase('matmul 1 thread', 1, n, n, n, false, false, 1), backends: ['cpu'] });
  for (const n of [512, 1024]) {
    cases.push(matmulCase('matmul transA', 1, n, n, n, true, false));
    cases.push(matmulCase('matmul transB', 1, n, n, n, false, true));
  }
  // attention: scores = q kᵀ (B·H, T, T), context = probs v (B·H, T, Dh); GPT-2-small-like heads
  for (const [bh, t, dh] of [[16, 128, 64], [12, 128, 64]] as const) {
    cases.push(matmulCase('attention q·kᵀ', bh, t, dh, t, false, true));
    cases.push(matmulCase('attention p·v', bh, t, t, dh, false, false));
  }
  cases.push(softmaxCase(16 * 128, 128), softmaxCase(128, 8192));
  cases.push(layernormCase(512, 768, false), layernormCase(512, 768, true));
  cases.push(adamwCase(1 << 22));
  return cases;
}

function softmaxCase(rows: number, cols: number): BenchCase {
  const input = lazy(() => randomF32(rows * cols, 3));
  return {
    name: 'softmax', shape: `${rows}×${cols}`,
    ours: async (backend) => oursRunner(backend, [input()], ([sx]) => ({ out: backend.softmax(sx, rows, cols, 'f32', false), n: rows * cols })),
    peer: async (tf) => tfRunner(tf, [{ data: input(), shape: [rows, cols] }], ([t]) => tf.softmax(t as never)),
  };
}

function layernormCase(rows: number, cols: number, backward: boolean): BenchCase {
  const data = lazy(() => ({ x: randomF32(rows * cols, 4), g: randomF32(rows * cols, 5), gamma: randomF32(cols, 6), beta: randomF32(cols, 7) }));
  const eps = 1e-5;
  const tfLayernorm = (tf: Tf, xt: ReturnType<Tf['tensor']>, gm: ReturnType<Tf['tensor']>, bt: ReturnType<Tf['tensor']>) => {
    const { mean, variance } = tf.moments(xt, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(xt, mean), tf.rsqrt(tf.add(variance, eps))), gm), bt);
  };
  return {
    name: backward ? 'layernorm bwd' : 'layernorm fwd', shape: `${rows}×${cols}`,
    ours: async (backend) => oursRunner(backend, [data().x, data().g, data().gamma, data().beta], ([sx, sg, sgamma, sbeta]) => {
      const f = backend.layernorm(sx, sgamma, sbeta, rows, cols, eps, 'f32');
      if (!backward) return { out: f.y, n: rows * cols, extra: [f.mean, f.rstd] };
      const d = backend.layernormBackward(sx, sg, sgamma, f.mean, f.rstd, rows, cols, 'f32', { dx: true, dgamma: true, dbeta: true });
      return { out: d.dx!, n: rows * cols, extra: [f.y, f.mean, f.rstd, d.dgamma!, d.dbeta!] };
    }),
    peer: async (tf) => tfRunner(tf, [{ data: data().x, shape: [rows, cols] }, { data: data().g, shape: [rows, cols] }, { data: data().gamma, shape: [cols] }, { data: data().beta, shape: [cols] }],
      ([xt, gt, gm, bt]) => {
        if (!backward) return tfLayernorm(tf, xt, gm, bt);
        const [dx] = tf.grads((a, b, c) => tf.mul(tfLayernorm(tf, a, b, c), gt))([xt, gm, bt]);
        return dx;
      }),
  };
}

function adamwCase(n: number): BenchCase {
  const data = lazy(() => ({ param: randomF32(n, 8), grad: randomF32(n, 9) }));
  const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, bias1: 0.1, bias2: 0.001 };
  return {
    name: 'adamw', shape: `${n}`,
    ours: async (backend) => {
      const { param, grad } = data();
      const [sp, sg, sm, sv] = [param, grad, new Float32Array(n), new Float32Array(n)].map((x) => backend.upload(x, 'f32'));
      return {
        async run() { backend.adamw(sp, sg, sm, sv, n, hp, 'f32'); await backend.read(sp, n, 'f32'); },
        dispose() { for (const s of [sp, sg, sm, sv]) backend.release(s); },
      };
    },
    // tfjs has no AdamW kernel: the same update as variables and ops (what a tfjs user would write)
    peer: async (tf) => {
      const { param, grad } = data();
      const p = tf.variable(tf.tensor1d(param));
      const m = tf.variable(tf.zeros([n]));
      const v = tf.variable(tf.zeros([n]));
      const g = tf.tensor1d(grad);
      return {
        async run() {
          tf.tidy(() => {
            m.assign(tf.add(tf.mul(m, hp.beta1), tf.mul(g, 1 - hp.beta1)));
            v.assign(tf.add(tf.mul(v, hp.beta2), tf.mul(tf.square(g), 1 - hp.beta2)));
            const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(hp.bias2)), hp.eps);
            p.assign(tf.sub(tf.mul(p, 1 - hp.lr * hp.weightDecay), tf.div(tf.mul(m, hp.lr / hp.bias1), denom)));
          });
          await p.data();
        },
        dispose() { for (const t of [p, m, v, g]) t.dispose(); },
      };
    },
  };
}
