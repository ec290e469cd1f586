import type { BinaryOp, UnaryOp } from '../backend.js';
import type { FloatDType } from '../dtype.js';
import { type Shape, broadcastShapes } from '../shape.js';
import { type OpDef, wrap } from '../op.js';
import type { Tensor } from '../tensor.js';
import type { InputSpec } from '../check-spec.js';
import { binary, div, exp, log, mul, mulScalar, neg, powScalar, square, unbroadcast } from '../functions.js';
import { broadcastPairArb, shapeArb } from './cases.js';

interface Domain { min: number; max: number; avoid?: number[]; margin?: number }
interface ScalarAttrs { p?: number }

/**
 * Unary ops, one row each: name, derivative (input x, output y, incoming gradient g, scalar p), and the
 * domain its gradient check samples (away from kinks and poles).
 */
const unaryRows: [UnaryOp, (x: Tensor, y: Tensor, g: Tensor, p: number) => Tensor, Domain, number[]?][] = [
  ['neg', (_x, _y, g) => neg(g), { min: -3, max: 3 }],
  ['exp', (_x, y, g) => mul(g, y), { min: -3, max: 3 }],
  ['log', (x, _y, g) => div(g, x), { min: 0.2, max: 4 }],
  ['sqrt', (_x, y, g) => mulScalar(div(g, y), 0.5), { min: 0.2, max: 4 }],
  ['rsqrt', (_x, y, g) => mulScalar(mul(g, powScalar(y, 3)), -0.5), { min: 0.2, max: 4 }],
  ['tanh', (_x, y, g) => binary('tanh_grad', y, g), { min: -3, max: 3 }],
  ['sigmoid', (_x, y, g) => binary('sigmoid_grad', y, g), { min: -4, max: 4 }],
  ['relu', (x, _y, g) => binary('relu_grad', x, g), { min: -3, max: 3, avoid: [0], margin: 1e-2 }],
  ['abs', (x, y, g) => div(mul(g, x), y), { min: -3, max: 3, avoid: [0], margin: 1e-2 }],
  ['square', (x, _y, g) => mulScalar(mul(g, x), 2), { min: -3, max: 3 }],
  ['gelu_tanh', (x, _y, g) => binary('gelu_tanh_grad', x, g), { min: -4, max: 4 }],
  ['gelu_erf', (x, _y, g) => binary('gelu_erf_grad', x, g), { min: -4, max: 4 }],
  ['erf', (x, _y, g) => mulScalar(mul(g, exp(neg(square(x)))), 2 / Math.sqrt(Math.PI)), { min: -3, max: 3 }],
  ['mul_scalar', (_x, _y, g, p) => mulScalar(g, p), { min: -3, max: 3 }, [-2.5, 0.5, 3]],
  ['add_scalar', (_x, _y, g) => g.detach(), { min: -3, max: 3 }, [-1, 2]],
  ['pow_scalar', (x, _y, g, p) => mulScalar(mul(g, powScalar(x, p - 1)), p), { min: 0.3, max: 3 }, [-1.5, 0.5, 2, 3]],
];

/**
 * The GELUs, under a recording tape, compute their derivative in the same pass (Backend.geluWithGrad: the
 * exponential and the erfc are shared) and save it, so the backward is one multiply g·gelu′(x) instead of a second
 * evaluation. In f64 the gradient is bit for bit the same as the gelu_*_grad kernel's; in f32 gelu′(x) is rounded
 * to f32 before the multiply, one rounding more (≤ 1 ulp).
 */
const isGelu = (name: UnaryOp): name is 'gelu_erf' | 'gelu_tanh' => name === 'gelu_erf' || name === 'gelu_tanh';

