/**
 * The CPU backend's worker pool: splits a big kernel's output rows between threads and blocks until all are done,
 * because the backend's API is synchronous (readSync). The calling thread computes the first range itself and then
 * waits with Atomics.wait on one flag per worker.
 *
 * Where threads exist:
 *   - Node: worker_threads (unref'd, so a process still exits when its work is done).
 *   - Browser: Web Workers, only in a cross-origin-isolated context (SharedArrayBuffer) and only when this code runs
 *     in a worker itself — a page's main thread may not Atomics.wait. Anywhere else: one thread.
 * Thread count: `setCpuThreads(n)`, else WEBPEFT_THREADS (Node), else the number of cores.
 *
 * How workers get their code: the kernels they run (threaded-kernels.ts) are self-contained functions, and the worker's
 * source is built from their own text (`String(fn)`), so the same source works under vitest (TypeScript compiled on
 * the fly), in the esbuild bundles (dist/cli.mjs, the browser bundle) and in a page, with no worker file to locate
 * and no bundler configuration. The price: a threaded kernel may use nothing outside its own body.
 *
 * Memory: kernels run on typed arrays over SharedArrayBuffer (see storage.ts: big storages are allocated shared);
 * an operand that is not shared is copied into one before a threaded run.
 */
import { BackendError } from '../../autograd/backend.js';
import type { ThreadedKernel } from './threaded-kernels.js';

type KernelTable = Record<ThreadedKernel, (...args: never[]) => void>;
let registered: KernelTable | null = null;
let helpers: readonly ((...args: never[]) => unknown)[] = [];

/**
 * The kernels threads can run and the helper functions they call (threaded-kernels.ts), handed over by the CPU
 * backend (index.ts). The pool imports no kernel file, so the kernel files can import the pool without an import
 * cycle.
 */
export function registerThreadedKernels(table: KernelTable, helperFunctions: readonly ((...args: never[]) => unknown)[] = []): void {
  registered = table;
  helpers = helperFunctions;
}

function threadedKernels(): KernelTable {
  if (!registered) throw new BackendError('cpu pool: no threaded kernels registered (the CPU backend, kernels/cpu/index.ts, registers them)');
  return registered;
}

/** What one worker needs: post a message, and let the process exit while it idles. */
interface PoolWorker { post(message: unknown): void; unref(): void; terminate(): void }

interface Pool { workers: PoolWorker[] }

const WAIT_LIMIT_MS = 10 * 60 * 1000;
const CHUNKS_PER_THREAD = 4;
/** Multiply-adds (or element updates) below which a kernel is not worth a thread: a job round trip costs ~0.1 ms. */
const DEFAULT_MIN_WORK = 1 << 18;
let minWork = DEFAULT_MIN_WORK;
let requestedThreads: number | null = null;
let pool: Pool | null = null;
let poolBroken: string | null = null;
let workerJobs = 0;

/**
 * Sets the thread count for later kernels (1 = no workers) and, optionally, the work per thread below which a
 * kernel runs on fewer threads (tests set it to 1 to split even tiny kernels).
 */
export function setCpuThreads(n: number, o: { minWork?: number } = {}): void {
  if (!Number.isInteger(n) || n < 1) throw new BackendError(`cpu threads: expected a positive integer, got ${n}`);
  requestedThreads = n;
  minWork = o.minWork ?? DEFAULT_MIN_WORK;
}

/** What the pool has done (workerJobs: chunks computed by workers): a pool that fell back to one thread shows here. */
export function cpuPoolInfo(): { threads: number; workers: number; workerJobs: number; broken: string | null } {
  return { threads: cpuThreads(), workers: pool?.workers.length ?? 0, workerJobs, broken: poolBroken };
}

/** How many threads a kernel of `work` units should use: all of them once each gets at least minWork. */
export function threadsFor(work: number): number {
  return Math.max(1, Math.min(cpuThreads(), Math.floor(work / minWork)));
}

/** The number of threads big kernels are split across (1 where threads are unavailable). */
export function cpuThreads(): number {
  if (!threadsPossible()) return 1;
  if (requestedThreads !== null) return requestedThreads;
  const env = nodeProcess()?.env?.WEBPEFT_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new BackendError(`WEBPEFT_THREADS: expected a positive integer, got '${env}'`);
    return n;
  }
  return defaultThreads();
}

