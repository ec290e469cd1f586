/**
 * The kernels the worker pool can run on any thread, by name, and the helpers they may call. Each kernel is a
 * function whose last two arguments are the range [g0, g1) of output rows (or elements) it computes; its text
 * becomes the workers' source (pool.ts), so it may use nothing outside its own body except the helpers below, which
 * the workers declare by their own text (each helper is self-contained too, or calls only other helpers, and lives
 * in the same module as its callers: see pointwise.ts for why). The CPU backend (index.ts) registers the table with
 * the pool; the pool itself imports no kernel file.
 */
import { attentionProbsBackwardRows, attentionProbsRows, dropoutDraw, dropoutRange } from './attention-probs.js';
import { gemmRows } from './gemm.js';
import { layernormDxRows, layernormParamGradColumns, layernormRows } from './layernorm.js';
import { adamwRange } from './optim.js';
import {
  binaryFlat, binaryRow, binaryRows, erf, erfc, erfcPositive, erfcRatio, erfcWith, erfSmall, geluErf, geluErfF32,
  geluErfGrad, geluErfGradF32, geluTanh, geluTanhGrad, geluWithGradRange, unaryRange,
} from './pointwise.js';
import { sumColumns, sumRows } from './reduce.js';
import { softmaxRows } from './softmax.js';
import { copyCoalescedRange, forEachRow } from './strided.js';
import { gemmRowsF32x4 } from './wasm-gemm.js';
import {
  adamwRangeF32x4, attentionProbsBackwardRowsF32x4, attentionProbsRowsF32x4, binaryFlatF32x4, binaryRowBroadcastF32x4,
  copyRowsWasm, dropoutRangeF32x4, geluErfRangeF32x4, layernormDxRowsF32x4, layernormParamGradColumnsF32x4, layernormRowsF32x4,
  sumColumnsF32x4, wasmScratch,
} from './wasm-kernels.js';

const table = () => ({
  gemmRows, gemmRowsF32x4, softmaxRows, attentionProbsRows, attentionProbsBackwardRows, layernormRows, layernormDxRows, layernormParamGradColumns,
  adamwRange, unaryRange, binaryFlat, binaryRows, dropoutRange, sumColumns, sumRows, geluWithGradRange, copyCoalescedRange,
  attentionProbsRowsF32x4, attentionProbsBackwardRowsF32x4, dropoutRangeF32x4, geluErfRangeF32x4,
  binaryFlatF32x4, binaryRowBroadcastF32x4, sumColumnsF32x4, adamwRangeF32x4, copyRowsWasm,
  layernormRowsF32x4, layernormDxRowsF32x4, layernormParamGradColumnsF32x4,
});

/** The functions a worker declares before its kernels (pointwise.ts: erf, the GELU forms, one binary row; the dropout draw). */
export const threadedHelpers: readonly ((...args: never[]) => unknown)[] = [
  erfSmall, erfcRatio, erfcPositive, erf, erfc, erfcWith, geluTanh, geluTanhGrad, geluErf, geluErfGrad, geluErfF32,
  geluErfGradF32, binaryRow, dropoutDraw, forEachRow, wasmScratch,
];

export type ThreadedKernel = keyof ReturnType<typeof table>;

let kernels: ReturnType<typeof table> | null = null;

export function threadedKernels(): Record<ThreadedKernel, (...args: never[]) => void> {
  kernels ??= table();
  return kernels;
}
