/**
 * attention_probs in f32 through WebAssembly SIMD (src/kernels/cpu/wasm-probs.ts): its exponential is exactly the
 * scalar f32 algorithm the file states (an independent model here, every operation rounded with Math.fround) and within
 * 1 ulp of Math.exp rounded to f32; the fused rows agree with the TypeScript rows (attention-probs.ts) within the
 * stated rounding, with the same dropout mask, on 1 and 2 threads.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AttentionProbsParams } from '../src/autograd/backend.js';
import { cpu, setCpuMatmulKernel, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo, shutdownCpuPool } from '../src/kernels/cpu/pool.js';
import { EXP_F32, probsWasm } from '../src/kernels/cpu/wasm-probs.js';

afterAll(() => { setCpuThreads(1); setCpuMatmulKernel(null); shutdownCpuPool(); });

const f = Math.fround;
const U = 2 ** -24;

/** The file's expF32, one f32 rounding per operation, round-half-even for `nearest`. */
function expModel(x: number): number {
  const E = EXP_F32;
  x = f(Math.min(Math.max(f(x), E.lo), f(E.hi)));
  if (Number.isNaN(x)) return NaN;
  const t = f(x * f(E.log2e));
  let n = Math.round(t);
  if (n - t === 0.5 && n % 2 !== 0) n -= 1; // half to even
  let r = f(x - f(n * f(E.c1)));
  r = f(r - f(n * f(E.c2)));
  let p = f(E.p[0]!);
  for (let i = 1; i < E.p.length; i++) p = f(f(p * r) + f(E.p[i]!));
  p = f(f(f(p * f(r * r)) + r) + 1);
  const a = n >> 1;
  return f(f(p * 2 ** a) * 2 ** (n - a));
}

type ExpKernels = { mem: WebAssembly.Memory; exp(src: number, dst: number, n: number): void };
function wasmExp(xs: Float32Array): Float32Array {
  const k = new WebAssembly.Instance(new WebAssembly.Module(probsWasm() as BufferSource)).exports as unknown as ExpKernels;
  const n = Math.ceil(xs.length / 4) * 4;
  k.mem.grow(Math.ceil((8 * n + 64) / 65536));
  const m = new Float32Array(k.mem.buffer);
  m.set(xs, 0);
  k.exp(0, 4 * n, n);
  return m.slice(n, n + xs.length);
}

/** Distance in ulps between two f32 values of the same sign (0 for equal, NaN = NaN). */
const f32Bits = (v: number): number => { const b = new Float32Array([v]); return new Int32Array(b.buffer)[0]!; };
const ulps = (a: number, b: number): number => (Number.isNaN(a) && Number.isNaN(b) ? 0 : Math.abs(f32Bits(a) - f32Bits(b)));

describe('expF32 in WebAssembly SIMD', () => {
  it('the module validates here (Node 20+ has WebAssembly SIMD)', () => {
    expect(probsWasm()).not.toBeNull();
  });

  it('is the stated f32 algorithm bit for bit: special values, the clamps, the subnormal range, random values', () => {
    const special = [0, -0, -1e-30, -1e-7, -0.5, -1, -87.3, -87.34, -88, -100, -103.9, -104, -104.5, -200, -Infinity, NaN,
      1, 10, 88, 88.7, 89, 200, Infinity, 0.5, -0.34657359, 0.34657359];
    const xs = Float32Array.from([...special, ...Array.from({ length: 40000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453 % 1) * (i % 2 ? 104 : 4))]);
    const got = wasmExp(xs);
    const bad: string[] = [];
    xs.forEach((x, i) => { const w = expModel(x); if (!Object.is(w, got[i]) && !(Number.isNaN(w) && Number.isNaN(got[i]!))) bad.push(`${x}: ${got[i]} vs ${w}`); });
    expect(bad.slice(0, 5)).toEqual([]);
    expect(got[special.indexOf(-Infinity)]).toBe(0);
    expect(got[special.indexOf(-104)]).toBe(0);
    expect(got[special.indexOf(0)]).toBe(1);
  });

  it('is within 1 ulp of Math.exp rounded to f32 on [−104, 0] (every 4099th f32 there), and of it exactly in most cases', () => {
    const lo = f32Bits(-0) & 0x7fffffff, hi = f32Bits(104); // magnitudes: bit patterns of |x|
    const xs: number[] = [];
    for (let b = lo; b <= hi; b += 4099) xs.push(-new Float32Array(new Int32Array([b]).buffer)[0]!);
    const got = wasmExp(Float32Array.from(xs));
    let worst = 0, differ = 0;
    xs.forEach((x, i) => { const d = ulps(got[i]!, f(Math.exp(x))); worst = Math.max(worst, d); if (d) differ++; });
    expect(xs.length).toBeGreaterThan(250000);
    expect(worst).toBeLessThanOrEqual(1);
    expect(differ / xs.length).toBeLessThan(0.02);
  });
});

