/**
 * `webpeft`: the browser-safe library — the engine, backends, models, methods (and their registry), HF formats from
 * and to bytes, the training loop and report rendering. Files and folders are in `webpeft/node` (src/node.ts).
 */
export * from './autograd/index.js';
// the engine's Tensor (io's safetensors module has a plain-data type of the same name)
export { Tensor } from './autograd/tensor.js';
export { selectBackend, releaseBackend, type BackendName, type SelectOptions } from './kernels/select.js';
export { cpu, CpuBackend } from './kernels/cpu/index.js';
// the CPU backend's worker pool: thread count, and starting it ahead (needed inside a Web Worker)
export { setCpuThreads, cpuThreads, startCpuPool, cpuPoolInfo } from './kernels/cpu/pool.js';
export { setStoragePoolLimit, storagePoolInfo } from './kernels/cpu/storage.js';
export { GpuUnavailableError } from './kernels/wgsl/device.js';
export type { WebGpuBackend } from './kernels/wgsl/index.js';
export * from './models/index.js';
export * from './io/index.js';
export * from './peft/index.js';
export * from './data/browser.js';
export { trainLoop, batchTensors, warmupSteps, type TrainConfig, type TrainJob, type TrainResult, type StepLog } from './train/trainer.js';
export { fit, type FitOptions } from './train/fit.js';
export { trainEnsemble, ensembleProbabilities, ensemblePrompts, replicateBatch, softmaxRows, type EnsembleJob } from './train/ensemble.js';
export { renderReport } from './report/report.js';
export type { CompareResult, MethodResult, AblationResult, BiasDeltaRow } from './report/results.js';
// the shipped tasks on examples the caller loads (the page fetches assets/data; Node: makeTask in webpeft/node)
export { buildTask, TASK_INFO, TASK_LR, TASK_NAMES, taskDefaultLr, type Task, type TaskData, type TaskInfo, type TaskName, type TaskOptions, type Evaluation } from './train/task-build.js';
export { baseSignature } from './train/base-check.js';
// webpeft's resumable training state as bytes (a page zips what saveAdapter writes to a folder)
export { stateTensors, type StateTensors } from './train/state-tensors.js';
export { TRAINING_STATE_FORMAT, TRAINING_STATE_VERSION, type TrainingState } from './train/training-state.js';
// the report's SVG charts, for pages that draw the same plots live
export { lineChart, heatmap, type LineSeries, type HeatmapOptions } from './report/svg.js';
export { biasGrid, methodStyles } from './report/report.js';
