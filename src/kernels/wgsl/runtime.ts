/**
 * The WebGPU runtime under the kernels: buffer pool, command encoding, pipeline cache, readback.
 *
 * - Every dispatch of a step goes into one command encoder (several dispatches per compute pass); the encoder
 *   is submitted on `flush`, on `read`, or once MAX_PENDING dispatches are waiting.
 * - Buffers come from a pool keyed by size class. A released buffer may back the output of a later dispatch in
 *   the same encoder at once (commands run in order), but `upload` (queue.writeBuffer, which runs before any
 *   unsubmitted command) only gets buffers released before the last submit.
 * - Dispatch metadata lives in one uniform arena, a slot per dispatch, written once at submit.
 */
import { envVar } from '../env.js';
import { BackendError, type KernelStats } from '../../autograd/backend.js';
import { GpuDeviceError, type GpuContext } from './device.js';
import { META_BYTES, META_WORDS } from './shader.js';

/** A tensor's storage on the GPU: a pooled buffer of `bytes` bytes (its size class). */
export class GpuStorage {
  released = false;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
}

export interface DispatchSpec {
  /** Pipeline cache key: one key, one WGSL source. */
  key: string;
  /** Builds the WGSL (called once per key). */
  source: () => string;
  /** Storages at @binding(1), (2), … */
  bindings: readonly GpuStorage[];
  /** u32 words at @binding(0). */
  meta: readonly number[];
  groups: readonly [number, number?, number?];
}

/** Submit once this many dispatches are waiting: above a whole training step of the models here (one submit per step). */
const MAX_PENDING = 4096;

/** See maxGroups1d; measured on lavapipe (2 cores): fewer launches beat more parallel slack. */
export const SOFTWARE_GROUPS_1D = Number(envVar('WEBPEFT_GROUPS_1D') || 8);

