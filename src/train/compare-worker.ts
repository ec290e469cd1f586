/**
 * The worker-thread side of compare-workers.ts: runs one compare run at a time on the CPU backend, on this thread
 * alone (the pool of workers is the parallelism; a run inside it splits nothing further), and posts back its steps
 * and its result. Node only; built into dist/compare-worker.mjs next to the CLI bundle.
 */
import { parentPort } from 'node:worker_threads';
import { cpu } from '../kernels/cpu/index.js';
import { setCpuThreads } from '../kernels/cpu/pool.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { TASK_INFO } from './tasks.js';
import { loadFor, type RunOptions, type RunSpec } from './compare-run.js';
import { runSpec } from './compare-ensemble.js';

/** A job as posted: the run, and the compare's options without the backend and the callbacks. */
export interface WorkerJob { id: number; spec: RunSpec; seed: number; lr: number; options: Omit<RunOptions, 'backend' | 'onStep'> }

export type WorkerReply =
  | { id: number; kind: 'step'; step: number; loss: number; lr: number; seconds: number }
  | { id: number; kind: 'done'; run: Awaited<ReturnType<typeof runSpec>> }
  | { id: number; kind: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('compare-worker: not started as a worker thread');
setCpuThreads(1);
const tokenizers = new Map<string, TextTokenizer>();

port.on('message', (job: WorkerJob) => {
  void (async () => {
    try {
      const o: RunOptions = {
        ...job.options, backend: cpu,
        onStep: (_run, log) => port.postMessage({ id: job.id, kind: 'step', step: log.step, loss: log.loss, lr: log.lr, seconds: log.seconds } satisfies WorkerReply),
      };
      const key = `${o.task}\u0000${o.model ?? ''}`;
      let tokenizer = tokenizers.get(key);
      if (!tokenizer) {
        const loaded = await loadFor(TASK_INFO[o.task], o, job.seed);
        loaded.model.dispose();
        tokenizer = loaded.tokenizer;
        tokenizers.set(key, tokenizer);
      }
      const run = await runSpec(job.spec, job.seed, job.lr, o, tokenizer);
      port.postMessage({ id: job.id, kind: 'done', run } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ id: job.id, kind: 'error', message: e instanceof Error ? e.message : String(e) } satisfies WorkerReply);
    }
  })();
});
