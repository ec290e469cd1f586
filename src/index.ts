/**
 * `webpeft`: the browser-safe library — the engine, backends, models, methods (and their registry), HF formats from
 * and to bytes, the training loop and report rendering. Files and folders are in `webpeft/node` (src/node.ts).
 */
export * from './autograd/index.js';
// the engine's Tensor (io's safetensors module has a plain-data type of the same name)
export { Tensor } from './autograd/tensor.js';
export { selectBackend, releaseBackend, type BackendName, type SelectOptions } from './kernels/select.js';
export { cpu, CpuBackend } from './kernels/cpu/index.js';
export { GpuUnavailableError } from './kernels/wgsl/device.js';
export type { WebGpuBackend } from './kernels/wgsl/index.js';
export * from './models/index.js';
export * from './io/index.js';
export * from './peft/index.js';
export * from './data/browser.js';
export { trainLoop, batchTensors, type TrainConfig, type TrainJob, type TrainResult, type StepLog } from './train/trainer.js';
export { fit, type FitOptions } from './train/fit.js';
export { trainEnsemble, ensembleProbabilities, ensemblePrompts, replicateBatch, softmaxRows, type EnsembleJob } from './train/ensemble.js';
export { renderReport } from './report/report.js';
export type { CompareResult, MethodResult, AblationResult, BiasDeltaRow } from './report/results.js';
