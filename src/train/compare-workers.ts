/**
 * Runs compare's runs in worker threads, one run per worker at a time, each on the CPU backend on its own thread.
 * A run is a few hundred small steps whose matmuls are too small to split well across cores (bench/README.md), so
 * running independent runs side by side uses the machine's cores far better than splitting each kernel. A run's
 * numbers do not depend on where it ran (the CPU kernels split on output rows only; test/compare-workers.test.ts).
 * Node only.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RunRunner } from './compare.js';
import type { OneRun } from './compare-run.js';
import type { WorkerJob, WorkerReply } from './compare-worker.js';

/** The worker bundle: WEBPEFT_COMPARE_WORKER, else dist/compare-worker.mjs beside the CLI bundle; null if absent. */
export function compareWorkerPath(): string | null {
  const env = process.env.WEBPEFT_COMPARE_WORKER;
  if (env) return env;
  // the CLI bundle's neighbour (dist/compare-worker.mjs), or the compiled library's own module (dist/lib/train/)
  for (const name of ['./compare-worker.mjs', './compare-worker.js']) {
    const here = fileURLToPath(new URL(name, import.meta.url));
    if (existsSync(here)) return here;
  }
  return null;
}

/** How many runs to execute at once by default: one per core. */
export const defaultRunWorkers = (): number => availableParallelism();

export interface WorkerRunner { runner: RunRunner; close: () => Promise<void> }

/** A runner over up to `n` worker threads (started on first use, kept until `close`). */
export function workerRunner(n: number, path: string): WorkerRunner {
  const idle: Worker[] = [];
  const all: Worker[] = [];
  let next = 0;
  const take = (): Worker => {
    const w = idle.pop();
    if (w) return w;
    if (all.length >= n) throw new Error(`compare workers: more than ${n} runs at once`);
    const fresh = new Worker(path);
    all.push(fresh);
    return fresh;
  };
  const runner: RunRunner = (spec, seed, lr, o) => new Promise<OneRun>((resolve, reject) => {
    const w = take();
    const id = next++;
    const job: WorkerJob = {
      id, spec, seed, lr,
      options: { task: o.task, model: o.model, steps: o.steps, evalEvery: o.evalEvery, patience: o.patience, minSteps: o.minSteps, batchSize: o.batchSize, maxLength: o.maxLength, evalLimit: o.evalLimit },
    };
    const onError = (e: Error) => { cleanup(); all.splice(all.indexOf(w), 1); reject(new Error(`compare worker (${spec.label}, seed ${seed}): ${e.message}`)); };
    const onMessage = (m: WorkerReply) => {
      if (m.id !== id) return;
      if (m.kind === 'step') {
        o.onStep?.(spec.label, { step: m.step, loss: m.loss, lr: m.lr, seconds: m.seconds }, o.steps);
        return;
      }
      cleanup();
      idle.push(w);
      if (m.kind === 'done') resolve(m.run);
      else reject(new Error(m.message));
    };
    const cleanup = () => { w.off('message', onMessage); w.off('error', onError); };
    w.on('message', onMessage);
    w.on('error', onError);
    w.postMessage(job);
  });
  return { runner, close: async () => { await Promise.all(all.map((w) => w.terminate())); } };
}
