/**
 * Counter-based random numbers shared by every backend: the value for element `i` under `seed` is a pure
 * function of (seed, i), so the CPU and the WGSL dropout draw bit-identical masks and backward can redraw
 * the forward mask instead of storing it. The hash is "lowbias32" (Chris Wellons), in u32 arithmetic.
 */
export function hash32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** Uniform in [0, 1) with 24 bits, for element `index` under `seed`: hash(seed ^ hash(index)) >> 8 / 2^24. */
export function uniformAt(seed: number, index: number): number {
  return (hash32((seed >>> 0) ^ hash32(index)) >>> 8) / 16777216;
}

/** The same function in WGSL, for kernels that draw random numbers. */
export const WGSL_RNG = /* wgsl */ `
fn hash32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}
fn uniform_at(seed: u32, index: u32) -> f32 {
  return f32(hash32(seed ^ hash32(index)) >> 8u) / 16777216.0;
}
`;

/** A small seeded generator for host-side initialisation (weights, fast-check values are separate). */
export class Rng {
  private counter = 0;
  constructor(readonly seed: number) {}
  /** Uniform in [0, 1). */
  next(): number { return uniformAt(this.seed, this.counter++); }
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u1 = Math.max(this.next(), 1e-12);
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  int(hi: number): number { return Math.floor(this.next() * hi); }
}