/**
 * Starts the pool's workers now, ahead of the first threaded kernel, and resolves once every one of them runs
 * (Node: its 'online' event; a browser: its first message) to the number of pool workers (0 where threads are
 * unavailable or they did not start: then kernels run on one thread, and cpuPoolInfo().broken says why).
 * Where a worker cannot start while its parent blocks — a Web Worker's own workers — this is required: a pool
 * spawned inside runThreaded, which blocks in Atomics.wait, would never start there. Elsewhere it is optional.
 */
export async function startCpuPool(o: { timeoutMs?: number } = {}): Promise<number> {
  const extra = cpuThreads() - 1;
  if (extra < 1) return 0;
  if (pool && pool.workers.length >= extra) return pool.workers.length;
  shutdownCpuPool();
  const workers: StartingWorker[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const source = workerSource();
    for (let i = 0; i < extra; i++) workers.push(spawn(source));
    const timeout = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`cpu pool: ${extra} workers did not start within ${(o.timeoutMs ?? 30_000) / 1000} s`)), o.timeoutMs ?? 30_000);
    });
    await Promise.race([Promise.all(workers.map((w) => w.started())), timeout]);
    pool = { workers };
    return extra;
  } catch (e) {
    for (const w of workers) w.terminate();
    poolBroken = e instanceof Error ? e.message : String(e);
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

/** Terminates the workers (a later threaded kernel starts new ones). */
export function shutdownCpuPool(): void {
  if (!pool) return;
  for (const w of pool.workers) w.terminate();
  pool = null;
}

/**
 * Runs threadedKernels()[kernel](...args, g0, g1) over [0, total), split between up to `parts` threads. The range
 * is cut into chunks (bounds multiples of `align`, at least `minChunk` long, about CHUNKS_PER_THREAD per thread):
 * chunk w is thread w's own first chunk, the rest go to whichever thread asks next (an atomic counter), so a
 * worker the OS has descheduled (a loaded machine) delays the call by one chunk, not by its whole share. This
 * thread takes part and then waits until every chunk is done. Which thread computes a chunk never changes its
 * result: kernels split on output rows/elements only.
 *
 * `writes` lists the arguments the kernel writes: unless all of them are SharedArrayBuffer-backed (callers
 * allocate outputs so), the whole range runs on this thread; read-only arrays that are not shared are copied to
 * shared memory here.
 */
export function runThreaded(kernel: ThreadedKernel, args: unknown[], total: number, parts: number,
  o: { align?: number; minChunk?: number; writes: readonly number[] }): void {
  const fn = threadedKernels()[kernel] as (...xs: unknown[]) => void;
  const align = o.align ?? 1;
  const chunkCount = Math.min(parts * CHUNKS_PER_THREAD, Math.floor(total / Math.max(align, o.minChunk ?? 1)));
  const bounds = splitRange(total, chunkCount, align);
  const chunks = bounds.length - 1;
  const threads = Math.min(parts, chunks);
  const p = threads > 1 && o.writes.every((i) => isShared(args[i])) ? acquirePool(threads - 1) : null;
  if (!p) { fn(...args, 0, total); return; }
  const shared = args.map(toShared);
  // control words of this call: [next free chunk, chunks done, failures, chunks run by workers]
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  ctl[0] = threads;
  const job = { kernel, args: shared, bounds, threads, ctl };
  for (let w = 1; w < threads; w++) p.workers[w - 1].post({ ...job, first: w });
  for (let c = 0; c < chunks; c = Atomics.add(ctl, 0, 1)) {
    fn(...shared, bounds[c], bounds[c + 1]);
    Atomics.add(ctl, 1, 1);
  }
  for (let done = Atomics.load(ctl, 1); done < chunks; done = Atomics.load(ctl, 1)) {
    if (Atomics.wait(ctl, 1, done, WAIT_LIMIT_MS) === 'timed-out') {
      shutdownCpuPool();
      throw new BackendError(`cpu workers did not finish ${kernel} within ${WAIT_LIMIT_MS / 1000} s`);
    }
  }
  workerJobs += Atomics.load(ctl, 3);
  if (Atomics.load(ctl, 2) !== 0) {
    shutdownCpuPool();
    throw new BackendError(`a cpu worker failed in ${kernel} (its error is on stderr)`);
  }
}

/** [0, b1, …, total]: `parts` ranges with interior bounds rounded down to multiples of align, empty ones dropped. */
export function splitRange(total: number, parts: number, align: number): number[] {
  const bounds = [0];
  for (let w = 1; w < parts; w++) {
    const cut = Math.floor((total * w) / parts / align) * align;
    if (cut > bounds[bounds.length - 1] && cut < total) bounds.push(cut);
  }
  bounds.push(total);
  return bounds;
}

function isShared(x: unknown): boolean {
  return ArrayBuffer.isView(x) && x.buffer instanceof SharedArrayBuffer;
}

function toShared(x: unknown): unknown {
  if (!(x instanceof Float32Array || x instanceof Float64Array || x instanceof Int32Array)) return x;
  if (x.buffer instanceof SharedArrayBuffer) return x;
  const copy = new (x.constructor as Float32ArrayConstructor)(new SharedArrayBuffer(x.byteLength));
  copy.set(x as Float32Array);
  return copy;
}

// ---- where threads come from

interface NodeProcessLike {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

function nodeProcess(): NodeProcessLike | undefined {
  const p = (globalThis as { process?: NodeProcessLike }).process;
  return p?.versions?.node ? p : undefined;
}

function inBrowserWorker(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; crossOriginIsolated?: boolean; Worker?: unknown };
  return g.WorkerGlobalScope !== undefined && g.crossOriginIsolated === true && typeof g.Worker === 'function';
}

function threadsPossible(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  return poolBroken === null && (nodeProcess()?.getBuiltinModule !== undefined || inBrowserWorker());
}

function defaultThreads(): number {
  const os = nodeProcess()?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const n = os?.availableParallelism?.() ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(n ?? 1, 64));
}

