import { GpuUnavailableError, WebGpuBackend } from '../../src/kernels/wgsl/index.js';

/**
 * The WebGPU backend for a test file, or null (with a message) when this machine has no adapter.
 * With CI=true a missing adapter is a failure: CI installs the software Vulkan driver so the WGSL kernels run.
 */
export async function acquireGpu(): Promise<WebGpuBackend | null> {
  try {
    const backend = await WebGpuBackend.create({ backend: process.env.WEBPEFT_DAWN_BACKEND || undefined });
    console.log(`webgpu adapter: ${backend.describe()}`);
    return backend;
  } catch (e) {
    if (!(e instanceof GpuUnavailableError) || process.env.CI === 'true') throw e;
    console.warn(`skipping WebGPU tests: ${e.message}`);
    return null;
  }
}
