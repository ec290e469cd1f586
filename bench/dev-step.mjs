// `node bench/dev-step.mjs [runs] [methods]`: bundles bench/dev-step.ts and runs it (a dev A/B harness).
// DEV_STEP_BUILD_ONLY=1 DEV_STEP_OUT=F.mjs: only write the bundle (bench/dev-bundle.mjs).
import { bundleAndRun } from './dev-bundle.mjs';

await bundleAndRun('dev-step');