interface ProbsCase { B: number; H: number; T: number; S: number; causal: boolean; p: number; fill: number; seed: number; masked: number[]; scores: number[]; g: number[] }

const probsCase: fc.Arbitrary<ProbsCase> = fc.record({
  B: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 3 }), T: fc.integer({ min: 1, max: 6 }), S: fc.integer({ min: 1, max: 11 }),
  causal: fc.boolean(), p: fc.constantFrom(0, 0.1, 0.5), fill: fc.constantFrom(-Number.MAX_VALUE, -1e9, -Infinity),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }), masked: fc.array(fc.nat(40), { maxLength: 6 }),
  scores: fc.array(fc.float({ min: -8, max: 8, noNaN: true }), { minLength: 600, maxLength: 600 }),
  g: fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 600, maxLength: 600 }),
}).filter((c) => c.T <= c.S || !c.causal);

function runProbs(c: ProbsCase, kernel: 'wasm-simd' | 'typescript') {
  setCpuMatmulKernel(kernel);
  const n = c.B * c.H * c.T * c.S;
  const scores = Float32Array.from({ length: n }, (_, i) => c.scores[i % 600]!);
  const km = new Float32Array(c.B * c.S).fill(1);
  for (const m of c.masked) km[m % km.length] = 0;
  const p: AttentionProbsParams = { B: c.B, H: c.H, T: c.T, S: c.S, scale: 0.35, causal: c.causal, p: c.p, seed: c.seed, fill: c.fill };
  const out = cpu.attentionProbs(scores, km, p, 'f32');
  const y = (out.softmax ?? out.probs) as Float32Array;
  const g = Float32Array.from({ length: n }, (_, i) => c.g[i % 600]!);
  const ds = cpu.attentionProbsBackward(y, g, km, p, 'f32') as Float32Array;
  return { probs: Float32Array.from(out.probs as Float32Array), y: Float32Array.from(y), ds: Float32Array.from(ds), g, p };
}

