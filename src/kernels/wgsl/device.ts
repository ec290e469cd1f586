/**
 * WebGPU device acquisition, in one place: Dawn's node bindings (npm `webgpu`) in Node, `navigator.gpu` in
 * the browser. Node's `webgpu` is imported dynamically so browser bundles never pull it in.
 */

/** No WebGPU adapter (or no WebGPU at all) on this machine. */
export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** The device was lost, or reported an error nobody caught; every later call rethrows it. */
export class GpuDeviceError extends Error {
  override name = 'GpuDeviceError';
}

export interface GpuOptions {
  /** Dawn backend in Node (`backend=…`): 'vulkan' (lavapipe in CI), 'opengles' (GL ES llvmpipe fallback), … */
  backend?: string;
  powerPreference?: GPUPowerPreference;
  /** Accept a fallback (software) adapter when the browser offers one. */
  allowFallback?: boolean;
  /** Extra Dawn options for `create([...])` in Node, e.g. 'enable-dawn-features=…'. */
  dawnOptions?: string[];
}

export interface GpuContext {
  /** The entry point; held for the device's lifetime (Dawn's instance stops processing events once collected). */
  gpu: GPU;
  device: GPUDevice;
  adapter: GPUAdapter;
  /** One line naming the adapter, e.g. "mesa software llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) [vulkan]". */
  description: string;
  /** Optional features that were present and enabled. */
  features: { shaderF16: boolean; subgroups: boolean };
  /** A CPU rasterizer posing as a GPU (lavapipe/llvmpipe, SwiftShader, a fallback adapter): kernels pick variants for it. */
  software: boolean;
}

/** Whether an adapter is software: Mesa's llvmpipe (lavapipe, GL ES) or SwiftShader, or one the browser marks as fallback. */
export function isSoftwareAdapter(info: { description?: string; device?: string; architecture?: string; isFallbackAdapter?: boolean }): boolean {
  const text = `${info.description ?? ''} ${info.device ?? ''} ${info.architecture ?? ''}`.toLowerCase();
  return info.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader/.test(text);
}

/** Limits requested at the adapter's own values (compatibility mode starts lower than the adapter can do). */
const LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
  'maxUniformBuffersPerShaderStage', 'maxUniformBufferBindingSize', 'maxBindingsPerBindGroup',
] as const;

export async function requestGpu(opts: GpuOptions = {}): Promise<GpuContext> {
  const compat = opts.backend === 'opengles' || opts.backend === 'opengl';
  const gpu = await gpuEntryPoint(opts);
  const adapter = await gpu.requestAdapter({
    powerPreference: opts.powerPreference,
    forceFallbackAdapter: false,
    ...(compat ? { featureLevel: 'compatibility' } : {}),
  });
  if (!adapter) {
    throw new GpuUnavailableError(`no WebGPU adapter found${opts.backend ? ` for backend ${opts.backend}` : ''}`);
  }
  const info = adapter.info;
  if (info.isFallbackAdapter && opts.allowFallback === false) {
    throw new GpuUnavailableError(`only a fallback adapter is available (${info.description})`);
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  const features = {
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
  };
  const requiredFeatures: GPUFeatureName[] = [];
  if (features.shaderF16) requiredFeatures.push('shader-f16');
  if (features.subgroups) requiredFeatures.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  const parts = [info.vendor, info.architecture, info.description || info.device].filter((s) => s);
  const description = `${parts.join(' ')}${opts.backend ? ` [${opts.backend}]` : ''}`;
  return { gpu, device, adapter, description, features, software: isSoftwareAdapter(info) };
}

async function gpuEntryPoint(opts: GpuOptions): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  // Node's `process` read off globalThis: this module is browser-safe and type-checks without Node's types
  const nodeProcess = (globalThis as { process?: { versions?: { node?: string }; env: Record<string, string | undefined> } }).process;
  const isNode = nodeProcess?.versions?.node !== undefined;
  if (!isNode) {
    if (!nav?.gpu) throw new GpuUnavailableError('this browser has no WebGPU (navigator.gpu is undefined)');
    return nav.gpu;
  }
  let dawn: { create(options: string[]): GPU; globals: object };
  try {
    const name = 'webgpu'; // through a variable: bundlers for the browser leave it alone
    dawn = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new GpuUnavailableError(`cannot load the 'webgpu' package (Dawn for Node): ${(e as Error).message}`);
  }
  Object.assign(globalThis, dawn.globals);
  const options = [...(opts.dawnOptions ?? [])];
  if (opts.backend) options.push(`backend=${opts.backend}`);
  if (opts.backend === 'opengles' && nodeProcess) nodeProcess.env.EGL_PLATFORM ??= 'surfaceless';
  return dawn.create(options);
}
