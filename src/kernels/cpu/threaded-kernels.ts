/**
 * The kernels the worker pool can run on any thread, by name. Each is a self-contained function whose last two
 * arguments are the range [g0, g1) of output rows (or elements) it computes; its text becomes the workers' source
 * (pool.ts). The CPU backend (index.ts) registers the table with the pool; the pool itself imports no kernel file.
 */
import { attentionProbsBackwardRows, attentionProbsRows } from './attention-probs.js';
import { gemmRows } from './gemm.js';
import { layernormDxRows, layernormRows } from './layernorm.js';
import { adamwRange } from './optim.js';
import { softmaxRows } from './softmax.js';
import { gemmRowsF32x4 } from './wasm-gemm.js';

const table = () => ({ gemmRows, gemmRowsF32x4, softmaxRows, attentionProbsRows, attentionProbsBackwardRows, layernormRows, layernormDxRows, adamwRange });

export type ThreadedKernel = keyof ReturnType<typeof table>;

let kernels: ReturnType<typeof table> | null = null;

export function threadedKernels(): Record<ThreadedKernel, (...args: never[]) => void> {
  kernels ??= table();
  return kernels;
}