/** Size classes: 16 bytes minimum, then four classes per power of two (at most 25 % slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= 16) return 16;
  const quarter = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / quarter) * quarter;
}

export class GpuRuntime {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  /** Dispatches issued (a backend call may issue more than one; stats.launches counts calls). */
  dispatches = 0;
  bytesAllocated = 0;
  /** A software adapter (see device.ts): kernels pick their no-barrier variants. */
  readonly software: boolean;
  /** Workgroup cap of 1-D kernels (grid-stride loops): a few per CPU thread on software adapters, none on GPUs. */
  maxGroups1d: number;

  private readonly free = new Map<number, GpuStorage[]>(); // safe for anything
  private readonly releasedPending = new Map<number, GpuStorage[]>(); // safe for encoded commands only
  private readonly staging = new Map<number, GPUBuffer[]>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private readonly slotBytes: number;
  private readonly metaArena: GPUBuffer;
  private readonly metaHost: Uint32Array;
  private error: GpuDeviceError | null = null;
  /** Validation of pipelines created since the last read. */
  private compiling: Promise<void>[] = [];
  private lost = false;
  /** Set by destroy(): the device loss that follows is expected. */
  private destroying = false;

  constructor(readonly ctx: GpuContext, readonly stats: KernelStats) {
    this.device = ctx.device;
    this.limits = ctx.device.limits;
    this.software = ctx.software;
    this.maxGroups1d = ctx.software ? SOFTWARE_GROUPS_1D : Infinity;
    this.slotBytes = Math.max(META_BYTES, this.limits.minUniformBufferOffsetAlignment);
    this.metaArena = this.device.createBuffer({
      size: this.slotBytes * MAX_PENDING, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'meta',
    });
    this.metaHost = new Uint32Array(this.slotBytes * MAX_PENDING / 4);
    this.device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.error ??= new GpuDeviceError(`WebGPU error: ${message.split('\n')[0]}`);
    });
    void this.device.lost.then((info) => {
      // a device lost by our own destroy() is no error; destroyed by anyone else, it is a loss like any other
      if (this.destroying) return;
      this.lost = true;
      this.error = new GpuDeviceError(`the WebGPU device was lost (${info.reason === 'destroyed' ? 'destroyed' : info.reason}${info.message ? `: ${info.message.split('\n')[0]}` : ''})`);
    });
  }

  /** Throws a stored device error (device loss stays; other errors are thrown once). */
  check(): void {
    const e = this.error;
    if (!e) return;
    if (!this.lost) this.error = null;
    throw e;
  }

  // ---- memory

  /** A storage of at least `bytes` bytes whose contents are undefined. `forUpload`: writable by writeBuffer now. */
  alloc(bytes: number, forUpload = false): GpuStorage {
    const size = sizeClass(bytes);
    if (size > this.limits.maxStorageBufferBindingSize || size > this.limits.maxBufferSize) {
      throw new BackendError(`webgpu: a tensor of ${bytes} bytes exceeds this adapter's storage binding limit ` +
        `(${this.limits.maxStorageBufferBindingSize} bytes)`);
    }
    const reused = this.free.get(size)?.pop() ?? (forUpload ? undefined : this.releasedPending.get(size)?.pop());
    if (reused) { reused.released = false; return reused; }
    this.bytesAllocated += size;
    return new GpuStorage(this.device.createBuffer({
      size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    }), size);
  }

  /** A zero-filled storage (fresh buffers are zeroed by WebGPU; reused ones are cleared in order). */
  zeros(bytes: number): GpuStorage {
    const size = sizeClass(bytes);
    const reused = this.free.get(size)?.pop() ?? this.releasedPending.get(size)?.pop();
    if (!reused) return this.alloc(bytes);
    reused.released = false;
    this.commands().clearBuffer(reused.buffer);
    return reused;
  }

  upload(data: ArrayBufferView): GpuStorage {
    this.check();
    const s = this.alloc(data.byteLength, true);
    if (data.byteLength > 0) this.device.queue.writeBuffer(s.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return s;
  }

  release(s: GpuStorage): void {
    if (s.released) throw new BackendError('webgpu: storage released twice');
    s.released = true;
    const pool = this.encoder ? this.releasedPending : this.free;
    let list = pool.get(s.bytes);
    if (!list) pool.set(s.bytes, (list = []));
    list.push(s);
  }

  /**
   * Copies the first `bytes` bytes of a storage to the host (submits pending work). The copy is encoded before
   * the first await, so the caller may release the storage right after calling.
   */
  async read(s: GpuStorage, bytes: number): Promise<ArrayBuffer> {
    if (bytes > s.bytes) throw new BackendError(`webgpu: cannot read ${bytes} bytes from a storage of ${s.bytes}`);
    const size = sizeClass(bytes);
    let staging: GPUBuffer | null = null;
    if (bytes > 0) {
      staging = this.staging.get(size)?.pop() ??
        this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.commands().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
      this.submit();
    }
    this.stats.readbacks++;
    let mapError: unknown = null;
    await staging?.mapAsync(GPUMapMode.READ, 0, bytes).catch((e: unknown) => { mapError = e; });
    await Promise.all(this.compiling.splice(0)); // a shader error outranks the errors its dispatches raised
    this.check();
    if (mapError) {
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 50))]); // a loss explains the failure better
      this.check();
      throw new GpuDeviceError(`WebGPU readback failed: ${(mapError as Error).message || 'no reason given'}`);
    }
    if (!staging) return new ArrayBuffer(0);
    const out = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    let list = this.staging.get(size);
    if (!list) this.staging.set(size, (list = []));
    list.push(staging);
    return out;
  }

  // ---- dispatch

  dispatch(spec: DispatchSpec): void {
    this.check();
    const [x, y = 1, z = 1] = spec.groups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new BackendError(`webgpu: ${spec.key} needs ${x}×${y}×${z} workgroups`);
    if (spec.meta.length > META_WORDS) throw new BackendError(`webgpu: ${spec.key} metadata exceeds ${META_WORDS} words`);
    const pipeline = this.pipeline(spec.key, spec.source);
    const slot = this.pending;
    const base = slot * this.slotBytes / 4;
    for (let i = 0; i < spec.meta.length; i++) this.metaHost[base + i] = spec.meta[i];
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.metaArena, offset: slot * this.slotBytes, size: META_BYTES } },
      ...spec.bindings.map((s, i) => ({ binding: i + 1, resource: { buffer: s.buffer } })),
    ];
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.pass ??= this.commands().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    if (++this.pending >= MAX_PENDING) this.submit();
  }

  /** Submits everything encoded so far. */
  submit(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    if (this.pending > 0) {
      this.device.queue.writeBuffer(this.metaArena, 0, this.metaHost.buffer, 0, this.pending * this.slotBytes);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.stats.submits++;
    for (const [size, list] of this.releasedPending) {
      let free = this.free.get(size);
      if (!free) this.free.set(size, (free = []));
      free.push(...list);
    }
    this.releasedPending.clear();
  }

  destroy(): void {
    this.destroying = true;
    this.pass = null;
    this.encoder = null;
    this.device.destroy();
  }

  /** The open command encoder, outside any compute pass (for copies and clears). */
  private commands(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private pipeline(key: string, source: () => string): GPUComputePipeline {
    let pipeline = this.pipelines.get(key);
    if (pipeline) return pipeline;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: source(), label: key });
    pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    this.compiling.push(this.device.popErrorScope().then((err) => {
      // the root cause: it replaces the "invalid pipeline" errors that its dispatches raise
      if (err && !this.lost) this.error = new GpuDeviceError(`WebGPU shader ${key}: ${err.message.split('\n').slice(0, 4).join(' ')}`);
    }));
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}
