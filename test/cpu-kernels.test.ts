import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { BackendError, type MatmulParams } from '../src/autograd/backend.js';
import { type Shape, numel, stridesOf, broadcastShapes } from '../src/autograd/shape.js';
import { CpuBackend, cpu, cpuMatmulKernel, setCpuMatmulKernel, setStoragePoolLimit, storagePoolInfo } from '../src/kernels/cpu/index.js';
import { erf, erfc, geluErf, geluErfGrad, geluTanh, geluTanhGrad } from '../src/kernels/cpu/pointwise.js';
import { uniformAt, Rng } from '../src/kernels/rng.js';

const f64 = (xs: ArrayLike<number>) => Float64Array.from(xs);
const f32 = (xs: ArrayLike<number>) => Float32Array.from(xs);
const i32 = (xs: ArrayLike<number>) => Int32Array.from(xs);
const arr = (s: unknown) => Array.from(s as Float64Array);

function random(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.uniform(lo, hi));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (error ${err}, tol ${tol})`);
    }
  }
}

/** Reads element `index` (multi-index into outShape) of a tensor of `shape` broadcast to outShape. */
function broadcastRead(x: ArrayLike<number>, shape: Shape, outShape: Shape, index: number[]): number {
  const st = stridesOf(shape);
  let off = 0;
  for (let i = 0; i < shape.length; i++) {
    const o = outShape.length - shape.length + i;
    off += (shape[i] === 1 ? 0 : index[o]) * st[i];
  }
  return x[off];
}

function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = flat % shape[d]; flat = Math.floor(flat / shape[d]); }
  return idx;
}

/** Central difference of a scalar function of x at every element, in f64. */
function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice(); xp[i] += h;
    const xm = x.slice(); xm[i] -= h;
    g[i] = (f(xp) - f(xm)) / (2 * h);
  }
  return g;
}

describe('cpu backend: memory and bookkeeping', () => {
  it('stores typed arrays; upload and read copy; read and readSync count readbacks', async () => {
    const be = new CpuBackend();
    expect(be.name).toBe('cpu');
    expect(be.dtypes).toEqual(['f32', 'f64', 'i32']);
    expect(be.zeros(3, 'f32')).toBeInstanceOf(Float32Array);
    expect(be.zeros(3, 'f64')).toBeInstanceOf(Float64Array);
    expect(be.zeros(3, 'i32')).toBeInstanceOf(Int32Array);
    const data = f32([1, 2, 3]);
    const s = be.upload(data, 'f32');
    data[0] = 99;
    const r = be.readSync(s, 3, 'f32');
    expect(arr(r)).toEqual([1, 2, 3]);
    r[1] = 77;
    expect(arr(await be.read(s, 3, 'f32'))).toEqual([1, 2, 3]);
    expect(be.stats.readbacks).toBe(2);
    expect(be.upload(i32([1, 2]), 'f64')).toBeInstanceOf(Float64Array);
  });

  it('counts launches under op-level kernel names', () => {
    const be = new CpuBackend();
    be.unary('exp', f32([0]), 1, 'f32');
    be.binary('mul', f32([1]), [1], f32([2]), [1], [1], 'f32');
    be.binary('mul', f32([1]), [1], f32([2]), [1], [1], 'f32');
    be.reduce('sum', f32([1, 2]), [2], [0], 'f32');
    be.softmax(f32([1, 2]), 1, 2, 'f32', true);
    const p: MatmulParams = { batchA: [], batchB: [], batchOut: [], M: 1, K: 1, N: 1, transA: false, transB: false };
    be.matmul(f32([2]), f32([3]), p, 'f32');
    expect(Object.fromEntries(be.stats.launches)).toEqual({
      'unary:exp': 1, 'binary:mul': 2, 'reduce:sum': 1, log_softmax: 1, matmul: 1,
    });
    expect(be.stats.submits).toBe(0);
  });

  it('rejects a storage of the wrong dtype with a BackendError', () => {
    expect(() => cpu.unary('exp', f64([1]), 1, 'f32')).toThrow(BackendError);
    expect(() => cpu.unary('exp', f32([1]), 1, 'f32')).not.toThrow();
    expect(() => cpu.unary('exp', f32([1]), 2, 'f32')).toThrow(/holds 1 elements/);
  });
});

describe('cpu erf', () => {
  it('matches known values to ~1e-15 relative', () => {
    const known: [number, number][] = [
      [0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
      [-3, -0.9999779095030014], [0.1, 0.1124629160182849], [-0.3, -0.32862675945912742],
      [4.5, 0.9999999998033839], [1e-10, 1.1283791670955126e-10],
    ];
    for (const [x, want] of known) {
      expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(2e-15 * Math.abs(want));
    }
    expect(Math.abs(erfc(5) - 1.5374597944280349e-12)).toBeLessThan(1e-15 * 1.5374597944280349e-12 * 4);
    expect(erf(30)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });

  it('is the unary erf kernel', () => {
    expectClose(cpu.unary('erf', f64([0.5, 1, 2, -3]), 4, 'f64') as Float64Array,
      [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.9999779095030014], 2e-15);
  });
});

describe('cpu unary', () => {
  const xs = [-2, -0.5, 0, 0.7, 3];
  const cases: [Parameters<typeof cpu.unary>[0], (x: number) => number, number?][] = [
    ['neg', (x) => -x], ['exp', Math.exp], ['abs', Math.abs], ['square', (x) => x * x], ['tanh', Math.tanh],
    ['sigmoid', (x) => 1 / (1 + Math.exp(-x))], ['relu', (x) => Math.max(0, x)],
    ['gelu_tanh', (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))],
    ['gelu_erf', (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
    ['mul_scalar', (x) => x * 2.5, 2.5], ['add_scalar', (x) => x - 1, -1], ['pow_scalar', (x) => x ** 2, 2],
  ];
  for (const [op, ref, param] of cases) {
    it(`${op} matches its formula in f64 and writes f32 for f32`, () => {
      expectClose(cpu.unary(op, f64(xs), xs.length, 'f64', param) as Float64Array, xs.map(ref), 1e-14);
      const out = cpu.unary(op, f32(xs), xs.length, 'f32', param);
      expect(out).toBeInstanceOf(Float32Array);
      expectClose(out as Float32Array, xs.map(ref), 1e-6);
    });
  }

  it('log, sqrt, rsqrt on positive inputs', () => {
    const pos = [0.25, 1, 4];
    expectClose(cpu.unary('log', f64(pos), 3, 'f64') as Float64Array, pos.map(Math.log));
    expectClose(cpu.unary('sqrt', f64(pos), 3, 'f64') as Float64Array, [0.5, 1, 2]);
    expectClose(cpu.unary('rsqrt', f64(pos), 3, 'f64') as Float64Array, [2, 1, 0.5]);
  });

  it('gelu values at 1: erf form 0.8413447460685429, tanh form 0.8411919906082768', () => {
    expectClose(cpu.unary('gelu_erf', f64([1]), 1, 'f64') as Float64Array, [0.8413447460685429], 1e-15);
    expectClose(cpu.unary('gelu_tanh', f64([1]), 1, 'f64') as Float64Array, [0.8411919906082768], 1e-15);
  });

  it('the GELU forms, whose constants are literals (the pool workers see no module scope), equal the Math expressions bit for bit', () => {
    const k = Math.sqrt(2 / Math.PI);
    fc.assert(fc.property(fc.double({ min: -12, max: 12, noNaN: true }), (x) => {
      const u = k * (x + 0.044715 * x * x * x);
      const s = 1 / (1 + Math.exp(-2 * u));
      expect(geluTanh(x)).toBe(x / (1 + Math.exp(-2 * u)));
      expect(geluTanhGrad(x)).toBe(s + 2 * x * s * (1 - s) * (k * (1 + 3 * 0.044715 * x * x)));
      expect(geluErf(x)).toBe(0.5 * x * erfc(-x * Math.SQRT1_2));
      expect(geluErfGrad(x)).toBe(0.5 * erfc(-x * Math.SQRT1_2) + x * (1 / Math.sqrt(2 * Math.PI)) * Math.exp(-0.5 * x * x));
    }), { numRuns: 2000 });
  });

  it('geluWithGrad gives unary\'s gelu bit for bit and gelu_*_grad\'s derivative (bit for bit in TypeScript, within the bound in SIMD), in f32 and f64', () => {
    const xs = fc.array(fc.oneof(fc.double({ min: -12, max: 12, noNaN: true }), fc.constantFrom(0, -0, 0.66, -0.66, 30, -30, 1e-30)),
      { minLength: 1, maxLength: 300 });
    fc.assert(fc.property(xs, fc.constantFrom('gelu_erf', 'gelu_tanh') as fc.Arbitrary<'gelu_erf' | 'gelu_tanh'>,
      fc.constantFrom('f32', 'f64') as fc.Arbitrary<'f32' | 'f64'>, (values, op, dtype) => {
        const n = values.length;
        const x = dtype === 'f32' ? f32(values) : f64(values);
        const r = cpu.geluWithGrad(op, x, n, dtype);
        expect(Array.from(r.y as Float32Array)).toEqual(Array.from(cpu.unary(op, x, n, dtype) as Float32Array));
        const ones = dtype === 'f32' ? f32(new Array(n).fill(1)) : f64(new Array(n).fill(1));
        const grad = cpu.binary(`${op}_grad`, x, [n], ones, [n], [n], dtype) as Float32Array;
        const d = r.dydx as Float32Array;
        if (op === 'gelu_erf' && dtype === 'f32' && cpuMatmulKernel() === 'wasm-simd') {
          // f32 gelu_erf runs the SIMD module (cpu-gelu-simd.test.ts): its derivative within that module's bound
          for (let i = 0; i < n; i++) {
            const v = x[i]!, scale = Math.max(Math.abs(grad[i]!), Math.abs(v * 0.3989422804014327 * Math.exp(-0.5 * v * v)));
            expect(Math.abs(d[i]! - grad[i]!)).toBeLessThanOrEqual(14 * 2 ** -24 * scale + 2 ** -140);
          }
          setCpuMatmulKernel('typescript');
          const t = cpu.geluWithGrad(op, x, n, dtype).dydx as Float32Array;
          setCpuMatmulKernel(null);
          expect(Array.from(t)).toEqual(Array.from(grad)); // and the TypeScript kernel's bit for bit
        } else {
          expect(Array.from(d)).toEqual(Array.from(grad));
        }
      }), { numRuns: 200 });
  });

  it('handles n = 0', () => {
    expect((cpu.unary('exp', f32([]), 0, 'f32') as Float32Array).length).toBe(0);
  });
});

describe('cpu binary', () => {
  const run = (op: Parameters<typeof cpu.binary>[0], a: number[], aShape: Shape, b: number[], bShape: Shape) =>
    arr(cpu.binary(op, f64(a), aShape, f64(b), bShape, broadcastShapes(aShape, bShape), 'f64'));

  it('elementwise arithmetic on equal shapes', () => {
    expect(run('add', [1, 2, 3], [3], [10, 20, 30], [3])).toEqual([11, 22, 33]);
    expect(run('sub', [1, 2, 3], [3], [10, 20, 30], [3])).toEqual([-9, -18, -27]);
    expect(run('mul', [1, 2, 3], [3], [10, 20, 30], [3])).toEqual([10, 40, 90]);
    expect(run('div', [1, 2, 3], [3], [2, 4, 6], [3])).toEqual([0.5, 0.5, 0.5]);
    expect(run('pow', [2, 3, 4], [3], [3, 2, 0.5], [3])).toEqual([8, 9, 2]);
    expect(run('maximum', [1, 5, 3], [3], [4, 2, 3], [3])).toEqual([4, 5, 3]);
    expect(run('minimum', [1, 5, 3], [3], [4, 2, 3], [3])).toEqual([1, 2, 3]);
  });

  it('comparisons give 1 or 0', () => {
    expect(run('eq', [1, 2, 3], [3], [1, 0, 3], [3])).toEqual([1, 0, 1]);
    expect(run('gt', [1, 2, 3], [3], [2, 2, 2], [1])).toEqual([0, 0, 1]);
    expect(run('lt', [1, 2, 3], [3], [2], [])).toEqual([1, 0, 0]);
  });

  it('broadcasts a row, a column, a scalar and rank 0', () => {
    expect(run('add', [1, 2, 3, 4, 5, 6], [2, 3], [10, 20, 30], [3])).toEqual([11, 22, 33, 14, 25, 36]);
    expect(run('mul', [1, 2], [2, 1], [1, 10, 100], [1, 3])).toEqual([1, 10, 100, 2, 20, 200]);
    expect(run('sub', [5], [], [1, 2, 3, 4], [2, 2])).toEqual([4, 3, 2, 1]);
    expect(run('div', [1, 2, 3, 4], [2, 2], [2], [1, 1])).toEqual([0.5, 1, 1.5, 2]);
    expect(run('mul', [3], [], [4], [])).toEqual([12]);
  });

  it('general broadcasting matches an index-by-index reference', () => {
    const aShape = [2, 1, 3, 1];
    const bShape = [4, 1, 5];
    const outShape = broadcastShapes(aShape, bShape);
    const a = random(numel(aShape), 1);
    const b = random(numel(bShape), 2);
    const out = cpu.binary('sub', a, aShape, b, bShape, outShape, 'f64') as Float64Array;
    const want = Array.from({ length: numel(outShape) }, (_, i) => {
      const idx = unravel(i, outShape);
      return broadcastRead(a, aShape, outShape, idx) - broadcastRead(b, bShape, outShape, idx);
    });
    expect(arr(out)).toEqual(want);
  });

  it('writes f32 for f32 operands and handles size 0', () => {
    expect(cpu.binary('add', f32([1]), [1], f32([2]), [1], [1], 'f32')).toBeInstanceOf(Float32Array);
    expect((cpu.binary('add', f32([]), [0, 3], f32([1, 2, 3]), [3], [0, 3], 'f32') as Float32Array).length).toBe(0);
  });

  it('gradient helpers: relu, tanh, sigmoid in closed form; gelu derivatives match finite differences', () => {
    const x = [-1.5, -0.2, 0, 0.3, 2];
    const g = [1, 2, 3, 4, 5];
    expect(run('relu_grad', x, [5], g, [5])).toEqual([0, 0, 0, 4, 5]);
    const y = x.map(Math.tanh);
    expectClose(run('tanh_grad', y, [5], g, [5]), y.map((v, i) => g[i] * (1 - v * v)));
    const s = x.map((v) => 1 / (1 + Math.exp(-v)));
    expectClose(run('sigmoid_grad', s, [5], g, [5]), s.map((v, i) => g[i] * v * (1 - v)));
    for (const kind of ['gelu_tanh', 'gelu_erf'] as const) {
      const fwd = (v: number) => (cpu.unary(kind, f64([v]), 1, 'f64') as Float64Array)[0];
      const h = 1e-5;
      const want = x.map((v, i) => (g[i] * (fwd(v + h) - fwd(v - h))) / (2 * h));
      expectClose(run(`${kind}_grad`, x, [5], g, [5]), want, 1e-8);
    }
  });
});

describe('cpu gelu_erf in f32 (one-exp forms)', () => {
  // the f32 kernels use exp(−x²/2) in one piece; the bound stated in unary.ts: within 1 f32 ulp of the f64 forms
  const ulps = (a: number, b: number) => {
    const bits = new Int32Array(new Float32Array([a, b]).buffer);
    return Math.abs(bits[0] - bits[1]);
  };
  it('gelu_erf and g·gelu_erf′ on f32 storages (the TypeScript forms) are the f64 kernels\' values rounded to f32, within 1 ulp, over the whole line', () => {
    setCpuMatmulKernel('typescript'); // the SIMD kernel's own bounds: cpu-gelu-simd.test.ts
    const rng = new Rng(11);
    const xs = Float32Array.from({ length: 200000 }, (_, i) =>
      i % 2 ? rng.uniform(-15, 15) : rng.uniform(-1, 1) * 2 ** rng.uniform(-30, 3));
    xs.set([0, -0, 0.46875 * Math.SQRT2, -0.46875 * Math.SQRT2, 4 * Math.SQRT2, -4 * Math.SQRT2, 40, -40, NaN], 0);
    const g = Float32Array.from({ length: xs.length }, () => rng.uniform(-2, 2));
    const n = xs.length;
    const y32 = cpu.unary('gelu_erf', xs, n, 'f32') as Float32Array;
    const y64 = cpu.unary('gelu_erf', Float64Array.from(xs), n, 'f64') as Float64Array;
    const d32 = cpu.binary('gelu_erf_grad', xs, [n], g, [n], [n], 'f32') as Float32Array;
    const d64 = cpu.binary('gelu_erf_grad', Float64Array.from(xs), [n], Float64Array.from(g), [n], [n], 'f64') as Float64Array;
    let worst = 0;
    let differing = 0;
    for (let i = 0; i < n; i++) {
      for (const [got, want] of [[y32[i], y64[i]], [d32[i], d64[i]]]) {
        if (Number.isNaN(want)) { expect(got).toBeNaN(); continue; }
        const u = ulps(got, Math.fround(want));
        worst = Math.max(worst, u);
        if (u) differing++;
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    // a 1-ulp difference needs the exact value within ~3e-14 (relative) of an f32 rounding boundary: rare
    expect(differing).toBeLessThan(n / 1000);
    setCpuMatmulKernel(null);
  });
});

describe('cpu storage pool', () => {
  it('a released storage comes back zeroed for the same kind and length, once even if released twice; small ones are not kept', () => {
    const n = 40000;
    const a = cpu.zeros(n, 'f32') as Float32Array;
    a.fill(7);
    cpu.release(a);
    cpu.release(a);
    const b = cpu.zeros(n, 'f32') as Float32Array;
    const c = cpu.zeros(n, 'f32') as Float32Array;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
    // another dtype or length never gets it
    cpu.release(b);
    expect(cpu.zeros(n, 'f64')).not.toBe(b);
    expect(cpu.zeros(n + 1, 'f32')).not.toBe(b);
    expect(cpu.unary('neg', f32(new Array(n).fill(1)), n, 'f32')).toBe(b);
    const small = cpu.zeros(8, 'f32');
    cpu.release(small);
    expect(cpu.zeros(8, 'f32')).not.toBe(small);
  });

  it('keeps at most its limit: setStoragePoolLimit drops what is beyond it and refuses a bad limit', () => {
    setStoragePoolLimit(0); // empties the pool
    expect(storagePoolInfo()).toEqual({ arrays: 0, bytes: 0 });
    setStoragePoolLimit(1 << 30);
    const n = 50000; // 200 KB of f32
    const arrays = Array.from({ length: 4 }, () => cpu.zeros(n, 'f32') as Float32Array);
    for (const a of arrays) cpu.release(a);
    expect(storagePoolInfo()).toEqual({ arrays: 4, bytes: 4 * 4 * n });
    setStoragePoolLimit(2 * 4 * n); // room for two of them
    expect(storagePoolInfo()).toEqual({ arrays: 2, bytes: 2 * 4 * n });
    const extra = cpu.zeros(n + 1, 'f32');
    cpu.release(extra); // would pass the limit: left to the garbage collector
    expect(storagePoolInfo()).toEqual({ arrays: 2, bytes: 2 * 4 * n });
    expect(cpu.zeros(n + 1, 'f32')).not.toBe(extra);
    expect(() => setStoragePoolLimit(-1)).toThrow(/storage pool limit: expected a whole number of bytes ≥ 0, got -1/);
    setStoragePoolLimit(1 << 30);
  });
});

describe('cpu kernels that skip zeroing their output', () => {
  it('write every element: over reused storages poisoned with NaN they give the fresh results, bit for bit', () => {
    const [rows, cols] = [96, 96]; // 9 K elements (= the attention scores, 2·2·48·48): big enough for the pool to keep
    const n = rows * cols;
    const rng = new Rng(3);
    const up = (len: number) => cpu.upload(Float32Array.from({ length: len }, () => rng.uniform(-2, 2)), 'f32');
    const x = up(n), y = up(n), bias = up(cols), gamma = up(cols), beta = up(cols);
    const cond = cpu.upload(Float32Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0), 'f32');
    const keyMask = cpu.upload(Float32Array.from({ length: 2 * 48 }, (_, i) => i % 5 === 4 ? 0 : 1), 'f32');
    const p = { B: 2, H: 2, T: 48, S: 48, scale: 0.125, causal: true, p: 0.25, seed: 9, fill: -3.4e38 };
    const run = (): Float32Array[] => {
      const ln = cpu.layernorm(x, gamma, beta, rows, cols, 1e-5, 'f32');
      const lnb = cpu.layernormBackward(x, y, gamma, ln.mean, ln.rstd, rows, cols, 'f32', { dx: true, dgamma: false, dbeta: false });
      const probs = cpu.attentionProbs(y, keyMask, p, 'f32');
      return [
        cpu.unary('gelu_erf', x, n, 'f32'), cpu.binary('add', x, [rows, cols], bias, [cols], [rows, cols], 'f32'),
        cpu.where(cond, [n], x, [n], y, [n], [n], 'f32'), cpu.permute(x, [rows, cols], [1, 0], 'f32'),
        cpu.softmax(x, rows, cols, 'f32', false), cpu.dropout(x, n, 0.3, 5, 'f32'), ln.y, lnb.dx!,
        cpu.slice(x, [rows, cols], [0, 1], [rows, cols - 1], 'f32'),
        probs.probs, probs.softmax!, cpu.attentionProbsBackward(probs.softmax!, x, keyMask, p, 'f32'),
      ] as Float32Array[];
    };
    const first = run();
    const fresh = first.map((a) => Array.from(a));
    for (const a of first) { a.fill(NaN); cpu.release(a); }
    const again = run();
    expect(again.filter((a) => first.includes(a)).length).toBeGreaterThan(8); // the poisoned arrays did come back
    expect(again.map((a) => Array.from(a))).toEqual(fresh);
  });
});

describe('cpu where', () => {
  it('selects with broadcasting of cond, a and b', () => {
    const out = cpu.where(f64([1, 0]), [2, 1], f64([1, 2, 3]), [3], f64([-1]), [], [2, 3], 'f64');
    expect(arr(out)).toEqual([1, 2, 3, -1, -1, -1]);
  });
});

describe('cpu reduce', () => {
  // x (2, 3, 2) = 0..11
  const x = f64(Array.from({ length: 12 }, (_, i) => i));
  const shape = [2, 3, 2];

  it('sums over any set of axes, keeping them as size 1', () => {
    expect(arr(cpu.reduce('sum', x, shape, [0], 'f64'))).toEqual([6, 8, 10, 12, 14, 16]);
    expect(arr(cpu.reduce('sum', x, shape, [1], 'f64'))).toEqual([6, 9, 24, 27]);
    expect(arr(cpu.reduce('sum', x, shape, [2], 'f64'))).toEqual([1, 5, 9, 13, 17, 21]);
    expect(arr(cpu.reduce('sum', x, shape, [0, 2], 'f64'))).toEqual([14, 22, 30]);
    expect(arr(cpu.reduce('sum', x, shape, [0, 1, 2], 'f64'))).toEqual([66]);
    expect(arr(cpu.reduce('sum', x, shape, [], 'f64'))).toEqual(arr(x));
  });

  it('max over axes', () => {
    const y = f64([3, -1, 7, 2, 9, -4]);
    expect(arr(cpu.reduce('max', y, [2, 3], [1], 'f64'))).toEqual([7, 9]);
    expect(arr(cpu.reduce('max', y, [2, 3], [0], 'f64'))).toEqual([3, 9, 7]);
    expect(arr(cpu.reduce('max', y, [2, 3], [0, 1], 'f64'))).toEqual([9]);
    expect(arr(cpu.reduce('max', f64([1, NaN, 2]), [3], [0], 'f64'))).toEqual([NaN]);
  });

  it('rank 0, empty inputs and f32 output', () => {
    expect(arr(cpu.reduce('sum', f64([5]), [], [], 'f64'))).toEqual([5]);
    expect(arr(cpu.reduce('sum', f64([]), [3, 0], [1], 'f64'))).toEqual([0, 0, 0]);
    expect((cpu.reduce('sum', f64([]), [0, 3], [1], 'f64') as Float64Array).length).toBe(0);
    expect(cpu.reduce('sum', f32([1, 2]), [2], [0], 'f32')).toBeInstanceOf(Float32Array);
  });
});

describe('cpu matmul', () => {
  function naive(a: Float64Array, b: Float64Array, p: MatmulParams): Float64Array {
    const { M, K, N } = p;
    const out = new Float64Array(numel(p.batchOut) * M * N);
    for (let t = 0; t < numel(p.batchOut); t++) {
      const idx = unravel(t, p.batchOut);
      const ba = (idx.length ? broadcastRead(Array.from({ length: numel(p.batchA) }, (_, i) => i), p.batchA, p.batchOut, idx) : 0);
      const bb = (idx.length ? broadcastRead(Array.from({ length: numel(p.batchB) }, (_, i) => i), p.batchB, p.batchOut, idx) : 0);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = p.transA ? a[ba * M * K + k * M + i] : a[ba * M * K + i * K + k];
          const bv = p.transB ? b[bb * K * N + j * K + k] : b[bb * K * N + k * N + j];
          s += av * bv;
        }
        out[t * M * N + i * N + j] = s;
      }
    }
    return out;
  }

  it('multiplies 2×2 matrices by hand', () => {
    const p: MatmulParams = { batchA: [], batchB: [], batchOut: [], M: 2, K: 2, N: 2, transA: false, transB: false };
    expect(arr(cpu.matmul(f64([1, 2, 3, 4]), f64([5, 6, 7, 8]), p, 'f64'))).toEqual([19, 22, 43, 50]);
    expect(arr(cpu.matmul(f64([1, 2, 3, 4]), f64([5, 6, 7, 8]), { ...p, transA: true }, 'f64'))).toEqual([26, 30, 38, 44]);
    expect(arr(cpu.matmul(f64([1, 2, 3, 4]), f64([5, 6, 7, 8]), { ...p, transB: true }, 'f64'))).toEqual([17, 23, 39, 53]);
  });

  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    it(`batched with broadcast batch dims matches a naive reference (transA=${transA}, transB=${transB})`, () => {
      for (const [M, K, N] of [[5, 7, 6], [9, 10, 11], [1, 1, 1], [4, 8, 4]]) {
        const p: MatmulParams = { batchA: [2, 1], batchB: [3], batchOut: [2, 3], M, K, N, transA, transB };
        const a = random(2 * M * K, M * 100 + K);
        const b = random(3 * K * N, N * 7 + 1);
        expectClose(cpu.matmul(a, b, p, 'f64') as Float64Array, naive(a, b, p), 1e-13);
        const out32 = cpu.matmul(f32(a), f32(b), p, 'f32');
        expect(out32).toBeInstanceOf(Float32Array);
        expectClose(out32 as Float32Array, naive(f64(f32(a)), f64(f32(b)), p), 1e-5);
      }
    });
  }

  it('handles empty dims (M = 0, K = 0, an empty batch)', () => {
    const p: MatmulParams = { batchA: [], batchB: [], batchOut: [], M: 2, K: 0, N: 3, transA: false, transB: false };
    expect(arr(cpu.matmul(f64([]), f64([]), p, 'f64'))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(cpu.matmul(f64([]), f64([1, 2]), { ...p, M: 0, K: 2, N: 1 }, 'f64'))).toEqual([]);
    expect(arr(cpu.matmul(f64([]), f64([]), { ...p, batchA: [0], batchB: [0], batchOut: [0] }, 'f64'))).toEqual([]);
  });
});

describe('cpu permute, slice, writeRegion', () => {
  it('permute matches index arithmetic on random shapes and permutations (rank 1–5, the last axis kept or moved)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }).chain((shape) =>
      fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }))),
    ([shape, perm]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: n }, (_, i) => i);
      const outShape = perm.map((p) => shape[p]!);
      const st = stridesOf(shape);
      const want = Array.from({ length: n }, (_, i) => unravel(i, outShape).reduce((off, v, k) => off + v * st[perm[k]!]!, 0));
      expect(Array.from(cpu.permute(x, shape, perm, 'f32') as Float32Array)).toEqual(want);
    }), { numRuns: 300, seed: 17 });
  });

  it('permute matches index arithmetic', () => {
    const shape = [2, 3, 4];
    const perm = [2, 0, 1];
    const x = f64(Array.from({ length: 24 }, (_, i) => i));
    const outShape = perm.map((p) => shape[p]);
    const out = cpu.permute(x, shape, perm, 'f64') as Float64Array;
    const st = stridesOf(shape);
    const want = Array.from({ length: 24 }, (_, i) => {
      const o = unravel(i, outShape);
      return o.reduce((off, v, k) => off + v * st[perm[k]], 0);
    });
    expect(arr(out)).toEqual(want);
    expect(arr(cpu.permute(f64([7]), [], [], 'f64'))).toEqual([7]);
    expect(arr(cpu.permute(i32([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0], 'i32'))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('slice takes a box; writeRegion writes one in place', () => {
    const x = f64(Array.from({ length: 12 }, (_, i) => i)); // (3, 4)
    expect(arr(cpu.slice(x, [3, 4], [1, 1], [2, 2], 'f64'))).toEqual([5, 6, 9, 10]);
    expect(arr(cpu.slice(x, [3, 4], [0, 3], [3, 1], 'f64'))).toEqual([3, 7, 11]);
    expect(arr(cpu.slice(x, [3, 4], [1, 0], [0, 4], 'f64'))).toEqual([]);
    const dst = new Float64Array(12);
    cpu.writeRegion(dst, [3, 4], f64([1, 2, 3, 4]), [2, 2], [1, 2], 'f64');
    expect(arr(dst)).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4]);
    expect(() => cpu.slice(x, [3, 4], [2, 0], [2, 4], 'f64')).toThrow(/does not fit/);
  });
});

describe('cpu embedding', () => {
  const weight = f64([0, 1, 10, 11, 20, 21]); // (V=3, D=2)

  it('gathers rows and scatter-adds gradients, accumulating repeated ids', () => {
    expect(arr(cpu.embedding(weight, 3, 2, i32([2, 0, 2]), 3, 'f64'))).toEqual([20, 21, 0, 1, 20, 21]);
    const g = f64([1, 2, 3, 4, 5, 6]);
    expect(arr(cpu.embeddingBackward(g, i32([2, 0, 2]), 3, 3, 2, 'f64'))).toEqual([3, 4, 0, 0, 6, 8]);
  });

  it('throws on an out-of-range id, naming the id and V', () => {
    expect(() => cpu.embedding(weight, 3, 2, i32([0, 3]), 2, 'f64')).toThrow(/id 3 .*V = 3/);
    expect(() => cpu.embedding(weight, 3, 2, i32([-1]), 1, 'f64')).toThrow(BackendError);
  });
});

describe('cpu softmax', () => {
  it('rows sum to 1, stable for large logits, log_softmax is its log', () => {
    const x = f64([1, 2, 3, 1000, 1001, 1002]);
    const s = cpu.softmax(x, 2, 3, 'f64', false) as Float64Array;
    const e = [Math.exp(-2), Math.exp(-1), 1];
    const z = e[0] + e[1] + e[2];
    expectClose(s, [...e, ...e].map((v) => v / z), 1e-15);
    const ls = cpu.softmax(x, 2, 3, 'f64', true) as Float64Array;
    const logZ = Math.log(z);
    expectClose(ls, [1, 2, 3, 1000, 1001, 1002].map((v, i) => v - (i < 3 ? 3 : 1002) - logZ), 1e-15);
    expectClose(arr(ls).map(Math.exp), arr(s), 1e-15);
    expect((cpu.softmax(f32([]), 0, 5, 'f32', false) as Float32Array).length).toBe(0);
  });
});

describe('cpu layernorm', () => {
  const rows = 3;
  const cols = 5;
  const x = random(rows * cols, 11, -2, 2);
  const gamma = random(cols, 12, 0.5, 1.5);
  const beta = random(cols, 13);
  const w = random(rows * cols, 14); // dL/dy for L = Σ w·y

  it('normalizes with the biased variance, as torch', () => {
    const { y, mean, rstd } = cpu.layernorm(x, gamma, beta, rows, cols, 1e-5, 'f64');
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
      const mu = row.reduce((s, v) => s + v, 0) / cols;
      const variance = row.reduce((s, v) => s + (v - mu) ** 2, 0) / cols;
      expect((mean as Float64Array)[r]).toBeCloseTo(mu, 14);
      expect((rstd as Float64Array)[r]).toBeCloseTo(1 / Math.sqrt(variance + 1e-5), 12);
      expectClose((y as Float64Array).subarray(r * cols, (r + 1) * cols),
        row.map((v, j) => ((v - mu) / Math.sqrt(variance + 1e-5)) * gamma[j] + beta[j]), 1e-13);
    }
  });

  it('backward matches numerical differentiation of the forward in f64', () => {
    const loss = (xv: Float64Array, gv: Float64Array, bv: Float64Array) => {
      const y = cpu.layernorm(xv, gv, bv, rows, cols, 1e-5, 'f64').y as Float64Array;
      return y.reduce((s, v, i) => s + v * w[i], 0);
    };
    const { mean, rstd } = cpu.layernorm(x, gamma, beta, rows, cols, 1e-5, 'f64');
    const all = { dx: true, dgamma: true, dbeta: true };
    const got = cpu.layernormBackward(x, w, gamma, mean, rstd, rows, cols, 'f64', all);
    expectClose(got.dx as Float64Array, numericGrad((v) => loss(v, gamma, beta), x), 1e-8);
    expectClose(got.dgamma as Float64Array, numericGrad((v) => loss(x, v, beta), gamma), 1e-8);
    expectClose(got.dbeta as Float64Array, numericGrad((v) => loss(x, gamma, v), beta), 1e-8);
    const onlyBeta = cpu.layernormBackward(x, w, gamma, mean, rstd, rows, cols, 'f64', { dx: false, dgamma: false, dbeta: true });
    expect(Object.keys(onlyBeta)).toEqual(['dbeta']);
  });

  it('handles zero rows', () => {
    const { y } = cpu.layernorm(f32([]), f32([1, 1]), f32([0, 0]), 0, 2, 1e-5, 'f32');
    expect((y as Float32Array).length).toBe(0);
  });
});

describe('cpu cross-entropy', () => {
  it('per-row loss by hand, ignored rows give loss 0 and valid 0', () => {
    const logits = f64([1, 2, 3, 0, 0, 0, 5, 1, 1]);
    const { loss, valid } = cpu.crossEntropy(logits, i32([2, -100, 0]), 3, 3, -100, 'f64');
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expectClose(loss as Float64Array, [lse - 3, 0, Math.log(Math.exp(5) + 2 * Math.exp(1)) - 5], 1e-15);
    expect(arr(valid)).toEqual([1, 0, 1]);
    expect(() => cpu.crossEntropy(logits, i32([3, 0, 0]), 3, 3, -100, 'f64')).toThrow(/target 3/);
  });

  it('backward matches numerical differentiation, zero on ignored rows', () => {
    const rows = 3;
    const cols = 4;
    const logits = random(rows * cols, 21, -3, 3);
    const targets = i32([1, -100, 3]);
    const g = f64([0.5, 2, -1.5]);
    const loss = (l: Float64Array) => {
      const per = cpu.crossEntropy(l, targets, rows, cols, -100, 'f64').loss as Float64Array;
      return per.reduce((s, v, r) => s + v * g[r], 0);
    };
    const got = cpu.crossEntropyBackward(logits, targets, g, rows, cols, -100, 'f64') as Float64Array;
    expectClose(got, numericGrad(loss, logits), 1e-8);
    expect(arr(got.subarray(4, 8))).toEqual([0, 0, 0, 0]);
  });
});

describe('cpu dropout', () => {
  it('keeps element i iff uniformAt(seed, i) ≥ p, scaling kept values by 1/(1−p)', () => {
    const n = 20000;
    const p = 0.3;
    const x = new Float32Array(n).fill(2);
    const out = cpu.dropout(x, n, p, 1234, 'f32') as Float32Array;
    let dropped = 0;
    let mismatches = 0;
    for (let i = 0; i < n; i++) {
      const keep = uniformAt(1234, i) >= p;
      if (out[i] !== (keep ? Math.fround(2 / (1 - p)) : 0)) mismatches++;
      if (!keep) dropped++;
    }
    expect(mismatches).toBe(0);
    expect(Math.abs(dropped / n - p)).toBeLessThan(0.015);
  });

  it('is deterministic in the seed, differs across seeds; p = 0 is identity, p = 1 zeros', () => {
    const x = random(1000, 3);
    expect(arr(cpu.dropout(x, 1000, 0.5, 7, 'f64'))).toEqual(arr(cpu.dropout(x, 1000, 0.5, 7, 'f64')));
    expect(arr(cpu.dropout(x, 1000, 0.5, 7, 'f64'))).not.toEqual(arr(cpu.dropout(x, 1000, 0.5, 8, 'f64')));
    expect(arr(cpu.dropout(x, 1000, 0, 7, 'f64'))).toEqual(arr(x));
    expect(arr(cpu.dropout(x, 1000, 1, 7, 'f64')).every((v) => v === 0)).toBe(true);
  });
});

describe('cpu optimizers', () => {
  it('adamw: one step matches the PyTorch formula by hand', () => {
    const lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01;
    const param = f64([1, -2]);
    const grad = f64([0.5, -0.25]);
    const m = f64([0, 0]);
    const v = f64([0, 0]);
    cpu.adamw(param, grad, m, v, 2, { lr, beta1, beta2, eps, weightDecay, bias1: 1 - beta1, bias2: 1 - beta2 }, 'f64');
    expectClose(m, [0.05, -0.025]);
    expectClose(v, [0.001 * 0.25, 0.001 * 0.0625]);
    // step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) after decay
    expectClose(param, [1 * (1 - 0.001) - (0.1 * 0.5) / (0.5 + eps), -2 * (1 - 0.001) + (0.1 * 0.25) / (0.25 + eps)], 1e-12);
  });

  it('sgd: momentum, dampening, nesterov and weight decay as torch', () => {
    const p = { lr: 0.1, momentum: 0.9, weightDecay: 0.1, dampening: 0, nesterov: false };
    const param = f64([1]);
    const buf = f64([0]);
    cpu.sgd(param, f64([2]), buf, 1, p, 'f64'); // d = 2.1, buf = 2.1, param = 1 − 0.21
    expectClose(buf, [2.1]);
    expectClose(param, [0.79]);
    cpu.sgd(param, f64([2]), buf, 1, { ...p, dampening: 0.5, nesterov: true }, 'f64');
    // d = 2 + 0.079 = 2.079, buf = 0.9·2.1 + 0.5·2.079, update d + 0.9·buf
    const b2 = 0.9 * 2.1 + 0.5 * 2.079;
    expectClose(buf, [b2]);
    expectClose(param, [0.79 - 0.1 * (2.079 + 0.9 * b2)]);
    const plain = f64([1]);
    cpu.sgd(plain, f64([3]), null, 1, { lr: 0.5, momentum: 0, weightDecay: 0, dampening: 0, nesterov: false }, 'f64');
    expect(arr(plain)).toEqual([-0.5]);
    expect(() => cpu.sgd(plain, f64([3]), null, 1, p, 'f64')).toThrow(/momentum buffer/);
  });
});

describe('cpu cast', () => {
  it('converts between f32, f64 and i32', () => {
    expect(arr(cpu.cast(f64([1.7, -1.7, 3]), 3, 'f64', 'i32'))).toEqual([1, -1, 3]);
    expect(cpu.cast(i32([1, 2]), 2, 'i32', 'f32')).toBeInstanceOf(Float32Array);
    expect(arr(cpu.cast(f64([0.1]), 1, 'f64', 'f32'))).toEqual([Math.fround(0.1)]);
  });
});