export const unaryOps: OpDef<ScalarAttrs>[] = unaryRows.map(([name, derivative, domain, params]) => ({
  name,
  arity: 1,
  shape: ([x]) => x,
  forward: ([x], a, shape, recording) => {
    if (recording && isGelu(name)) {
      const r = x.backend.geluWithGrad(name, x.storage, x.size, x.dtype as FloatDType);
      return { out: wrap(x.backend, r.y, shape, x.dtype), saved: [wrap(x.backend, r.dydx, shape, x.dtype)] };
    }
    return wrap(x.backend, x.backend.unary(name, x.storage, x.size, x.dtype as FloatDType, a.p), shape, x.dtype);
  },
  backward: ({ inputs: [x], output, attrs, saved }, g) =>
    [saved.length === 1 ? mul(g, saved[0]) : derivative(x, output, g, attrs.p ?? 0)],
  check: {
    cases: (f) =>
      f.tuple(shapeArb(f), params ? f.constantFrom(...params) : f.constant(undefined)).map(([shape, p]) => ({
        inputs: [{ kind: 'float', shape, ...domain }],
        attrs: p === undefined ? {} : { p },
      })),
  },
}));

/** Binary ops with broadcasting: name, the two partial derivatives, and the check domain of each operand. */
const binaryRows: [BinaryOp, (a: Tensor, b: Tensor, y: Tensor, g: Tensor) => [Tensor, Tensor], Domain, Domain][] = [
  ['add', (_a, _b, _y, g) => [g.detach(), g.detach()], { min: -3, max: 3 }, { min: -3, max: 3 }],
  ['sub', (_a, _b, _y, g) => [g.detach(), neg(g)], { min: -3, max: 3 }, { min: -3, max: 3 }],
  ['mul', (a, b, _y, g) => [mul(g, b), mul(g, a)], { min: -3, max: 3 }, { min: -3, max: 3 }],
  ['div', (_a, b, y, g) => [div(g, b), neg(div(mul(g, y), b))], { min: -3, max: 3 }, { min: 0.3, max: 3 }],
  ['pow', (a, b, y, g) => [mul(mul(g, b), div(y, a)), mul(mul(g, y), log(a))], { min: 0.3, max: 3 }, { min: -2, max: 2 }],
  ['maximum', (a, b, _y, g) => [mul(g, binary('gt', a, b)), mul(g, binary('lt', a, b))], { min: -3, max: 3 }, { min: -3, max: 3 }],
  ['minimum', (a, b, _y, g) => [mul(g, binary('lt', a, b)), mul(g, binary('gt', a, b))], { min: -3, max: 3 }, { min: -3, max: 3 }],
];

export const binaryOps: OpDef<Record<string, never>>[] = binaryRows.map(([name, derivatives, da, db]) => ({
  name,
  arity: 2,
  shape: ([a, b], _attrs, [ta, tb]) => {
    if (ta !== tb) throw new Error(`dtypes differ (${ta} and ${tb})`);
    return broadcastShapes(a, b);
  },
  forward: ([a, b], _attrs, shape) => binaryForward(name, a, b, shape),
  backward: ({ inputs: [a, b], output, needs }, g) => {
    const [ga, gb] = derivatives(a, b, output, g);
    return [
      needs[0] ? unbroadcast(ga, a.shape) : (ga.dispose(), null),
      needs[1] ? unbroadcast(gb, b.shape) : (gb.dispose(), null),
    ];
  },
  check: {
    cases: (f) =>
      broadcastPairArb(f).map(([sa, sb]) => {
        const min = name === 'maximum' || name === 'minimum';
        // max/min: ties have no derivative; distinct values keep every sample away from them
        const inputs: InputSpec[] = [
          { kind: 'float', shape: sa, ...da, distinct: min },
          { kind: 'float', shape: sb, ...db, distinct: min },
        ];
        return { inputs, attrs: {} };
      }),
  },
}));

export function binaryForward(name: BinaryOp, a: Tensor, b: Tensor, shape: Shape): Tensor {
  return wrap(a.backend, a.backend.binary(name, a.storage, a.shape, b.storage, b.shape, shape, a.dtype as FloatDType), shape, a.dtype);
}

