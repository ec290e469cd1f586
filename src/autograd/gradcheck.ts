/**
 * Property-based gradient checks. For an op and a case drawn by fast-check (shapes, attributes, values
 * from the op's domain), the gradient of L = Σ w ⊙ op(inputs) (w fixed random weights) with respect to
 * every differentiable input is computed by autograd and compared with float64 central differences.
 *
 * Tolerance, f64: central differences with step h have truncation error h²|f'''|/6 and rounding error
 * ≈ ε·|L|/h. With h = 1e-6, ε = 2^-52 and |L|, |f'''| ≲ 10² on the check domains, both are ≲ 1e-8, so an
 * error |autograd − numeric| / max(1, |numeric|) above 1e-6 is a wrong derivative, not noise.
 */
import * as fc from 'fast-check';
import type { Backend } from './backend.js';
import type { DType, FloatDType, TypedArray } from './dtype.js';
import { epsilonOf } from './dtype.js';
import type { CheckCase, InputSpec } from './check-spec.js';
import { apply, noGrad, type OpDef } from './op.js';
import { numel } from './shape.js';
import { tensor } from './create.js';
import { backward } from './tape.js';
import { mul, sum } from './functions.js';
import { tidy, type Tensor } from './tensor.js';
import { Rng } from '../kernels/rng.js';
import { cpu } from '../kernels/cpu/index.js';

export const FD_STEP = 1e-6;
export const F64_TOLERANCE = 1e-6;

/** A case with concrete values: one array per input (floats, i32 ids or 0/1 masks) and the loss weights' seed. */
export interface FilledCase<A = unknown> extends CheckCase<A> {
  values: number[][];
  weightSeed: number;
}

function floatValues(f: typeof fc, s: Extract<InputSpec, { kind: 'float' }>): fc.Arbitrary<number[]> {
  const n = numel(s.shape);
  return f.array(f.double({ min: s.min, max: s.max, noNaN: true, noDefaultInfinity: true }), { minLength: n, maxLength: n })
    .map((vs) => vs.map((v) => pushAway(v, s.avoid ?? [], s.margin ?? 0, s.min, s.max)));
}

function pushAway(v: number, avoid: number[], margin: number, lo: number, hi: number): number {
  for (const a of avoid) {
    if (Math.abs(v - a) < margin) {
      const up = a + margin;
      v = up <= hi ? up : Math.max(lo, a - margin);
    }
  }
  return v;
}

/**
 * Values for a case. Inputs marked `distinct` share one shuffled grid, so no two of their values are
 * closer than (max − min)/count — kinks of max/min and ties stay far outside the finite-difference step.
 */
export function fillCase<A>(f: typeof fc, c: CheckCase<A>): fc.Arbitrary<FilledCase<A>> {
  const distinctIdx = c.inputs.flatMap((s, i) => (s.kind === 'float' && s.distinct ? [i] : []));
  const distinctCount = distinctIdx.reduce((n, i) => n + numel(c.inputs[i].shape), 0);
  const perInput = c.inputs.map((s): fc.Arbitrary<number[]> => {
    const n = numel(s.shape);
    if (s.kind === 'index') {
      const ids = f.integer({ min: 0, max: s.high - 1 });
      const one = s.ignore === undefined ? ids : f.oneof({ arbitrary: ids, weight: 3 }, { arbitrary: f.constant(s.ignore), weight: 1 });
      // at least one id is real, so a mean over non-ignored rows is defined
      return f.array(one, { minLength: n, maxLength: n }).map((v) => (n > 0 && s.ignore !== undefined && v[0] === s.ignore ? [0, ...v.slice(1)] : v));
    }
    if (s.kind === 'mask') return f.array(f.constantFrom(0, 1), { minLength: n, maxLength: n });
    return s.distinct ? f.constant([]) : floatValues(f, s);
  });
  const grid = f.shuffledSubarray(Array.from({ length: distinctCount }, (_, k) => k), { minLength: distinctCount, maxLength: distinctCount });
  return f.tuple(f.tuple(...perInput), grid, f.integer({ min: 0, max: 2 ** 31 - 1 })).map(([vals, order, weightSeed]) => {
    const values = vals.map((v) => [...v]);
    let k = 0;
    for (const i of distinctIdx) {
      const s = c.inputs[i] as Extract<InputSpec, { kind: 'float' }>;
      values[i] = Array.from({ length: numel(s.shape) }, () => s.min + ((s.max - s.min) * (order[k++] + 0.5)) / distinctCount);
    }
    return { ...c, values, weightSeed };
  });
}

