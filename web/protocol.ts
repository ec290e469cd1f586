/**
 * What the page and its training worker (web/worker.ts) say to each other. The page's main thread never trains:
 * the CPU backend blocks (readSync, its worker pool's Atomics.wait), which a page's main thread may not, and a
 * long WebGPU run would still starve the page of paints. So the worker holds the backend and every trained run; the
 * page sends requests and draws what comes back — progress events while a request runs, then its result.
 */
import type { BackendName, Evaluation } from 'webpeft';
import type { BiasDelta, RunSettings, VirtualAttention } from './bench.js';
import type { ParityRow } from './run.js';

/** The model of a run: the task's embedded one, or the files of an HF folder the user picked. */
export type ModelChoice = { kind: 'embedded' } | { kind: 'local'; files: File[] };

export interface InitResult {
  backend: BackendName;
  /** The backend's one-line description (the adapter, for WebGPU). */
  adapter: string;
  /** Why WebGPU was not used although asked for (then backend is 'cpu'). */
  fellBack?: string;
  gpu?: { adapter: string; features: string };
  /** The CPU backend's threads: this worker plus its pool's workers (0 without a pool), and why a pool did not start. */
  cpu: { threads: number; poolWorkers: number; broken: string | null };
}

/** One finished run, as the worker reports it; `index` names it in later requests. */
export interface RunResult {
  index: number; label: string; modelName: string; losses: number[]; seconds: number; stepsPerSecond: number;
  trainable: number; percent: number; metric: string; validation: Evaluation; deltas: BiasDelta[]; attention: VirtualAttention | null;
  /** Chunks of threaded CPU kernels computed by pool workers during this run (0 on WebGPU or one thread). */
  workerJobs: number;
}

export interface UploadResult { kind: string; metric: string; evaluation: Evaluation }

export type Request =
  | { kind: 'init'; backend: BackendName; threads?: number; root: string }
  | { kind: 'train'; settings: RunSettings; model: ModelChoice }
  | { kind: 'files'; run: number }
  | { kind: 'generate'; run: number; prompt: string; maxNewTokens: number }
  | { kind: 'evaluate'; files: Record<string, Uint8Array>; settings: RunSettings; model: ModelChoice }
  | { kind: 'parity'; cases: number };

export interface Results {
  init: InitResult; train: RunResult; files: Record<string, Uint8Array>; generate: string; evaluate: UploadResult; parity: ParityRow[];
}

export type Progress =
  | { kind: 'step'; step: number; loss: number; losses: number[]; seconds: number; label: string; trainable: number; percent: number }
  | { kind: 'deltas'; rows: BiasDelta[]; step: number }
  | { kind: 'attention'; attention: VirtualAttention; step: number }
  | { kind: 'parity-row'; row: ParityRow };

export type Reply =
  | { id: number; progress: Progress }
  | { id: number; result: unknown }
  | { id: number; error: { name: string; message: string; stack?: string } };

/** The page's side: one call per request, resolved with its result, progress handed to `onProgress`. */
export class TrainingWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { ok(r: unknown): void; fail(e: Error): void; onProgress?(p: Progress): void }>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      if ('progress' in r) { p.onProgress?.(r.progress); return; }
      this.pending.delete(r.id);
      if ('error' in r) p.fail(Object.assign(new Error(r.error.message), { name: r.error.name, stack: r.error.stack }));
      else p.ok(r.result);
    };
    // the worker's script failed to load or threw outside a request: every pending call fails with it
    worker.onerror = (e) => {
      e.preventDefault();
      const err = new Error(`the training worker failed: ${e.message || 'its script did not load (web/dist/worker.js)'}`);
      for (const p of this.pending.values()) p.fail(err);
      this.pending.clear();
    };
  }

  call<K extends Request['kind']>(req: Extract<Request, { kind: K }>, onProgress?: (p: Progress) => void): Promise<Results[K]> {
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok: ok as (r: unknown) => void, fail, onProgress });
      this.worker.postMessage({ id, req });
    });
  }

  terminate(): void { this.worker.terminate(); }
}
