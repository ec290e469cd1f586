import type { Backend } from '../autograd/backend.js';
import { cpu } from './cpu/index.js';

export type BackendName = 'cpu' | 'webgpu';

export interface SelectOptions {
  /** When WebGPU has no adapter: fall back to the CPU with a one-line warning instead of failing. */
  allowCpuFallback?: boolean;
  /** Dawn backend in Node ('vulkan' default, 'opengles' for the GL ES fallback). */
  dawnBackend?: string;
  warn?: (msg: string) => void;
}

/** The one place a backend is acquired by name. */
export async function selectBackend(name: BackendName, o: SelectOptions = {}): Promise<Backend> {
  if (name === 'cpu') return cpu;
  if (name !== 'webgpu') throw new Error(`unknown backend '${name as string}' (expected cpu or webgpu)`);
  const { WebGpuBackend } = await import('./wgsl/index.js');
  try {
    return await WebGpuBackend.create({ backend: o.dawnBackend });
  } catch (e) {
    if (!o.allowCpuFallback) throw e;
    (o.warn ?? console.warn)(`webpeft: no WebGPU adapter (${(e as Error).message}); using the CPU backend`);
    return cpu;
  }
}

/** Releases a backend's device (WebGPU) so the process can exit. */
export function releaseBackend(b: Backend): void {
  (b as { destroy?: () => void }).destroy?.();
}

/**
 * `--backend auto`: the backend that trains faster for the adapter found, and why. On a software adapter (lavapipe,
 * SwiftShader) WebGPU runs on the same CPU cores as the CPU backend, through a Vulkan emulation that adds a
 * dispatch cost to each of a step's hundreds of small kernels; measured side by side it is no faster there
 * (bench/README.md, "compare's backend"), so the CPU backend is chosen; a hardware GPU gets WebGPU; no adapter, the CPU backend.
 */
export async function selectFastest(o: Omit<SelectOptions, 'allowCpuFallback'> = {}): Promise<{ backend: Backend; reason: string }> {
  const { WebGpuBackend } = await import('./wgsl/index.js');
  let gpu: Awaited<ReturnType<typeof WebGpuBackend.create>>;
  try {
    gpu = await WebGpuBackend.create({ backend: o.dawnBackend });
  } catch (e) {
    return { backend: cpu, reason: `no WebGPU adapter (${(e as Error).message.split('\n')[0]}), so the CPU backend` };
  }
  if (gpu.ctx.software) {
    const what = gpu.ctx.description;
    gpu.destroy();
    return { backend: cpu, reason: `the only WebGPU adapter is a software one (${what}), which is no faster than the CPU backend on the same cores (bench/README.md); --backend webgpu to use it anyway` };
  }
  return { backend: gpu, reason: `a hardware GPU adapter (${gpu.ctx.description})` };
}