function dtypeOf(spec: InputSpec, floatType: FloatDType): DType {
  return spec.kind === 'index' ? 'i32' : floatType;
}

/** Which inputs are differentiated: floats that the op does not declare non-differentiable. */
export function diffInputs(op: OpDef, c: CheckCase<unknown>): number[] {
  return c.inputs.flatMap((s, i) => (s.kind === 'float' && !(op.nondiff ?? []).includes(i) ? [i] : []));
}

function lossWeights(c: FilledCase, n: number): number[] {
  const rng = new Rng(c.weightSeed);
  return Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** Output values and autograd gradients of Σ w ⊙ op(inputs) on a backend, as plain arrays. */
export async function evaluate(op: OpDef, c: FilledCase, backend: Backend, floatType: FloatDType):
  Promise<{ out: TypedArray; grads: (TypedArray | null)[] }> {
  const wrt = diffInputs(op, c);
  const inputs = c.inputs.map((s, i) => tensor(c.values[i], s.shape, { backend, dtype: dtypeOf(s, floatType), requiresGrad: wrt.includes(i) }));
  const out = apply(op, inputs, c.attrs);
  const values = await out.data();
  let grads: (TypedArray | null)[] = inputs.map(() => null);
  if (wrt.length > 0 && out.requiresGrad) {
    const w = tensor(lossWeights(c, out.size), out.shape, { backend, dtype: floatType });
    const loss = sum(mul(out, w));
    backward(loss);
    grads = await Promise.all(inputs.map((t, i) => (wrt.includes(i) && t.grad ? t.grad.data() : Promise.resolve(null))));
    // an input that needs a gradient and got none is a zero gradient (e.g. it did not reach the output)
    grads = grads.map((g, i) => (wrt.includes(i) && g === null ? new Float64Array(inputs[i].size) : g));
    w.dispose();
    loss.dispose();
  }
  out.dispose();
  for (const t of inputs) { t.grad?.dispose(); t.dispose(); }
  return { out: values, grads };
}

/** Central differences of L in float64 on the CPU backend. */
export function numericGrads(op: OpDef, c: FilledCase, h = FD_STEP): (Float64Array | null)[] {
  const wrt = diffInputs(op, c);
  const lossAt = (values: number[][]): number => noGrad(() => tidy(() => {
    const inputs = c.inputs.map((s, i) => tensor(values[i], s.shape, { backend: cpu, dtype: dtypeOf(s, 'f64') }));
    const out = apply(op, inputs, c.attrs);
    const w = lossWeights(c, out.size);
    const o = out.dataSync();
    let L = 0;
    for (let i = 0; i < o.length; i++) L += o[i] * w[i];
    return L;
  }));
  return c.inputs.map((_, i) => {
    if (!wrt.includes(i)) return null;
    const g = new Float64Array(c.values[i].length);
    const vals = c.values.map((v) => [...v]);
    for (let j = 0; j < g.length; j++) {
      const x = vals[i][j];
      vals[i][j] = x + h; const up = lossAt(vals);
      vals[i][j] = x - h; const down = lossAt(vals);
      vals[i][j] = x;
      g[j] = (up - down) / (2 * h);
    }
    return g;
  });
}

/** max_j |a_j − b_j| / max(1, |b_j|) over all gradient arrays. */
export function maxRelError(a: (ArrayLike<number> | null)[], b: (ArrayLike<number> | null)[]): number {
  let worst = 0;
  a.forEach((ga, i) => {
    const gb = b[i];
    if (!ga || !gb) { if (ga || gb) worst = Infinity; return; }
    for (let j = 0; j < ga.length; j++) {
      const e = Math.abs(ga[j] - gb[j]) / Math.max(1, Math.abs(gb[j]));
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
    }
  });
  return worst;
}

export interface GradcheckReport {
  op: string;
  cases: number;
  maxRelErr: number;
  tolerance: number;
  ok: boolean;
  /** The shrunk failing case, printed. */
  counterexample?: string;
}

export interface GradcheckOptions { cases?: number; seed?: number; backend?: Backend }

/** The tolerance of a check on `dtype`: f64 from the FD analysis above; f32 parity from machine epsilon. */
export function toleranceFor(op: OpDef, dtype: FloatDType): number {
  const own = op.check.tolerance?.[dtype];
  if (own !== undefined) return own;
  // f32 vs an f64 reference: each result accumulates ≲ a few hundred roundings of size ε32 on these small
  // shapes, relative to max(1, |g|): 2^-23 · 256 ≈ 3e-5
  return dtype === 'f64' ? F64_TOLERANCE : epsilonOf('f32') * 256;
}

/**
 * Gradient check of one op. On the CPU backend: f64 autograd vs f64 central differences. On another
 * backend: its f32 autograd vs the CPU's f64 autograd (forward values are compared too).
 */
export async function gradcheckOp(op: OpDef, o: GradcheckOptions = {}): Promise<GradcheckReport> {
  const backend = o.backend ?? cpu;
  const dtype: FloatDType = backend === cpu ? 'f64' : 'f32';
  const tolerance = toleranceFor(op, dtype);
  let worst = 0;
  let count = 0;
  const arb = op.check.cases(fc).chain((c) => fillCase(fc, c));
  const result = await fc.check(
    fc.asyncProperty(arb, async (c) => {
      count++;
      // another backend computes in f32: both sides get the same f32-rounded inputs, so only the arithmetic differs
      if (dtype === 'f32') c = { ...c, values: c.values.map((v, i) => (c.inputs[i].kind === 'float' ? v.map(Math.fround) : v)) };
      const mine = await evaluate(op, c, backend, dtype);
      let err: number;
      if (backend === cpu) {
        err = maxRelError(mine.grads, numericGrads(op, c));
      } else {
        const ref = await evaluate(op, c, cpu, 'f64');
        err = Math.max(maxRelError([mine.out], [ref.out]), maxRelError(mine.grads, ref.grads));
      }
      worst = Math.max(worst, err);
      return err <= tolerance;
    }),
    { numRuns: o.cases ?? 40, seed: o.seed ?? 42, endOnFailure: false },
  );
  const report: GradcheckReport = { op: op.name, cases: count, maxRelErr: worst, tolerance, ok: !result.failed };
  if (result.failed) {
    report.counterexample = result.counterexample ? describeCase(result.counterexample[0] as FilledCase) : String(result.errorInstance);
    if (result.errorInstance && !result.counterexample) report.counterexample = String(result.errorInstance);
  }
  return report;
}

export function describeCase(c: FilledCase): string {
  const inputs = c.inputs.map((s, i) => `${s.kind}[${s.shape.join(',')}]=${JSON.stringify(c.values[i].map((v) => +v.toPrecision(6)))}`);
  return `attrs=${JSON.stringify(c.attrs)} inputs: ${inputs.join('; ')} weightSeed=${c.weightSeed}`;
}

/**
 * Whole-model gradient check (CPU, f64): for `samples` random elements of each tensor, autograd's ∂loss/∂x
 * against central differences, perturbing the CPU storage in place. `loss` must rebuild the graph each call.
 */
export function gradcheckTensors(loss: () => Tensor, tensors: Tensor[], o: { samples?: number; seed?: number; h?: number } = {}):
  { name: string; maxRelErr: number }[] {
  const h = o.h ?? FD_STEP;
  const rng = new Rng(o.seed ?? 0);
  for (const t of tensors) {
    if (t.backend !== cpu || t.dtype !== 'f64') throw new Error(`gradcheckTensors needs f64 CPU tensors, got ${t.describe()}`);
    t.grad?.dispose();
    t.grad = null;
  }
  // a loss no tensor reaches has zero autograd gradients — which the differences will then contradict
  tidy(() => { const l = loss(); if (l.requiresGrad) backward(l); });
  const value = () => noGrad(() => tidy(() => loss().dataSync()[0]));
  return tensors.map((t) => {
    const analytic = t.grad ? t.grad.dataSync() : new Float64Array(t.size);
    const data = t.storage as Float64Array;
    let worst = 0;
    const picks = new Set(Array.from({ length: Math.min(o.samples ?? 4, t.size) }, () => rng.int(t.size)));
    for (const j of picks) {
      const x = data[j];
      data[j] = x + h; const up = value();
      data[j] = x - h; const down = value();
      data[j] = x;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(analytic[j] - numeric) / Math.max(1, Math.abs(numeric)));
    }
    return { name: t.name ?? t.describe(), maxRelErr: worst };
  });
}
