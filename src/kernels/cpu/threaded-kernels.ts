/**
 * The kernels the worker pool can run on any thread, by name. Each is a self-contained function whose last two
 * arguments are the range [g0, g1) of output rows it computes; its text becomes the workers' source (pool.ts).
 */
import { gemmRows } from './gemm.js';

export const THREADED_KERNELS = { gemmRows } as const;

export type ThreadedKernel = keyof typeof THREADED_KERNELS;