function acquirePool(extra: number): Pool | null {
  if (pool && pool.workers.length >= extra) return pool;
  shutdownCpuPool();
  try {
    const source = workerSource();
    const workers: PoolWorker[] = [];
    for (let i = 0; i < extra; i++) workers.push(spawn(source));
    pool = { workers };
    return pool;
  } catch (e) {
    poolBroken = e instanceof Error ? e.message : String(e);
    return null;
  }
}

/** A pool worker and, for startCpuPool, a promise (made on request) that it runs. */
type StartingWorker = PoolWorker & { started(): Promise<void> };

function spawn(source: string): StartingWorker {
  type NodeWorker = { postMessage(m: unknown): void; unref(): void; terminate(): unknown; once(e: string, f: (x?: unknown) => void): void };
  const wt = nodeProcess()?.getBuiltinModule?.('node:worker_threads') as { Worker: new (src: string, o: { eval: boolean }) => NodeWorker } | undefined;
  if (wt) {
    const w = new wt.Worker(source, { eval: true });
    w.unref();
    return { post: (m) => w.postMessage(m), unref: () => w.unref(), terminate: () => void w.terminate(),
      started: () => new Promise((ok, fail) => { w.once('online', () => ok()); w.once('error', fail); }) };
  }
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const w = new Worker(url);
  return { post: (m) => w.postMessage(m), unref: () => {}, terminate: () => w.terminate(),
    started: () => new Promise((ok, fail) => {
      w.addEventListener('message', () => ok(), { once: true });
      w.addEventListener('error', (e) => fail(new Error(`cpu pool: a worker failed to start (${e.message})`)), { once: true });
    }) };
}

/**
 * The worker's whole program: the helpers' and the kernels' own source text plus a message loop that raises a flag
 * when done. A helper is declared under the name its text gives it, which is the name its callers' text uses (a
 * bundler that renames one renames both).
 */
function workerSource(): string {
  const kernels = Object.entries(threadedKernels()).map(([name, fn]) => `${JSON.stringify(name)}: ${String(fn)}`);
  return `'use strict';
${helpers.map(String).join('\n')}
const KERNELS = {
${kernels.join(',\n')}
};
function onJob(job) {
  const { ctl, bounds } = job;
  const chunks = bounds.length - 1;
  const kernel = KERNELS[job.kernel];
  for (let c = job.first; c < chunks; c = Atomics.add(ctl, 0, 1)) {
    try { kernel(...job.args, bounds[c], bounds[c + 1]); Atomics.add(ctl, 3, 1); }
    catch (e) { Atomics.add(ctl, 2, 1); console.error('webpeft cpu worker:', e); }
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}
if (typeof require === 'function') require('worker_threads').parentPort.on('message', onJob); // a Node worker (eval'd CommonJS)
else { self.onmessage = (e) => onJob(e.data); self.postMessage('started'); } // a Web Worker: startCpuPool waits for this
`;
}
