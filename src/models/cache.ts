/**
 * A KV cache for incremental decoding: per layer, the keys and values of every position seen so far, as the
 * layer computed them (before the K/V hook — the hook sees the whole sequence again at every step, so a prefix
 * is added once per step, never stored), and the key mask over those positions. It stores values, not tape:
 * gradients do not flow into past steps (it is for inference).
 */
import { concat } from '../autograd/functions.js';
import { keep, type Tensor } from '../autograd/tensor.js';

export class KvCache {
  private keys: (Tensor | null)[];
  private values: (Tensor | null)[];
  /** (B, length) 1 = attend */
  mask: Tensor | null = null;

  constructor(readonly layers: number) {
    this.keys = new Array<Tensor | null>(layers).fill(null);
    this.values = new Array<Tensor | null>(layers).fill(null);
  }

  /** Positions stored (the offset of the next token). */
  get length(): number { return this.mask?.shape[1] ?? 0; }

  /** past ++ new along the sequence axis; the result is stored and returned. keys, values: (B, H, T, Dh). */
  extend(layer: number, keys: Tensor, values: Tensor): { keys: Tensor; values: Tensor } {
    const pastK = this.keys[layer];
    const pastV = this.values[layer];
    const allK = pastK ? concat([pastK, keys], 2) : keys;
    const allV = pastV ? concat([pastV, values], 2) : values;
    this.keys[layer] = this.replace(pastK, allK);
    this.values[layer] = this.replace(pastV, allV);
    return { keys: allK, values: allV };
  }

  /** Sets the key mask over all stored positions (B, length + T), before the layers extend. */
  setMask(mask: Tensor): void { this.mask = this.replace(this.mask, mask); }

  /**
   * Stores a detached view of `next` that outlives tidy scopes and drops the previous one. Views share storage
   * by reference count, so the caller's tensors (and any tape reading them) stay valid.
   */
  private replace(prev: Tensor | null, next: Tensor): Tensor {
    prev?.dispose();
    return keep(next.detach());
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values, this.mask]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.mask = null;
  }
}
