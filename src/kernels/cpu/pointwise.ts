/**
 * The CPU backend's pointwise arithmetic: erf/erfc, the two GELU forms and their derivatives, and the elementwise
 * kernels (unary ops, binary ops over a flat range or over rows) that the worker pool runs by name.
 *
 * Why one file, and why no module-level constants: the pool's workers get their program as source text (pool.ts).
 * A threaded kernel may call only the functions listed as pool helpers (threaded-kernels.ts), which the worker
 * declares by their own text, and a helper in turn only other helpers. A reference to another module would not
 * survive that: under vitest an imported name is rewritten into a property of the importing module's record, which
 * no worker has. So every helper here keeps its numbers as literals in its own body, and the kernels and helpers
 * that call each other live side by side in this module.
 *
 * erf and erfc in double precision: W. J. Cody's rational Chebyshev approximations (CALERF, "Rational Chebyshev
 * approximations for the error function", Math. Comp. 1969; netlib specfun). Three intervals: |x| ≤ 0.46875 (erf
 * directly), ≤ 4 and > 4 (erfc, times exp(−x²) computed in two pieces so it keeps full relative accuracy).
 * Relative error is a few ulp on the whole line, which f64 gradient checks of GELU need.
 */

/** erf(x) for |x| ≤ 0.46875, where erf switches to erfc's intervals (Cody's first interval, no exponential). */
export function erfSmall(x: number): number {
  const y2 = x * x;
  let num = 1.85777706184603153e-1 * y2;
  let den = y2;
  num = (num + 3.16112374387056560e0) * y2; den = (den + 2.36012909523441209e1) * y2;
  num = (num + 1.13864154151050156e2) * y2; den = (den + 2.44024637934444173e2) * y2;
  num = (num + 3.77485237685302021e2) * y2; den = (den + 1.28261652607737228e3) * y2;
  return (x * (num + 3.20937758913846947e3)) / (den + 2.84423683343917062e3);
}

/**
 * erfc(y) = exp(−y²) · erfcRatio(y) for y > 0.46875: Cody's rational part, without the exponential (so a caller that
 * needs exp(−y²) for something else, as GELU's derivative does, computes it once). The Horner forms are written out.
 */
export function erfcRatio(y: number): number {
  if (y <= 4) {
    let num = 2.15311535474403846e-8 * y;
    let den = y;
    num = (num + 5.64188496988670089e-1) * y; den = (den + 1.57449261107098347e1) * y;
    num = (num + 8.88314979438837594e0) * y; den = (den + 1.17693950891312499e2) * y;
    num = (num + 6.61191906371416295e1) * y; den = (den + 5.37181101862009858e2) * y;
    num = (num + 2.98635138197400131e2) * y; den = (den + 1.62138957456669019e3) * y;
    num = (num + 8.81952221241769090e2) * y; den = (den + 3.29079923573345963e3) * y;
    num = (num + 1.71204761263407058e3) * y; den = (den + 4.36261909014324716e3) * y;
    num = (num + 2.05107837782607147e3) * y; den = (den + 3.43936767414372164e3) * y;
    return (num + 1.23033935479799725e3) / (den + 1.23033935480374942e3);
  }
  const z = 1 / (y * y);
  let num = 1.63153871373020978e-2 * z;
  let den = z;
  num = (num + 3.05326634961232344e-1) * z; den = (den + 2.56852019228982242e0) * z;
  num = (num + 3.60344899949804439e-1) * z; den = (den + 1.87295284992346725e0) * z;
  num = (num + 1.25781726111229246e-1) * z; den = (den + 5.27905102951428412e-1) * z;
  num = (num + 1.60837851487422766e-2) * z; den = (den + 6.05183413124413191e-2) * z;
  const r = (z * (num + 6.58749161529837803e-4)) / (den + 2.33520497626869185e-3);
  return (5.6418958354775628695e-1 - r) / y; // 1/√π
}

