import type * as fc from 'fast-check';
import type { Shape } from './shape.js';

/** How a gradient check fills one input. */
export type InputSpec =
  /** Floats drawn from [min, max], kept at least `margin` away from each point in `avoid` (kinks, poles). */
  | { kind: 'float'; shape: Shape; min: number; max: number; avoid?: number[]; margin?: number; distinct?: boolean }
  /** Integer ids in [0, high) as i32 (embedding ids); `ignore` may also appear (cross-entropy's -100). */
  | { kind: 'index'; shape: Shape; high: number; ignore?: number }
  /** 0/1 floats (conditions, masks); not differentiated. */
  | { kind: 'mask'; shape: Shape };

export interface CheckCase<A> {
  inputs: InputSpec[];
  attrs: A;
}

export interface CheckSpec<A> {
  /** Random cases: shapes (with size-1 and broadcast dims) and attributes. */
  cases: (fcm: typeof fc) => fc.Arbitrary<CheckCase<A>>;
  /**
   * Largest relative error tolerated in f64 central differences beyond the default, with the reason
   * (e.g. "max: ties are excluded by `distinct`"). Omit to use the default derived from the dtype.
   */
  tolerance?: { f64?: number; f32?: number; why: string };
}
