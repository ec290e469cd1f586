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
