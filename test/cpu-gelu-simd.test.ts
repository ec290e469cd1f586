/**
 * f32 gelu_erf in WebAssembly SIMD (src/kernels/cpu/wasm-gelu.ts, gelu32: f32x4 lanes, one branch-free formula)
 * against the float64 forms (pointwise.ts geluErf, geluErfGrad), with the bounds the module's comment states:
 *   y within 8 ulps of f32(gelu(x)) for |x| < 12, within 12 ulps or 2⁻¹⁴⁰ beyond (the result is then below ~1e-30);
 *   d within 13·2⁻²⁴·max(|d|, |x·φ(x)|) + 2⁻¹⁴⁰ (d cancels near its root x ≈ −0.75, so the bound is on its terms);
 *   NaN, ±∞, ±0 and |x| > 20 give the TypeScript forms' values (y with its sign of zero; d = ±0 there either way).
 * Checked on every 2063rd f32 of [−20, 20], ±0, ±∞, NaN, subnormals and huge values, through the backend as the
 * models call it, on 1 and 2 threads (the same bits on both).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { geluErf, geluErfGrad } from '../src/kernels/cpu/pointwise.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { geluWasm } from '../src/kernels/cpu/wasm-gelu.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

/** An f32's position on the number line in ulps (−0 and +0 both 0), so a difference counts the ulps between. */
const ord = (v: number): number => { const i = new Int32Array(new Float32Array([v]).buffer)[0]!; return i < 0 ? -(i & 0x7fffffff) : i; };
const TINY = 2 ** -140;

function run(x: Float32Array, kernel: 'wasm-simd' | 'typescript') {
  setCpuMatmulKernel(kernel);
  const r = cpu.geluWithGrad('gelu_erf', x, x.length, 'f32');
  const u = cpu.unary('gelu_erf', x, x.length, 'f32');
  setCpuMatmulKernel(null);
  return { y: r.y as Float32Array, d: r.dydx as Float32Array, u: u as Float32Array };
}

/** The first element outside the stated bounds, described, or null. */
function outOfBounds(x: Float32Array, simd: { y: Float32Array; d: Float32Array }, ts: { y: Float32Array; d: Float32Array }): string | null {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!, y = simd.y[i]!, d = simd.d[i]!;
    if (!Number.isFinite(v) || Math.abs(v) > 20) { // specials and huge inputs: the TypeScript forms' values
      if (!Object.is(y, ts.y[i]) && !(Number.isNaN(y) && Number.isNaN(ts.y[i]!))) return `y(${v}) = ${y}, TypeScript ${ts.y[i]}`;
      if (d !== ts.d[i] && !(Number.isNaN(d) && Number.isNaN(ts.d[i]!))) return `d(${v}) = ${d}, TypeScript ${ts.d[i]}`; // ±0 alike
      continue;
    }
    const yRef = Math.fround(geluErf(v));
    const uy = Math.abs(ord(y) - ord(yRef));
    if (Math.abs(v) < 12 ? uy > 8 : uy > 12 && Math.abs(y - yRef) > TINY) return `y(${v}) = ${y}, ${uy} ulps from ${yRef}`;
    const dRef = geluErfGrad(v);
    const scale = Math.max(Math.abs(dRef), Math.abs(v * 0.3989422804014327 * Math.exp(-0.5 * v * v)));
    if (Math.abs(d - dRef) > 13 * 2 ** -24 * scale + TINY) return `d(${v}) = ${d}, against ${dRef} (scale ${scale})`;
  }
  return null;
}

describe('f32 gelu_erf in WebAssembly SIMD', () => {
  it('the module validates here', () => { expect(geluWasm()).not.toBeNull(); });

  it('within its bounds of the float64 forms on every 2063rd f32 of [−20, 20] and the special values', () => {
    const xs: number[] = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-40, -1e-40, 1e30, -1e30, 3.4e38, -3.4e38, 20, -20, 20.5, -20.5];
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    for (let b = 1; ; b += 2063) { u[0] = b; if (f[0]! > 20) break; xs.push(f[0]!, -f[0]!); }
    const x = Float32Array.from(xs);
    const simd = run(x, 'wasm-simd');
    const ts = run(x, 'typescript');
    expect(outOfBounds(x, simd, ts)).toBeNull();
    expect(Buffer.from(simd.u.buffer, simd.u.byteOffset, 4 * x.length).equals(Buffer.from(simd.y.buffer, simd.y.byteOffset, 4 * x.length))).toBe(true); // unary = geluWithGrad's y
    // and not merely loose: most values are the correctly rounded one or its neighbour
    let near = 0;
    for (let i = 17; i < x.length; i++) if (Math.abs(ord(simd.y[i]!) - ord(Math.fround(geluErf(x[i]!)))) <= 1) near++;
    expect(near / (x.length - 17)).toBeGreaterThan(0.85);
  });

  it('fast-check: any f32 values, any length, within the bounds; 1 and 2 threads give the same bits', () => {
    fc.assert(fc.property(fc.array(fc.float(), { minLength: 1, maxLength: 257 }), (vals) => {
      const x = Float32Array.from(vals);
      expect(outOfBounds(x, run(x, 'wasm-simd'), run(x, 'typescript'))).toBeNull();
    }), { numRuns: 200, seed: 3 });
    const x = Float32Array.from({ length: 1 << 19 }, (_, i) => Math.sin(i) * 6);
    setCpuThreads(1);
    const one = run(x, 'wasm-simd');
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = run(x, 'wasm-simd');
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(Buffer.from(two.y.buffer).equals(Buffer.from(one.y.buffer))).toBe(true);
    expect(Buffer.from(two.d.buffer).equals(Buffer.from(one.d.buffer))).toBe(true);
  });

  it('an element gets the same bits whichever loop computes it (eight at a time, or the four-at-a-time tail)', () => {
    const all = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 1.7) * 5);
    const whole = run(all, 'wasm-simd');
    for (let n = 1; n <= 40; n++) {
      // a prefix of n puts its element i in the eight-wide loop when i < 8·⌊n/8⌋, else in the tail
      const part = run(all.subarray(0, n).slice(), 'wasm-simd');
      expect(Buffer.from(part.y.buffer, 0, 4 * n).equals(Buffer.from(whole.y.buffer, 0, 4 * n))).toBe(true);
      expect(Buffer.from(part.d.buffer, 0, 4 * n).equals(Buffer.from(whole.d.buffer, 0, 4 * n))).toBe(true);
      expect(Buffer.from(part.u.buffer, 0, 4 * n).equals(Buffer.from(whole.u.buffer, 0, 4 * n))).toBe(true);
    }
  });
});
