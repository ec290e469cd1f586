/**
 * The page's training worker (a dedicated Web Worker, web/dist/worker.js): it acquires the backend, trains, keeps
 * every trained run (its adapter can be downloaded and generated with later), evaluates uploads and runs the
 * gradient check — all the work that blocks or takes long — and reports to the page (web/protocol.ts). Inside
 * this worker the CPU backend may block in Atomics.wait, so its worker pool runs here: started ahead
 * (startCpuPool), because the pool's own workers cannot start while this one blocks.
 */
import { cpuPoolInfo, setCpuThreads, startCpuPool, type Backend, type WebGpuBackend } from 'webpeft';
import { embeddedModel, evaluateUpload, fetchFile, pickedFolder, trainRun, type GetFile, type ModelSource, type TrainedRun } from './bench.js';
import { acquire, parity } from './run.js';
import type { InitResult, ModelChoice, Progress, Reply, Request, Results, RunResult, UploadResult } from './protocol.js';

const scope = self as unknown as { postMessage(m: Reply): void; onmessage: ((e: MessageEvent<{ id: number; req: Request }>) => void) | null };

let backend: Backend | null = null;
let getFile: GetFile | null = null;
const trained: TrainedRun[] = [];

function ready(): { backend: Backend; getFile: GetFile } {
  if (!backend || !getFile) throw new Error('the training worker has no backend yet (init first)');
  return { backend, getFile };
}

function sourceOf(task: Parameters<typeof embeddedModel>[0], model: ModelChoice, get: GetFile): ModelSource {
  return model.kind === 'local' ? pickedFolder(model.files) : embeddedModel(task, get);
}

async function init(req: Extract<Request, { kind: 'init' }>): Promise<InitResult> {
  getFile = fetchFile(req.root);
  let fellBack: string | undefined;
  let got: { backend: Backend; adapter: string };
  try {
    got = await acquire(req.backend);
  } catch (e) {
    if (req.backend !== 'webgpu') throw e;
    fellBack = (e as Error).message;
    got = await acquire('cpu');
  }
  backend = got.backend;
  if (req.threads !== undefined) setCpuThreads(req.threads);
  // the pool only for the CPU backend (WebGPU runs its kernels on the GPU)
  const poolWorkers = backend.name === 'cpu' ? await startCpuPool() : 0;
  const info = cpuPoolInfo();
  const result: InitResult = { backend: backend.name as InitResult['backend'], adapter: got.adapter, fellBack,
    cpu: { threads: poolWorkers + 1, poolWorkers, broken: info.broken } };
  if (backend.name === 'webgpu') {
    const gpu = backend as WebGpuBackend;
    const a = gpu.ctx.adapter.info;
    result.gpu = {
      adapter: [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join('; ') + (a.isFallbackAdapter ? ' (software adapter)' : ''),
      features: [...gpu.ctx.device.features].sort().join(', ') || 'core only',
    };
  }
  return result;
}

async function train(req: Extract<Request, { kind: 'train' }>, emit: (p: Progress) => void): Promise<RunResult> {
  const { backend: b, getFile: get } = ready();
  const s = req.settings;
  const jobsBefore = cpuPoolInfo().workerJobs;
  const run = await trainRun(s, b, get, {
    onStep: (log, r) => {
      const c = r.counts;
      emit({ kind: 'step', step: log.step, loss: log.loss, losses: [...r.losses], seconds: log.seconds, label: r.label, trainable: c.trainable, percent: c.percent });
    },
    onDeltas: (rows) => emit({ kind: 'deltas', rows, step: -1 }),
    onAttention: (attention, step) => emit({ kind: 'attention', attention, step }),
  }, sourceOf(s.task, req.model, get));
  trained.push(run);
  const c = run.counts;
  return {
    index: trained.length - 1, label: run.label, modelName: run.modelName, losses: run.losses, seconds: run.seconds, stepsPerSecond: run.stepsPerSecond,
    trainable: c.trainable, percent: c.percent, metric: run.task.metric, validation: run.validation!, deltas: run.deltas, attention: run.attention,
    workerJobs: cpuPoolInfo().workerJobs - jobsBefore,
  };
}

function runOf(index: number): TrainedRun {
  const run = trained[index];
  if (!run) throw new Error(`no trained run ${index} in the training worker`);
  return run;
}

async function handle<K extends Request['kind']>(req: Extract<Request, { kind: K }>, emit: (p: Progress) => void): Promise<Results[K]> {
  const r = req as Request;
  switch (r.kind) {
    case 'init': return await init(r) as Results[K];
    case 'train': return await train(r, emit) as Results[K];
    case 'files': return await runOf(r.run).adapterFiles() as Results[K];
    case 'generate': return await runOf(r.run).generate(r.prompt, r.maxNewTokens) as Results[K];
    case 'evaluate': {
      const { backend: b, getFile: get } = ready();
      const out: UploadResult = await evaluateUpload(r.files, r.settings, b, get, sourceOf(r.settings.task, r.model, get));
      return out as Results[K];
    }
    case 'parity': return await parity(ready().backend, r.cases, (row) => emit({ kind: 'parity-row', row })) as Results[K];
    default: { const _: never = r; return _; }
  }
}

// one request at a time, in the order they came: a run's adapter is asked for only after its run
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const { id, req } = e.data;
  queue = queue.then(async () => {
    try {
      scope.postMessage({ id, result: await handle(req, (progress) => scope.postMessage({ id, progress })) });
    } catch (err) {
      const x = err as Error;
      scope.postMessage({ id, error: { name: x?.name ?? 'Error', message: x?.message ?? String(err), stack: x?.stack } });
    }
  });
};
