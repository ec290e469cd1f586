// `node bench/dev-flops.mjs [methods,…]`: bundles bench/dev-flops.ts and runs it (matmul work per step, not a bench row).
// DEV_STEP_BUILD_ONLY=1 DEV_STEP_OUT=F.mjs: only write the bundle (bench/dev-bundle.mjs).
import { bundleAndRun } from './dev-bundle.mjs';

await bundleAndRun('dev-flops');