/** erfc(y) for y > 0.46875. */
export function erfcPositive(y: number): number {
  if (y > 4 && y >= 26.543) return 0; // erfc underflows
  const r = erfcRatio(y);
  // exp(−y²) = exp(−ys²)·exp(−(y−ys)(y+ys)) with ys = y rounded down to 1/16: both products are exact enough.
  const ys = Math.trunc(y * 16) / 16;
  const del = (y - ys) * (y + ys);
  return Math.exp(-ys * ys) * Math.exp(-del) * r;
}

export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) return erfSmall(x);
  if (y !== y) return NaN;
  const r = 0.5 - erfcPositive(y) + 0.5;
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) return 1 - erfSmall(x);
  if (y !== y) return NaN;
  const r = erfcPositive(y);
  return x < 0 ? 2 - r : r;
}

/*
 * The GELU forms. Constants, written as literals (see the top of the file): √(2/π) = 0.7978845608028654,
 * √½ = 0.7071067811865476, 1/√(2π) = 0.3989422804014327 (test/cpu-kernels.test.ts checks each against Math).
 */

/**
 * GPT-2's gelu_new: 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³). Written as x·σ(2u), the same function
 * (1 + tanh(u) = 2σ(2u)) without the cancellation of 1 + tanh(u) for negative x.
 */
export function geluTanh(x: number): number {
  const u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return x / (1 + Math.exp(-2 * u));
}

/** d/dx gelu_tanh = 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²), with 0.5(1 + t) = s and 1 − t² = 4s(1 − s). */
export function geluTanhGrad(x: number): number {
  const u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  const s = 1 / (1 + Math.exp(-2 * u));
  const du = 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
  return s + 2 * x * s * (1 - s) * du;
}

/** BERT's gelu: 0.5x(1 + erf(x/√2)) = 0.5x·erfc(−x/√2) (the erfc form keeps relative accuracy for negative x). */
export function geluErf(x: number): number {
  return 0.5 * x * erfc(-x * 0.7071067811865476);
}

/** d/dx gelu_erf = Φ(x) + x·φ(x). */
export function geluErfGrad(x: number): number {
  return 0.5 * erfc(-x * 0.7071067811865476) + x * 0.3989422804014327 * Math.exp(-0.5 * x * x);
}

/*
 * The f32 forms of gelu_erf and its derivative: one Math.exp each instead of two (forward) and three (derivative).
 * erfc(y) = exp(−y²)·erfcRatio(y) with exp(−y²) taken in one piece, and the derivative's φ(x) = exp(−x²/2)/√(2π)
 * reuses that same exp(−y²), y = x/√2. Against the float64 forms above, which split exp(−y²) in two exact pieces,
 * the only difference is the rounding of y² inside the exponential: a relative error ≤ 3·2⁻⁵³·y² ≤ 3e-14 wherever
 * the f32 result is a normal number (|x| ≤ 13), far below f32's 2⁻²⁴ — so the stored f32 value is the f64 form's,
 * rounded, or its f32 neighbour when the exact value lies within 3e-14 of a rounding boundary: within 1 f32 ulp
 * (test/cpu-kernels.test.ts checks it over the whole line). f64 storages keep the f64 forms.
 */

/** erfc(y) given e = exp(−|y|²), for |y| > 0.46875. */
export function erfcWith(y: number, e: number): number {
  const r = e * erfcRatio(Math.abs(y));
  return y < 0 ? 2 - r : r;
}

export function geluErfF32(x: number): number {
  const y = -x * 0.7071067811865476;
  if (Math.abs(y) <= 0.46875) return 0.5 * x * (1 - erfSmall(y));
  return 0.5 * x * erfcWith(y, Math.exp(-y * y));
}

export function geluErfGradF32(x: number): number {
  const y = -x * 0.7071067811865476;
  const e = Math.exp(-y * y);
  const cdf = 0.5 * (Math.abs(y) <= 0.46875 ? 1 - erfSmall(y) : erfcWith(y, e));
  return cdf + x * 0.3989422804014327 * e;
}

