/**
 * The op table: every op of the engine, each defined once (forward, backward, shape rule, check domain).
 * Grep an op's name to find its entry here, its CPU kernel in src/kernels/cpu and its WGSL kernel in
 * src/kernels/wgsl. Tests iterate this table: an op without a gradient check fails the suite.
 */
import type { BinaryOp } from '../backend.js';
import type { OpDef } from '../op.js';
import { binaryForward, binaryOps, unaryOps } from './elementwise.js';
import { reduceOps } from './reduce.js';
import { layoutOps } from './layout.js';
import { matmulOp } from './matmul.js';
import { linearOp } from './linear.js';
import { attentionProbsOp } from './attention-probs.js';
import { sumSquaresOp } from './sum-squares.js';
import { nnOps } from './nn.js';
import { lstmCellOp } from './composite.js';
import { lstmScanOp } from './lstm.js';
import { shapeArb } from './cases.js';
import { broadcastShapes } from '../shape.js';

/** Kernels exposed as ops without a derivative: comparisons and the gradient helpers backward uses. */
const helperRows: [BinaryOp, number, number][] = [
  ['eq', -2, 2], ['gt', -2, 2], ['lt', -2, 2],
  ['relu_grad', -3, 3], ['gelu_tanh_grad', -4, 4], ['gelu_erf_grad', -4, 4], ['tanh_grad', -1, 1], ['sigmoid_grad', 0, 1],
];
const helperOps: OpDef[] = helperRows.map(([name, min, max]) => ({
  name,
  arity: 2,
  shape: ([a, b]) => broadcastShapes(a, b),
  forward: ([a, b], _attrs, shape) => binaryForward(name, a, b, shape),
  check: {
    cases: (f) => shapeArb(f).map((shape) => ({
      // away from 0 by more than f32's subnormals, which GPUs may flush to zero
      inputs: [{ kind: 'float' as const, shape, min, max, avoid: [0], margin: 1e-6 }, { kind: 'float' as const, shape, min: -2, max: 2, avoid: [0], margin: 1e-6 }],
      attrs: {},
    })),
  },
}));

/** Every op, differentiable first. */
export const OP_LIST: OpDef[] = [...unaryOps, ...binaryOps, ...reduceOps, sumSquaresOp, ...layoutOps, matmulOp, linearOp, ...nnOps, attentionProbsOp, lstmCellOp, lstmScanOp, ...helperOps];

export const OPS: Record<string, OpDef> = Object.fromEntries(OP_LIST.map((op) => [op.name, op]));

/** Ops whose gradient the engine computes (all but the comparison/gradient-helper kernels). */
export const DIFFERENTIABLE_OPS = OP_LIST.filter((op) => op.backward !== undefined || op.composite);
