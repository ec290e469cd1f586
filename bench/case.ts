import type { Backend } from '../src/autograd/backend.js';
import type { Tf } from './peers.js';

/** A timed computation: `run` includes the readback of its result; `dispose` frees what setup allocated. */
export interface Runner { run(): Promise<void>; dispose(): void }

/** One bench row family: our computation and (optionally) the same computation in tfjs. */
export interface BenchCase {
  name: string;
  /** The shape in words, e.g. "1024×1024×1024". */
  shape: string;
  /** Floating-point operations of one run (for GFLOP/s), when meaningful. */
  flops?: number;
  /** Which of our backends to run it on (default both). */
  backends?: readonly ('cpu' | 'webgpu')[];
  /** Fewer runs for slow rows (default 5; never below 5). */
  runs?: number;
  ours(backend: Backend): Promise<Runner>;
  /** Backends whose tfjs peer is too slow to time here (the row runs without it; the README says why). */
  noPeerOn?: readonly ('cpu' | 'webgpu')[];
  /** tfjs is already switched to the backend of the same kind. */
  peer?(tf: Tf): Promise<Runner>;
}

export interface Row {
  name: string; shape: string; backend: string; ours_ms: number;
  peer: string | null; peer_ms: number | null;
  /** peer_ms / ours_ms: how many times faster ours is. */
  ratio: number | null;
  gflops: number | null;
}