// ---- the elementwise kernels (pool kernels: the last two arguments are the element or row range)

/**
 * out[i] = op(x[i]) for g0 ≤ i < g1, in out's dtype. `param` is the scalar of mul_scalar/add_scalar/pow_scalar.
 * gelu_erf on an f32 out uses the one-exp form (within 1 f32 ulp of the f64 form, above).
 */
export function unaryRange(op: string, x: Float32Array | Float64Array, out: Float32Array | Float64Array, param: number,
  g0: number, g1: number): void {
  switch (op) {
    case 'neg': for (let i = g0; i < g1; i++) out[i] = -x[i]; break;
    case 'exp': for (let i = g0; i < g1; i++) out[i] = Math.exp(x[i]); break;
    case 'log': for (let i = g0; i < g1; i++) out[i] = Math.log(x[i]); break;
    case 'sqrt': for (let i = g0; i < g1; i++) out[i] = Math.sqrt(x[i]); break;
    case 'rsqrt': for (let i = g0; i < g1; i++) out[i] = 1 / Math.sqrt(x[i]); break;
    case 'tanh': for (let i = g0; i < g1; i++) out[i] = Math.tanh(x[i]); break;
    case 'sigmoid': for (let i = g0; i < g1; i++) out[i] = 1 / (1 + Math.exp(-x[i])); break;
    case 'relu': for (let i = g0; i < g1; i++) out[i] = x[i] < 0 ? 0 : x[i]; break; // NaN stays NaN
    case 'abs': for (let i = g0; i < g1; i++) out[i] = Math.abs(x[i]); break;
    case 'square': for (let i = g0; i < g1; i++) out[i] = x[i] * x[i]; break;
    case 'gelu_tanh': for (let i = g0; i < g1; i++) out[i] = geluTanh(x[i]); break;
    case 'gelu_erf':
      if (out instanceof Float32Array) for (let i = g0; i < g1; i++) out[i] = geluErfF32(x[i]);
      else for (let i = g0; i < g1; i++) out[i] = geluErf(x[i]);
      break;
    case 'erf': for (let i = g0; i < g1; i++) out[i] = erf(x[i]); break;
    case 'mul_scalar': for (let i = g0; i < g1; i++) out[i] = x[i] * param; break;
    case 'add_scalar': for (let i = g0; i < g1; i++) out[i] = x[i] + param; break;
    case 'pow_scalar': for (let i = g0; i < g1; i++) out[i] = Math.pow(x[i], param); break;
    default: throw new Error(`cpu unary: unknown op '${op}'`);
  }
}

/**
 * y[i] = gelu(x[i]) and d[i] = gelu′(x[i]) for g0 ≤ i < g1: the values unaryRange and binaryRow's gelu_*_grad give
 * (the same operations in the same order), with the work they share done once — gelu_tanh's exp(−2u); in f32,
 * gelu_erf's exp(−y²) and its erfc (f64 keeps the two-piece forms).
 */
export function geluWithGradRange(op: string, x: Float32Array | Float64Array, y: Float32Array | Float64Array,
  d: Float32Array | Float64Array, g0: number, g1: number): void {
  if (op === 'gelu_tanh') {
    for (let i = g0; i < g1; i++) {
      const v = x[i];
      const u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
      const e = Math.exp(-2 * u);
      const s = 1 / (1 + e);
      y[i] = v / (1 + e);
      d[i] = s + 2 * v * s * (1 - s) * (0.7978845608028654 * (1 + 3 * 0.044715 * v * v));
    }
  } else if (op !== 'gelu_erf') {
    throw new Error(`cpu geluWithGrad: unknown op '${op}'`);
  } else if (y instanceof Float32Array) {
    for (let i = g0; i < g1; i++) {
      const v = x[i];
      const t = -v * 0.7071067811865476;
      const e = Math.exp(-t * t);
      const half = 0.5 * (Math.abs(t) <= 0.46875 ? 1 - erfSmall(t) : erfcWith(t, e)); // Φ(v)
      y[i] = v * half;
      d[i] = half + v * 0.3989422804014327 * e;
    }
  } else {
    for (let i = g0; i < g1; i++) { y[i] = geluErf(x[i]); d[i] = geluErfGrad(x[i]); }
  }
}

