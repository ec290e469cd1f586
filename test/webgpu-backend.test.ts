/**
 * The WebGPU backend against plain-JS references computed in double precision from the same f32 inputs.
 *
 * Tolerances are derived, not tuned. u = 2^-24 is f32's unit roundoff (half of eps = 2^-23). A value computed by
 * a chain of k rounded operations is within γ_k·A of the exact result, γ_k = k·u/(1 − k·u), where A is the same
 * expression evaluated on absolute values (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3);
 * a sum of K terms accumulated sequentially has k = K − 1 (+1 for the products of a dot product). WGSL built-ins
 * count with the ulps the WGSL spec allows them (exp: 3 + 2|x|, log: 3 or 2^-21 absolute on [0.5, 2],
 * inverseSqrt: 2, division: 2.5).
 *
 * Needs a WebGPU adapter (lavapipe in CI). With CI=true and no adapter the file fails; locally it skips.
 * WEBPEFT_DAWN_BACKEND=opengles runs it on the GL ES fallback.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { MatmulParams } from '../src/autograd/backend.js';
import { broadcastShapes, broadcastStrides, numel, stridesOf, type Shape } from '../src/autograd/shape.js';
import { erf, erfc } from '../src/kernels/cpu/pointwise.js';
import { Rng, uniformAt } from '../src/kernels/rng.js';
import { GpuDeviceError, GpuUnavailableError, WebGpuBackend } from '../src/kernels/wgsl/index.js';
import { rowThreads } from '../src/kernels/wgsl/shader.js';

const u = 2 ** -24;
const eps = 2 ** -23;
const gamma = (k: number): number => (k * u) / (1 - k * u);

let backend: WebGpuBackend | null = null;
try {
  backend = await WebGpuBackend.create({ backend: process.env.WEBPEFT_DAWN_BACKEND || undefined });
  console.log(`webgpu adapter: ${backend.describe()}`);
} catch (e) {
  if (!(e instanceof GpuUnavailableError) || process.env.CI === 'true') throw e;
  console.warn(`skipping the WebGPU backend tests: ${e.message}`);
}
afterAll(() => backend?.destroy());

function be(): WebGpuBackend {
  if (!backend) throw new Error('no backend');
  return backend;
}

function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
}

const up = (xs: ArrayLike<number>): unknown => be().upload(Float32Array.from(xs), 'f32');
const upInt = (xs: ArrayLike<number>): unknown => be().upload(Int32Array.from(xs), 'i32');
const down = async (s: unknown, n: number): Promise<Float32Array> => (await be().read(s, n, 'f32')) as Float32Array;

/** WGSL lets a GPU flush subnormal f32 values to zero: every comparison allows an absolute 2^-126. */
const SUBNORMAL = 2 ** -126;

/** |actual − expected| ≤ tol(i) (+ SUBNORMAL) everywhere; the first failure names its element. */
function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: (i: number) => number,
  what = ''): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const t = tol(i) + SUBNORMAL;
    const bothNaN = Number.isNaN(actual[i]) && Number.isNaN(expected[i]);
    const sameInf = actual[i] === expected[i];
    if (!(err <= t) && !bothNaN && !sameInf) {
      throw new Error(`${what} element ${i}: got ${actual[i]}, expected ${expected[i]} (error ${err}, tolerance ${t})`);
    }
  }
}

function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = flat % shape[d]; flat = Math.floor(flat / shape[d]); }
  return idx;
}

/** Offset into a tensor of `shape` broadcast to `outShape` at the multi-index `index`. */
function broadcastOffset(shape: Shape, outShape: Shape, index: number[]): number {
  const st = broadcastStrides(shape, outShape);
  return index.reduce((acc, c, d) => acc + c * st[d], 0);
}

