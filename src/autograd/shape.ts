/** Shapes are row-major; every stored tensor is contiguous. */
export type Shape = readonly number[];

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === 1) continue;
      if (out[o] !== 1 && out[o] !== d) {
        throw new ShapeError(`shapes ${shapes.map(fmt).join(', ')} do not broadcast (dim ${o}: ${out[o]} vs ${d})`);
      }
      out[o] = d;
    }
  }
  return out;
}

/** Strides that read `shape` as if it were broadcast to `outShape` (0 on broadcast dims). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const out = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = outShape.length - shape.length + i;
    out[o] = shape[i] === 1 ? 0 : st[i];
  }
  return out;
}

/** The axes of `outShape` that were broadcast from `shape` (to be summed in backward). */
export function reducedAxes(shape: Shape, outShape: Shape): number[] {
  const axes: number[] = [];
  for (let o = 0; o < outShape.length; o++) {
    const i = o - (outShape.length - shape.length);
    if (i < 0 || (shape[i] === 1 && outShape[o] !== 1)) axes.push(o);
  }
  return axes;
}

export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normalizeAxis(a, rank)))].sort((x, y) => x - y);
}

export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