/** One contiguous output row: out[o + j] = op(a[ia + j·sa], b[ib + j·sb]) for j < len. */
export function binaryRow(op: string, out: Float32Array | Float64Array, o: number, a: Float32Array | Float64Array, ia: number,
  sa: number, b: Float32Array | Float64Array, ib: number, sb: number, len: number): void {
  switch (op) {
    case 'add': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] + b[ib + j * sb]; break;
    case 'sub': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] - b[ib + j * sb]; break;
    case 'mul': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] * b[ib + j * sb]; break;
    case 'div': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] / b[ib + j * sb]; break;
    case 'pow': for (let j = 0; j < len; j++) out[o + j] = Math.pow(a[ia + j * sa], b[ib + j * sb]); break;
    case 'maximum': for (let j = 0; j < len; j++) out[o + j] = Math.max(a[ia + j * sa], b[ib + j * sb]); break;
    case 'minimum': for (let j = 0; j < len; j++) out[o + j] = Math.min(a[ia + j * sa], b[ib + j * sb]); break;
    case 'eq': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] === b[ib + j * sb] ? 1 : 0; break;
    case 'gt': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] > b[ib + j * sb] ? 1 : 0; break;
    case 'lt': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] < b[ib + j * sb] ? 1 : 0; break;
    // gradient helpers: a is the saved forward value (x or y), b the incoming gradient g
    case 'relu_grad': for (let j = 0; j < len; j++) out[o + j] = a[ia + j * sa] > 0 ? b[ib + j * sb] : 0; break;
    case 'gelu_tanh_grad': for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluTanhGrad(a[ia + j * sa]); break;
    case 'gelu_erf_grad':
      // f32: the one-exp form, within 1 f32 ulp of the f64 form (above)
      if (out instanceof Float32Array) for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluErfGradF32(a[ia + j * sa]);
      else for (let j = 0; j < len; j++) out[o + j] = b[ib + j * sb] * geluErfGrad(a[ia + j * sa]);
      break;
    case 'tanh_grad':
      for (let j = 0; j < len; j++) { const y = a[ia + j * sa]; out[o + j] = b[ib + j * sb] * (1 - y * y); }
      break;
    case 'sigmoid_grad':
      for (let j = 0; j < len; j++) { const y = a[ia + j * sa]; out[o + j] = b[ib + j * sb] * y * (1 - y); }
      break;
    default: throw new Error(`cpu binary: unknown op '${op}'`);
  }
}

/** The flat form: out[i] = op(a[i·sa], b[i·sb]) for g0 ≤ i < g1 (sa, sb ∈ {0, 1}: same shape, or a scalar operand). */
export function binaryFlat(op: string, out: Float32Array | Float64Array, a: Float32Array | Float64Array, sa: number,
  b: Float32Array | Float64Array, sb: number, g0: number, g1: number): void {
  binaryRow(op, out, g0, a, g0 * sa, sa, b, g0 * sb, sb, g1 - g0);
}

/**
 * The two-level form, rows r in [g0, g1) of a coalesced (rows, len) space: out row r is contiguous at r·len, a's
 * starts at r·ra and steps sa, b's starts at r·rb and steps sb (a zero step broadcasts), e.g. (B·T, D) + (D).
 */
export function binaryRows(op: string, out: Float32Array | Float64Array, a: Float32Array | Float64Array, ra: number,
  sa: number, b: Float32Array | Float64Array, rb: number, sb: number, len: number, g0: number, g1: number): void {
  for (let r = g0; r < g1; r++) binaryRow(op, out, r * len, a, r * ra, sa, b, r * rb, sb, len);
}