describe.skipIf(backend === null)('webgpu backend', () => {
  describe('memory and bookkeeping', () => {
    it('uploads and reads back f32 and i32 exactly, converting to the storage dtype', async () => {
      const xs = [1.5, -2.25, 3e-30, 7e30, 0, -0];
      expect(Array.from(await down(up(xs), 6))).toEqual(Array.from(Float32Array.from(xs)));
      const ids = [0, -1, 2147483647, -2147483648, 42];
      expect(Array.from(await be().read(upInt(ids), 5, 'i32'))).toEqual(ids);
      expect(await be().read(be().upload(Float64Array.from([1.25, 3]), 'f32'), 2, 'f32')).toBeInstanceOf(Float32Array);
    });

    it('zeros are zero, also in a buffer recycled from the pool', async () => {
      const b = be();
      const s = up(random(1000, 1, 1, 2));
      await down(s, 1000);
      b.release(s);
      b.flush();
      const z = b.zeros(1000, 'f32');
      expect((await down(z, 1000)).every((v) => v === 0)).toBe(true);
    });

    it('zero-size tensors get a valid buffer and skip their dispatches', async () => {
      const b = be();
      const x = b.zeros(0, 'f32');
      const y = b.unary('exp', x, 0, 'f32');
      expect((await down(y, 0)).length).toBe(0);
      const e = b.matmul(x, x, { batchA: [], batchB: [], batchOut: [], M: 0, K: 3, N: 0, transA: false, transB: false }, 'f32');
      expect((await down(e, 0)).length).toBe(0);
    });

    it('refuses readSync and f64, naming the way out', () => {
      expect(() => be().readSync(up([1]), 1, 'f32')).toThrow(/await tensor.data\(\)/);
      expect(() => be().zeros(1, 'f64')).toThrow(/f64/);
      expect(be().name).toBe('webgpu');
      expect(be().dtypes).toEqual(['f32', 'i32']);
    });

    it('one step of ~20 kernel calls and one read make exactly one submit and one readback', async () => {
      const b = be();
      const x = up(random(64 * 32, 2));
      const w = up(random(32 * 16, 3));
      const gammaS = up(random(16, 4, 0.5, 1.5));
      const betaS = up(random(16, 5));
      b.flush();
      const submits = b.stats.submits;
      const readbacks = b.stats.readbacks;
      const mm = { batchA: [], batchB: [], batchOut: [], M: 64, K: 32, N: 16, transA: false, transB: false };
      let h = b.matmul(x, w, mm, 'f32'); // 1
      for (let i = 0; i < 3; i++) { // 3 × 6 = 18
        const ln = b.layernorm(h, gammaS, betaS, 64, 16, 1e-5, 'f32');
        const g = b.unary('gelu_tanh', ln.y, 64 * 16, 'f32');
        const s = b.softmax(g, 64, 16, 'f32', false);
        const r = b.binary('add', s, [64, 16], betaS, [16], [64, 16], 'f32');
        const m = b.reduce('sum', r, [64, 16], [1], 'f32');
        h = b.binary('mul', r, [64, 16], m, [64, 1], [64, 16], 'f32');
        for (const t of [ln.y, ln.mean, ln.rstd, g, s, r, m]) b.release(t);
      }
      const out = await down(h, 64 * 16);
      expect(out.every(Number.isFinite)).toBe(true);
      expect(b.stats.submits - submits).toBe(1);
      expect(b.stats.readbacks - readbacks).toBe(1);
      expect(b.stats.launches.get('layernorm')).toBeGreaterThanOrEqual(3);
    });

    it('an upload never lands in a buffer that queued work still reads', async () => {
      const b = be();
      b.flush();
      const a = up([1, 2, 3, 4]);
      b.flush();
      const doubled = b.unary('mul_scalar', a, 4, 'f32', 2); // queued, reads a
      b.release(a); // a may serve later encoded work, not an upload before the submit
      const other = up([100, 200, 300, 400]);
      expect(Array.from(await down(doubled, 4))).toEqual([2, 4, 6, 8]);
      expect(Array.from(await down(other, 4))).toEqual([100, 200, 300, 400]);
    });

    it('a storage may be released as soon as its read has been called', async () => {
      const b = be();
      const x = up([1, 2, 3, 4]);
      const reading = down(x, 4);
      b.release(x);
      b.release(b.unary('neg', up([5, 6, 7, 8]), 4, 'f32')); // may reuse x's buffer
      expect(Array.from(await reading)).toEqual([1, 2, 3, 4]);
    });

    it('surfaces a shader error, with its kernel name, at the next read', async () => {
      const own = await WebGpuBackend.create({ backend: process.env.WEBPEFT_DAWN_BACKEND || undefined });
      try {
        const x = own.upload(Float32Array.from([1]), 'f32');
        own.rt.dispatch({ key: 'broken', source: () => 'fn main( {', bindings: [], meta: [], groups: [1] });
        const failure = own.read(x, 1, 'f32');
        await expect(failure).rejects.toThrow(GpuDeviceError);
        await expect(failure).rejects.toThrow(/WebGPU shader broken: .*error/);
      } finally {
        own.destroy();
      }
    });
  });

  describe('unary', () => {
    // a grid over the interesting ranges, plus edge values
    const xs = Float32Array.from([
      ...Array.from({ length: 161 }, (_, i) => -8 + i * 0.1), 1e-4, -1e-4, 1e-20, 0.3, 0.6249, 0.6251, 0.9999, 1.0001,
      -0.9999, -1.0001, 3.9, -3.9, 9.5, -9.5, 12, -12, 30, -30, 1e5, -1e5,
    ]);
    const pos = Float32Array.from(xs.filter((x) => x > 0));
    const spec = (ulps: number) => (ref: number) => ulps * eps * Math.abs(ref);
    // σ(t) from e = exp(−|t|) (3 + 2|t| ulp): δσ/σ = (1 − σ)·δe/e, + a division (2.5 ulp) and two roundings
    const sigmoidRel = (t: number): number => {
      const s = 1 / (1 + Math.exp(-t));
      return ((1 - s) * (3 + 2 * Math.abs(t)) + 5) * eps;
    };
    // erfc(a), a ≥ 1: the fit's 5e-7 (measured in f32 simulation, roundings included), exp(−hi²) (3 + 2a² ulp),
    // and a's own rounding when a = |x|/√2 (d erfc/erfc ≈ 2a·δa = a²·eps)
    const erfcRel = (a: number): number => 5e-7 + (6 + 3 * a * a) * eps;
    // erf: the |x| < 1 polynomial is within 1.2e-7 (measured likewise); beyond, 1 − erfc
    const erfTol = (x: number): number =>
      (Math.abs(x) < 1 ? 1.2e-7 : erfc(Math.abs(x)) * erfcRel(Math.abs(x))) + eps;
    // 0.5x(1 + erf(u)), u = x/√2: for u ≤ −1 it is 0.5x·erfc(−u) (relative error), else |x|/2 times erf's error
    const geluErfTol = (r: number, x: number): number => {
      const a = x * Math.SQRT1_2;
      return (a <= -1 ? erfcRel(-a) * Math.abs(r) : (Math.abs(x) / 2) * erfTol(a)) + 2 * eps * Math.abs(r);
    };
    const GELU_K = 2 * Math.sqrt(2 / Math.PI);
    // x·σ(2u): the sigmoid bound at t = 2u, plus 2u's 4 roundings carried through σ: δσ/σ = (1 − σ)·t·4 eps
    const geluTanhTol = (r: number, x: number): number => {
      const t = GELU_K * (x + 0.044715 * x ** 3);
      return (sigmoidRel(t) + (1 - 1 / (1 + Math.exp(-t))) * Math.abs(t) * 4 * eps + eps) * Math.abs(r);
    };
    const cases: [string, Float32Array, (x: number) => number, (ref: number, x: number) => number, number?][] = [
      ['neg', xs, (x) => -x, () => 0],
      ['abs', xs, Math.abs, () => 0],
      ['relu', xs, (x) => (x < 0 ? 0 : x), () => 0],
      ['square', xs, (x) => x * x, spec(0.5)],
      ['exp', xs.filter((x) => Math.abs(x) < 80), Math.exp, (r, x) => (3 + 2 * Math.abs(x)) * eps * r],
      ['log', pos, Math.log, (r, x) => (x >= 0.5 && x <= 2 ? 2 ** -21 : 3 * eps * Math.abs(r))],
      ['sqrt', pos, Math.sqrt, spec(4.5)], // 1/inverseSqrt: 2 + 2.5 ulp
      ['rsqrt', pos, (x) => 1 / Math.sqrt(x), spec(2)],
      // tanh_f: polynomial ≤ 0.7 eps measured; beyond: 2/(e^2x+1)·(3 + 4|x|) ≤ 2.5 eps from exp, + 3 roundings
      ['tanh', xs, Math.tanh, spec(6)],
      // e = exp(−|x|) (3 + 2|x| ulp) carries into e/(1+e) at most once, division 2.5, two more roundings
      ['sigmoid', xs, (x) => 1 / (1 + Math.exp(-x)), (r, x) => sigmoidRel(x) * Math.abs(r)],
      ['erf', xs, erf, (_r, x) => erfTol(x)],
      ['gelu_erf', xs, (x) => 0.5 * x * erfc(-x * Math.SQRT1_2), geluErfTol],
      ['gelu_tanh', xs, (x) => x / (1 + Math.exp(-GELU_K * (x + 0.044715 * x ** 3))), geluTanhTol],
      ['mul_scalar', xs, (x) => x * 0.3, (r) => eps * (Math.abs(r) + 0.3 * 1e-30), 0.3],
      ['add_scalar', xs, (x) => x + 0.3, (r) => eps * (Math.abs(r) + 0.3), 0.3],
      ['pow_scalar', xs, (x) => x * x, spec(0.5), 2],
      ['pow_scalar', xs, (x) => x ** 3, spec(1.5), 3],
      ['pow_scalar', pos.filter((x) => x < 1e4), (x) => x ** 1.7,
        (r, x) => (3 + 2 * Math.abs(1.7 * Math.log2(x)) + 1) * eps * Math.abs(r) +
          Math.LN2 * 1.7 * Math.abs(r) * (x >= 0.5 && x <= 2 ? 2 ** -21 : 3 * eps * Math.abs(Math.log2(x))), 1.7],
    ];
    for (const [op, input, ref, tol, param] of cases) {
      it(`${op}${param !== undefined ? ` (${param})` : ''} matches its double-precision reference`, async () => {
        const out = await down(be().unary(op as never, up(input), input.length, 'f32', param), input.length);
        const expected = Array.from(input, (x) => ref(x));
        // + rounding of the exact result to f32
        expectWithin(out, expected, (i) => tol(expected[i], input[i]) + u * Math.abs(expected[i]), op);
      });
    }

    it('pow_scalar follows Math.pow for negative bases and zero', async () => {
      const input = [-2, -0.5, 0, 2];
      const cube = await down(be().unary('pow_scalar', up(input), 4, 'f32', 3), 4);
      expect(Array.from(cube)).toEqual([-8, -0.125, 0, 8]);
      const half = await down(be().unary('pow_scalar', up(input), 4, 'f32', 0.5), 4);
      expect(Number.isNaN(half[0])).toBe(true);
      const recip = await down(be().unary('pow_scalar', up([0]), 1, 'f32', -2), 1);
      expect(recip[0]).toBe(Infinity);
    });
  });

  describe('binary and where (broadcasting)', () => {
    const shapes: [Shape, Shape][] = [
      [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[4], [2, 3, 4]], [[1], [5]], [[2, 1, 4], [1, 3, 1]],
      [[], [3]],
    ];
    const ops: [string, (x: number, y: number) => number, (x: number, y: number, r: number) => number][] = [
      ['add', (x, y) => x + y, () => 0], ['sub', (x, y) => x - y, () => 0], ['mul', (x, y) => x * y, () => 0],
      ['div', (x, y) => x / y, (_x, _y, r) => 2.5 * eps * Math.abs(r)],
      ['maximum', Math.max, () => 0], ['minimum', Math.min, () => 0],
      ['eq', (x, y) => (x === y ? 1 : 0), () => 0], ['gt', (x, y) => (x > y ? 1 : 0), () => 0],
      ['lt', (x, y) => (x < y ? 1 : 0), () => 0],
      ['relu_grad', (x, g) => (x > 0 ? g : 0), () => 0],
      ['tanh_grad', (y, g) => g * (1 - y * y), (y, g) => gamma(3) * Math.abs(g) * (1 + y * y)],
      ['sigmoid_grad', (y, g) => g * y * (1 - y), (y, g) => gamma(3) * Math.abs(g * y) * (1 + Math.abs(y))],
    ];
    for (const [op, ref, tol] of ops) {
      it(`${op} broadcasts like NumPy`, async () => {
        for (const [aShape, bShape] of shapes) {
          const outShape = broadcastShapes(aShape, bShape);
          const a = random(numel(aShape), 10);
          const b = random(numel(bShape), 11, 0.25, 1.25);
          if (op === 'eq') b[0] = a[0];
          const n = numel(outShape);
          const out = await down(be().binary(op as never, up(a), aShape, up(b), bShape, outShape, 'f32'), n);
          const expected: number[] = [];
          const tols: number[] = [];
          for (let i = 0; i < n; i++) {
            const idx = unravel(i, outShape);
            const x = a[broadcastOffset(aShape, outShape, idx)];
            const y = b[broadcastOffset(bShape, outShape, idx)];
            expected.push(ref(x, y));
            tols.push(tol(x, y, ref(x, y)) + u * Math.abs(ref(x, y)));
          }
          expectWithin(out, expected, (i) => tols[i], `${op} ${JSON.stringify([aShape, bShape])}`);
        }
      });
    }

    it('gelu gradient helpers match their references', async () => {
      const x = Float32Array.from({ length: 161 }, (_, i) => -8 + i * 0.1);
      const g = random(x.length, 12);
      const c = Math.sqrt(2 / Math.PI);
      const tanhRef = (v: number): number => {
        const s = 1 / (1 + Math.exp(-2 * c * (v + 0.044715 * v ** 3)));
        return s + 2 * v * s * (1 - s) * c * (1 + 3 * 0.044715 * v * v);
      };
      const erfRef = (v: number): number =>
        0.5 * erfc(-v * Math.SQRT1_2) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
      for (const [op, ref] of [['gelu_tanh_grad', tanhRef], ['gelu_erf_grad', erfRef]] as const) {
        const out = await down(be().binary(op, up(x), [x.length], up(g), [g.length], [x.length], 'f32'), x.length);
        const expected = Array.from(x, (v, i) => g[i] * ref(v));
        // each term's exp and erfc error (≤ (10 + 2·(2u)² or x²) ulp) scaled by the term's absolute size
        expectWithin(out, expected, (i) => {
          const v = x[i];
          const t = 2 * c * Math.abs(v + 0.044715 * v ** 3);
          return Math.abs(g[i]) * ((12 + 2 * Math.max(t, v * v)) * eps * (1 + Math.abs(v) * (1 + v * v)) + 2 ** -21);
        }, op);
      }
    });

    it('geluWithGrad gives this backend\'s own gelu and gelu_*_grad (with g = 1) bit for bit', async () => {
      const x = Float32Array.from({ length: 321 }, (_, i) => -16 + i * 0.1);
      const ones = new Float32Array(x.length).fill(1);
      for (const op of ['gelu_erf', 'gelu_tanh'] as const) {
        const r = be().geluWithGrad(op, up(x), x.length, 'f32');
        expect(Array.from(await down(r.y, x.length))).toEqual(Array.from(await down(be().unary(op, up(x), x.length, 'f32'), x.length)));
        const grad = be().binary(`${op}_grad`, up(x), [x.length], up(ones), [x.length], [x.length], 'f32');
        expect(Array.from(await down(r.dydx, x.length))).toEqual(Array.from(await down(grad, x.length)));
      }
    });

    it('where picks a or b by cond ≠ 0, broadcasting all three', async () => {
      const cond = [1, 0, 0.5, -0];
      const a = random(3 * 4, 13);
      const b = random(3, 14);
      const out = await down(be().where(up(cond), [4], up(a), [3, 4], up(b), [3, 1], [3, 4], 'f32'), 12);
      const expected = Array.from({ length: 12 }, (_, i) => (cond[i % 4] !== 0 ? a[i] : b[Math.floor(i / 4)]));
      expect(Array.from(out)).toEqual(expected);
    });

    it('cast converts f32 ↔ i32, truncating toward zero', async () => {
      const ints = await be().read(be().cast(up([1.9, -1.9, 0, 7, -3.5]), 5, 'f32', 'i32'), 5, 'i32');
      expect(Array.from(ints)).toEqual([1, -1, 0, 7, -3]);
      const floats = await down(be().cast(upInt([5, -2, 16777217]), 3, 'i32', 'f32'), 3);
      expect(Array.from(floats)).toEqual([5, -2, 16777216]);
    });
  });

  describe('reductions', () => {
    const cases: [Shape, number[]][] = [
      [[3, 4, 5], [0]], [[3, 4, 5], [1]], [[3, 4, 5], [2]], [[3, 4, 5], [0, 2]], [[3, 4, 5], [0, 1, 2]],
      [[3, 4, 5], []], [[2, 1, 3], [1]], [[2, 3000], [1]], [[3000, 7], [0]], [[4, 300, 3], [1]], [[5000], [0]],
    ];
    for (const op of ['sum', 'max'] as const) {
      it(`${op} over any axes matches a direct loop`, async () => {
        for (const [shape, axes] of cases) {
          const x = random(numel(shape), 20 + shape.length);
          const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const n = numel(outShape);
          const out = await down(be().reduce(op, up(x), shape, axes, 'f32'), n);
          const K = numel(axes.map((a) => shape[a]));
          const expected = new Array<number>(n).fill(op === 'sum' ? 0 : -Infinity);
          const absSum = new Array<number>(n).fill(0);
          const outStrides = stridesOf(outShape);
          for (let i = 0; i < x.length; i++) {
            const o = unravel(i, shape).reduce((acc, c, d) => acc + (axes.includes(d) ? 0 : c * outStrides[d]), 0);
            expected[o] = op === 'sum' ? expected[o] + x[i] : Math.max(expected[o], x[i]);
            absSum[o] += Math.abs(x[i]);
          }
          // sequential per thread (K − 1 adds) or strided over 64 threads plus a 6-level tree; the first bounds both
          expectWithin(out, expected, (i) => (op === 'sum' ? gamma(Math.max(K - 1, 1)) * absSum[i] : 0),
            `${op} ${JSON.stringify([shape, axes])}`);
        }
      });
    }

    it('max propagates NaN', async () => {
      const out = await down(be().reduce('max', up([1, NaN, 3]), [3], [0], 'f32'), 1);
      expect(Number.isNaN(out[0])).toBe(true);
    });
  });

  describe('matmul', () => {
    function reference(a: Float32Array, b: Float32Array, p: MatmulParams): { out: number[]; abs: number[] } {
      const { M, K, N } = p;
      const batch = numel(p.batchOut);
      const out: number[] = [];
      const abs: number[] = [];
      for (let z = 0; z < batch; z++) {
        const idx = unravel(z, p.batchOut);
        const offA = broadcastOffset(p.batchA, p.batchOut, idx) * M * K;
        const offB = broadcastOffset(p.batchB, p.batchOut, idx) * K * N;
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let s = 0;
            let sa = 0;
            for (let k = 0; k < K; k++) {
              const av = a[offA + (p.transA ? k * M + m : m * K + k)];
              const bv = b[offB + (p.transB ? n * K + k : k * N + n)];
              s += av * bv;
              sa += Math.abs(av * bv);
            }
            out.push(s);
            abs.push(sa);
          }
        }
      }
      return { out, abs };
    }

    const sizes: [number, number, number][] = [
      [1, 1, 1], [3, 5, 7], [4, 8, 4], [33, 17, 65], [32, 64, 32], [5, 12, 8], [8, 12, 5], [64, 3, 36], [2, 0, 3],
    ];
    for (const kernel of ['register', 'tiled'] as const) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        it(`${kernel}: transA=${transA} transB=${transB} over edge and vec4 shapes`, async () => {
          const b = be();
          b.matmulKernel = kernel;
          try {
            for (const [M, K, N] of sizes) {
              const p: MatmulParams = { batchA: [], batchB: [], batchOut: [], M, K, N, transA, transB };
              const A = random(M * K, M + K);
              const B = random(K * N, K + N + 1);
              const ref = reference(A, B, p);
              const out = await down(b.matmul(up(A), up(B), p, 'f32'), M * N);
              // K products and K − 1 adds in sequence: γ_K·Σ|a||b|
              expectWithin(out, ref.out, (i) => gamma(K) * ref.abs[i], `${M}×${K}×${N}`);
            }
          } finally {
            b.matmulKernel = 'register';
          }
        });
      }
      it(`${kernel}: batch dims broadcast through strides`, async () => {
        const b = be();
        b.matmulKernel = kernel;
        try {
          const p: MatmulParams = { batchA: [2, 1], batchB: [3], batchOut: [2, 3], M: 6, K: 8, N: 12, transA: false, transB: true };
          const A = random(2 * 6 * 8, 30);
          const B = random(3 * 12 * 8, 31);
          const ref = reference(A, B, p);
          const out = await down(b.matmul(up(A), up(B), p, 'f32'), 6 * 6 * 12);
          expectWithin(out, ref.out, (i) => gamma(8) * ref.abs[i], 'batched');
        } finally {
          b.matmulKernel = 'register';
        }
      });
    }

    it('512×512×512: both kernels agree with the reference; GFLOP/s logged', async () => {
      const b = be();
      const n = 512;
      const A = random(n * n, 40);
      const B = random(n * n, 41);
      const a = up(A);
      const bb = up(B);
      const p: MatmulParams = { batchA: [], batchB: [], batchOut: [], M: n, K: n, N: n, transA: false, transB: false };
      for (const kernel of ['register', 'tiled'] as const) {
        b.matmulKernel = kernel;
        b.release(b.matmul(a, bb, p, 'f32')); // compile and warm up
        await down(up([0]), 1);
        const reps = 3;
        const t0 = performance.now();
        let last: unknown = null;
        for (let r = 0; r < reps; r++) {
          if (last) b.release(last);
          last = b.matmul(a, bb, p, 'f32');
        }
        const out = await down(last, n * n);
        const seconds = (performance.now() - t0) / 1000;
        console.log(`matmul 512³ ${kernel}: ${((2 * n ** 3 * reps) / seconds / 1e9).toFixed(2)} GFLOP/s`);
        for (const [m, c] of [[0, 0], [511, 511], [200, 301]]) {
          let s = 0;
          let sa = 0;
          for (let k = 0; k < n; k++) { s += A[m * n + k] * B[k * n + c]; sa += Math.abs(A[m * n + k] * B[k * n + c]); }
          expect(Math.abs(out[m * n + c] - s)).toBeLessThanOrEqual(gamma(n) * sa);
        }
      }
      b.matmulKernel = 'register';
    });
  });

  describe('layout', () => {
    it('permute moves axes (f32 and i32, exactly)', async () => {
      const shape = [2, 3, 4, 5];
      const x = Int32Array.from({ length: 120 }, (_, i) => i * 7 - 300);
      for (const perm of [[0, 1, 2, 3], [3, 2, 1, 0], [0, 2, 1, 3], [1, 0, 3, 2], [2, 3, 0, 1]]) {
        const outShape = perm.map((p) => shape[p]);
        const st = stridesOf(shape);
        const expected = Array.from({ length: 120 }, (_, i) =>
          x[unravel(i, outShape).reduce((acc, c, d) => acc + c * st[perm[d]], 0)]);
        expect(Array.from(await be().read(be().permute(upInt(x), shape, perm, 'i32'), 120, 'i32'))).toEqual(expected);
        expect(Array.from(await down(be().permute(up(x), shape, perm, 'f32'), 120))).toEqual(expected);
      }
    });

    it('slice cuts a box; writeRegion writes one back in place', async () => {
      const shape = [4, 5, 6];
      const x = Float32Array.from({ length: 120 }, (_, i) => i);
      const begin = [1, 2, 3];
      const size = [2, 3, 2];
      const st = stridesOf(shape);
      const at = (idx: number[]): number => idx.reduce((acc, c, d) => acc + (c + begin[d]) * st[d], 0);
      const expected = Array.from({ length: 12 }, (_, i) => x[at(unravel(i, size))]);
      expect(Array.from(await down(be().slice(up(x), shape, begin, size, 'f32'), 12))).toEqual(expected);

      const dst = up(x);
      be().writeRegion(dst, shape, up(Array.from({ length: 12 }, (_, i) => -1 - i)), size, begin, 'f32');
      const written = Array.from(x);
      for (let i = 0; i < 12; i++) written[at(unravel(i, size))] = -1 - i;
      expect(Array.from(await down(dst, 120))).toEqual(written);
    });
  });

  describe('embedding', () => {
    it('gathers rows; an id outside [0, V) gives zeros', async () => {
      const V = 5;
      const D = 3;
      const w = random(V * D, 50);
      const ids = [4, 0, 4, -1, 5, 2];
      const out = await down(be().embedding(up(w), V, D, upInt(ids), ids.length, 'f32'), ids.length * D);
      const expected = ids.flatMap((id) => (id >= 0 && id < V ? Array.from(w.subarray(id * D, id * D + D)) : [0, 0, 0]));
      expect(Array.from(out)).toEqual(expected);
    });

    for (const skip of [-1, 3, 0]) {
      it(`backward scatter-adds gradients of repeated ids${skip >= 0 ? `, none into the padding row ${skip}` : ''}`, async () => {
        const V = 7;
        const D = 70;
        const ids = [3, 1, 3, 3, 6, 0, 1];
        const g = random(ids.length * D, 51);
        const out = await down(be().embeddingBackward(up(g), upInt(ids), ids.length, V, D, 'f32', skip), V * D);
        const expected = new Array<number>(V * D).fill(0);
        const abs = new Array<number>(V * D).fill(0);
        ids.forEach((id, n) => {
          if (id === skip) return;
          for (let d = 0; d < D; d++) { expected[id * D + d] += g[n * D + d]; abs[id * D + d] += Math.abs(g[n * D + d]); }
        });
        if (skip >= 0) expect(Array.from(out.subarray(skip * D, skip * D + D))).toEqual(new Array<number>(D).fill(0));
        expectWithin(out, expected, (i) => gamma(ids.length) * abs[i], 'embeddingBackward');
      });
    }
  });

  describe('fused row kernels', () => {
    /** Rows of mixed scale, including one far from 0 (stability) and one with a dominant entry. */
    function rowsOf(rows: number, cols: number, seed: number): Float32Array {
      const x = random(rows * cols, seed, -3, 3);
      for (let c = 0; c < cols; c++) x[cols + c] += 1000;
      x[2 * cols] = 40;
      return x;
    }
    /** Rounding steps of the kernels' row sums: ceil(cols/wg) − 1 sequential adds, then log2(wg) tree levels. */
    const sumDepth = (cols: number): number => Math.ceil(cols / rowThreads(cols)) - 1 + Math.log2(rowThreads(cols));

    for (const cols of [5, 100, 2000]) {
      it(`softmax and log_softmax are stable and match the reference (cols=${cols})`, async () => {
        const rows = 4;
        const x = rowsOf(rows, cols, 60 + cols);
        const soft = await down(be().softmax(up(x), rows, cols, 'f32', false), rows * cols);
        const logSoft = await down(be().softmax(up(x), rows, cols, 'f32', true), rows * cols);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
          const m = Math.max(...row);
          const range = Math.max(...row.map((v) => m - v));
          const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
          // each exp (3 + 2·range ulp), the sum (its depth), the division (2.5)
          const relExp = (3 + 2 * range) * eps;
          const relSum = relExp + gamma(sumDepth(cols));
          expectWithin(soft.subarray(r * cols, (r + 1) * cols), row.map((v) => Math.exp(v - m) / s),
            (j) => (relExp + relSum + 3 * eps) * Math.exp(row[j] - m) / s, `softmax row ${r}`);
          // (x − m) exact or within u|x − m|, log(s) within 3 ulp (or 2^-21), d log s = ds/s
          const logErr = Math.max(3 * eps * Math.abs(Math.log(s)), 2 ** -21) + relSum;
          expectWithin(logSoft.subarray(r * cols, (r + 1) * cols), row.map((v) => v - m - Math.log(s)),
            (j) => logErr + 2 * u * (Math.abs(row[j] - m) + Math.log(s)), `log_softmax row ${r}`);
        }
      });
    }

    for (const cols of [7, 64, 1500]) {
      it(`layernorm forward and backward match llm.c's formulas (cols=${cols})`, async () => {
        const rows = 3;
        const x = random(rows * cols, 70 + cols, -2, 2);
        for (let c = 0; c < cols; c++) x[c] += 10; // a row with a large mean
        const gam = random(cols, 71, 0.5, 1.5);
        const bet = random(cols, 72);
        const g = random(rows * cols, 73);
        const epsLn = 1e-5;
        const b = be();
        const fwd = b.layernorm(up(x), up(gam), up(bet), rows, cols, epsLn, 'f32');
        const y = await down(fwd.y, rows * cols);
        const mean = await down(fwd.mean, rows);
        const rstd = await down(fwd.rstd, rows);
        const D = sumDepth(cols);
        const refDx: number[] = [];
        const tolDx: number[] = [];
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
          const mu = row.reduce((a, v) => a + v, 0) / cols;
          const absMean = row.reduce((a, v) => a + Math.abs(v), 0) / cols;
          const variance = row.reduce((a, v) => a + (v - mu) ** 2, 0) / cols;
          const rs = 1 / Math.sqrt(variance + epsLn);
          // mean: a sum of cols terms and a division; variance: the same on (x − μ)² whose μ carries δμ
          const dMu = gamma(D + 1) * absMean;
          const relVar = gamma(D + 3) + (2 * dMu * Math.sqrt(variance)) / variance;
          const relR = relVar / 2 + 3 * eps; // inverseSqrt 2 ulp + the add of eps
          expect(Math.abs(mean[r] - mu)).toBeLessThanOrEqual(dMu + u * Math.abs(mu));
          expect(Math.abs(rstd[r] - rs)).toBeLessThanOrEqual(relR * rs);
          expectWithin(y.subarray(r * cols, (r + 1) * cols), row.map((v, c) => (v - mu) * rs * gam[c] + bet[c]),
            (c) => Math.abs(gam[c]) * rs * (dMu + Math.abs(row[c] - mu) * (relR + gamma(4))) + gamma(2) * Math.abs(bet[c]) +
              u * Math.abs((row[c] - mu) * rs * gam[c] + bet[c]), `layernorm y row ${r}`);
          // dx = rstd·(dy − mean(dy) − xhat·mean(dy·xhat)), from the kernel's own mean and rstd
          const xhat = row.map((v) => (v - mean[r]) * rstd[r]);
          const dy = row.map((_, c) => g[r * cols + c] * gam[c]);
          const a = dy.reduce((s, v) => s + v, 0) / cols;
          const bm = dy.reduce((s, v, c) => s + v * xhat[c], 0) / cols;
          const absA = dy.reduce((s, v) => s + Math.abs(v), 0) / cols;
          const absB = dy.reduce((s, v, c) => s + Math.abs(v * xhat[c]), 0) / cols;
          for (let c = 0; c < cols; c++) {
            refDx.push(rstd[r] * (dy[c] - a - xhat[c] * bm));
            // γ_{D+6} on every term's absolute size (sums of depth D, their divisions, xhat's two ops, the rest)
            tolDx.push(gamma(D + 8) * rstd[r] * (Math.abs(dy[c]) + absA + Math.abs(xhat[c]) * (absB + Math.abs(bm))));
          }
        }
        const need = { dx: true, dgamma: true, dbeta: true };
        const bwd = b.layernormBackward(up(x), up(g), up(gam), fwd.mean, fwd.rstd, rows, cols, 'f32', need);
        expectWithin(await down(bwd.dx, rows * cols), refDx, (i) => tolDx[i], 'dx');
        const refDg = new Array<number>(cols).fill(0);
        const absDg = new Array<number>(cols).fill(0);
        const refDb = new Array<number>(cols).fill(0);
        const absDb = new Array<number>(cols).fill(0);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const gv = g[r * cols + c];
            const xh = (x[r * cols + c] - mean[r]) * rstd[r];
            refDg[c] += gv * xh;
            absDg[c] += Math.abs(gv * xh);
            refDb[c] += gv;
            absDb[c] += Math.abs(gv);
          }
        }
        expectWithin(await down(bwd.dgamma, cols), refDg, (c) => gamma(rows + 3) * absDg[c], 'dgamma');
        expectWithin(await down(bwd.dbeta, cols), refDb, (c) => gamma(rows) * absDb[c], 'dbeta');
        // subsets: only dbeta, only dx
        const onlyDb = b.layernormBackward(up(x), up(g), up(gam), fwd.mean, fwd.rstd, rows, cols, 'f32',
          { dx: false, dgamma: false, dbeta: true });
        expect(onlyDb.dx).toBeUndefined();
        expectWithin(await down(onlyDb.dbeta, cols), refDb, (c) => gamma(rows) * absDb[c], 'dbeta only');
        const onlyDx = b.layernormBackward(up(x), up(g), up(gam), fwd.mean, fwd.rstd, rows, cols, 'f32',
          { dx: true, dgamma: false, dbeta: false });
        expectWithin(await down(onlyDx.dx, rows * cols), refDx, (i) => tolDx[i], 'dx only');
      });
    }

    for (const cols of [6, 300, 5000]) {
      it(`cross-entropy and its backward match the reference, ignoring ignoreIndex rows (cols=${cols})`, async () => {
        const rows = 5;
        const x = rowsOf(rows, cols, 80 + cols);
        const targets = [0, cols - 1, -100, 2, 1];
        const g = [0.5, -1, 2, 1, 0.25];
        const b = be();
        const { loss, valid } = b.crossEntropy(up(x), upInt(targets), rows, cols, -100, 'f32');
        const lossOut = await down(loss, rows);
        expect(Array.from(await down(valid, rows))).toEqual([1, 1, 0, 1, 1]);
        const dl = await down(b.crossEntropyBackward(up(x), upInt(targets), up(g), rows, cols, -100, 'f32'), rows * cols);
        for (let r = 0; r < rows; r++) {
          const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
          if (targets[r] === -100) {
            expect(lossOut[r]).toBe(0);
            expect(dl.subarray(r * cols, (r + 1) * cols).every((v) => v === 0)).toBe(true);
            continue;
          }
          const m = Math.max(...row);
          const range = Math.max(...row.map((v) => m - v));
          const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
          const relExp = (3 + 2 * range) * eps;
          const relSum = relExp + gamma(sumDepth(cols));
          const t = targets[r];
          const ref = Math.log(s) - (row[t] - m);
          expect(Math.abs(lossOut[r] - ref)).toBeLessThanOrEqual(
            Math.max(3 * eps * Math.abs(Math.log(s)), 2 ** -21) + relSum + 2 * u * (Math.abs(row[t] - m) + Math.abs(ref)));
          expectWithin(dl.subarray(r * cols, (r + 1) * cols),
            row.map((v, j) => g[r] * (Math.exp(v - m) / s - (j === t ? 1 : 0))),
            (j) => Math.abs(g[r]) * ((relExp + relSum + 4 * eps) * Math.exp(row[j] - m) / s + (j === t ? 2 * eps : 0)),
            `dlogits row ${r}`);
        }
      });
    }
  });

  describe('dropout', () => {
    it('draws the counter-based mask bit for bit: keep = uniformAt(seed, i) ≥ p', async () => {
      const n = 10000;
      const x = random(n, 90, 0.5, 1.5);
      for (const [p, seed] of [[0.1, 7], [0.5, 123456789], [0.9, 0xffffffff], [0, 3], [1, 4]]) {
        const out = await down(be().dropout(up(x), n, p, seed, 'f32'), n);
        for (let i = 0; i < n; i++) {
          const keep = uniformAt(seed, i) >= p;
          const expected = keep ? x[i] / (1 - p) : 0;
          if (keep !== (out[i] !== 0) || Math.abs(out[i] - expected) > 2 * u * Math.abs(expected) + u * Math.abs(expected)) {
            throw new Error(`p=${p} seed=${seed} element ${i}: got ${out[i]}, expected ${expected}`);
          }
        }
      }
    });
  });

  describe('optimizers', () => {
    it('adamw updates param, m and v in place as torch does', async () => {
      const n = 1000;
      const w = random(n, 100);
      const g = random(n, 101);
      const m = random(n, 102, -0.1, 0.1);
      const v = random(n, 103, 0, 0.01);
      const p = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, bias1: 1 - 0.9 ** 3, bias2: 1 - 0.999 ** 3 };
      const b = be();
      const [ws, ms, vs] = [up(w), up(m), up(v)];
      b.adamw(ws, up(g), ms, vs, n, p, 'f32');
      const [wo, mo, vo] = [await down(ws, n), await down(ms, n), await down(vs, n)];
      for (let i = 0; i < n; i++) {
        const mi = p.beta1 * m[i] + (1 - p.beta1) * g[i];
        const vi = p.beta2 * v[i] + (1 - p.beta2) * g[i] * g[i];
        const decayed = w[i] * (1 - p.lr * p.weightDecay);
        const step = (p.lr * (mi / p.bias1)) / (Math.sqrt(vi / p.bias2) + p.eps);
        // parameters in f32 (relative u each), then a handful of roundings on every term
        expect(Math.abs(mo[i] - mi)).toBeLessThanOrEqual(gamma(5) * (Math.abs(m[i]) + Math.abs(g[i])));
        expect(Math.abs(vo[i] - vi)).toBeLessThanOrEqual(gamma(6) * (v[i] + g[i] * g[i]));
        // the step's quotient: m (γ5), v under sqrt (γ6/2 + 2.5 ulp), divisions 2·2.5 ulp, + 4 roundings
        expect(Math.abs(wo[i] - (decayed - step))).toBeLessThanOrEqual(
          gamma(4) * Math.abs(w[i]) + (gamma(5) * (1 + Math.abs(m[i] / mi)) + gamma(3) + 12 * eps) * Math.abs(step) + u * Math.abs(decayed - step));
      }
    });

    it('sgd with momentum, dampening and nesterov, and without a buffer', async () => {
      const n = 500;
      const w = random(n, 110);
      const g = random(n, 111);
      const buf = random(n, 112);
      const b = be();
      for (const nesterov of [false, true]) {
        const p = { lr: 0.1, momentum: 0.9, weightDecay: 0.01, dampening: 0.1, nesterov };
        const [ws, bs] = [up(w), up(buf)];
        b.sgd(ws, up(g), bs, n, p, 'f32');
        const [wo, bo] = [await down(ws, n), await down(bs, n)];
        for (let i = 0; i < n; i++) {
          const d = g[i] + p.weightDecay * w[i];
          const bi = p.momentum * buf[i] + (1 - p.dampening) * d;
          const step = nesterov ? d + p.momentum * bi : bi;
          const absD = Math.abs(g[i]) + Math.abs(p.weightDecay * w[i]);
          const absB = p.momentum * Math.abs(buf[i]) + absD;
          expect(Math.abs(bo[i] - bi)).toBeLessThanOrEqual(gamma(6) * absB);
          expect(Math.abs(wo[i] - (w[i] - p.lr * step))).toBeLessThanOrEqual(
            gamma(10) * (Math.abs(w[i]) + p.lr * (absB + absD)));
        }
      }
      const ws = up(w);
      b.sgd(ws, up(g), null, n, { lr: 0.5, momentum: 0, weightDecay: 0, dampening: 0, nesterov: false }, 'f32');
      const wo = await down(ws, n);
      expectWithin(wo, Array.from(w, (wi, i) => wi - 0.5 * g[i]), (i) => gamma(2) * (Math.abs(w[i]) + Math.abs(0.5 * g[i])), 'sgd');
    });
  });
});