describe('attention_probs f32 rows in WebAssembly SIMD vs the TypeScript rows', () => {
  it('same dropout mask; y within its stated rounding (the f32 exp, difference, sum and division); probs = f32(y·keep); ds within its rounding', () => {
    fc.assert(fc.property(probsCase, (c) => {
      const simd = runProbs(c, 'wasm-simd');
      const ts = runProbs(c, 'typescript');
      const keep = 1 / (1 - c.p);
      const { S } = c;
      for (let i = 0; i < simd.y.length; i++) {
        const a = simd.y[i]!, b = ts.y[i]!;
        if (Number.isNaN(b)) { expect(a).toBeNaN(); continue; }
        // relative: the f32 difference v − m (|v − m| ≤ 2·8·0.35 < 6, so ≤ 6 ulps in e), the exp (1), the f32 sum of S
        // terms (S − 1), the division (1) and the TypeScript rows' own two roundings (2)
        expect(Math.abs(a - b), `y[${i}] ${a} vs ${b}`).toBeLessThanOrEqual((6 + 1 + S + 2) * U * b + 1e-44);
        expect(simd.probs[i] === 0, `mask at ${i}`).toBe(ts.probs[i] === 0);
        if (c.p > 0 && simd.probs[i] !== 0) expect(simd.probs[i]).toBe(f(a * keep));
      }
      // ds = scale·y·(gd − Σ gd·y): the same f64 arithmetic but for the order of Σ, and y from the rows above
      for (let r = 0; r * S < simd.ds.length; r++) {
        let dot = 0, mag = 0;
        for (let j = 0; j < S; j++) { const gd = simd.probs[r * S + j] === 0 && c.p > 0 ? 0 : simd.g[r * S + j]! * keep; dot += gd * simd.y[r * S + j]!; mag += Math.abs(gd * simd.y[r * S + j]!); }
        for (let j = 0; j < S; j++) {
          const k = r * S + j, y = simd.y[k]!;
          if (Number.isNaN(y)) continue;
          const gd = simd.probs[k] === 0 && c.p > 0 ? 0 : simd.g[k]! * keep;
          // the wasm ds against the exact formula on its own y: one f32 rounding plus the f64 sums
          const want = 0.35 * y * (gd - dot);
          const got = simd.ds[k]!;
          if (got === 0 && ts.ds[k] === 0) continue; // hidden key (both) or an exact zero
          expect(Math.abs(got - want), `ds[${k}]`).toBeLessThanOrEqual(U * Math.abs(want) + 1e-12 * 0.35 * Math.abs(y) * (Math.abs(gd) + mag) + 1e-45);
        }
      }
    }), { numRuns: 60, seed: 11 });
  });

  it('1 and 2 threads give the same bits, and the workers ran the SIMD rows', () => {
    const c: ProbsCase = { B: 4, H: 4, T: 48, S: 48, causal: true, p: 0.1, fill: -Number.MAX_VALUE, seed: 9, masked: [3, 50],
      scores: Array.from({ length: 600 }, (_, i) => Math.sin(i)), g: Array.from({ length: 600 }, (_, i) => Math.cos(i)) };
    setCpuThreads(1);
    const one = runProbs(c, 'wasm-simd');
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = runProbs(c, 'wasm-simd');
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(Array.from(two.probs)).toEqual(Array.from(one.probs));
    expect(Array.from(two.y)).toEqual(Array.from(one.y));
    expect(Array.from(two.ds)).toEqual(Array.from(one.ds));
  });
});

describe('dropout f32 in WebAssembly SIMD', () => {
  it('gives the TypeScript kernel\'s values bit for bit (any length, p, seed; NaN and ±∞ inputs), on 1 and 2 threads', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.constantFrom(0.1, 0.5, 0.9, 1 / 3), fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.array(fc.float(), { minLength: 1, maxLength: 64 }), (n, p, seed, vals) => {
        const x = Float32Array.from({ length: n }, (_, i) => vals[i % vals.length]!);
        setCpuMatmulKernel('typescript');
        const ts = Array.from(cpu.dropout(x, n, p, seed, 'f32') as Float32Array);
        setCpuMatmulKernel('wasm-simd');
        const simd = Array.from(cpu.dropout(x, n, p, seed, 'f32') as Float32Array);
        expect(simd.map((v) => Object.is(v, -0) ? '-0' : v)).toEqual(ts.map((v) => Object.is(v, -0) ? '-0' : v));
      }), { numRuns: 200, seed: 5 });
    const n = 1 << 20;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    setCpuMatmulKernel('typescript');
    const ts = cpu.dropout(x, n, 0.1, 123, 'f32') as Float32Array;
    setCpuMatmulKernel('wasm-simd');
    setCpuThreads(2);
    const before = cpuPoolInfo().workerJobs;
    const two = cpu.dropout(x, n, 0.1, 123, 'f32') as Float32Array;
    expect(cpuPoolInfo().workerJobs - before).toBeGreaterThan(0);
    setCpuThreads(1);
    expect(Buffer.from(two.buffer, two.byteOffset, two.byteLength).equals(Buffer.from(ts.buffer, ts.byteOffset, ts.byteLength))).toBe(true);
  });
});
