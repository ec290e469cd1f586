export * from './autograd/index.js';
export { selectBackend, releaseBackend, type BackendName } from './kernels/select.js';
export { cpu, CpuBackend } from './kernels/cpu/index.js';
