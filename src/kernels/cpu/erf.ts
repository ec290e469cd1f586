/**
 * erf and erfc in double precision: W. J. Cody's rational Chebyshev approximations (CALERF, "Rational Chebyshev
 * approximations for the error function", Math. Comp. 1969; netlib specfun). Three intervals: |x| ≤ 0.46875 (erf
 * directly), ≤ 4 and > 4 (erfc, times exp(−x²) computed in two pieces so it keeps full relative accuracy).
 * Relative error is a few ulp on the whole line, which f64 gradient checks of GELU need.
 */

const A = [3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1];
const B = [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3];
const C = [
  5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2,
  8.81952221241769090e2, 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3,
  2.15311535474403846e-8,
];
const D = [
  1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
  3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3,
];
const P = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
  6.58749161529837803e-4, 1.63153871373020978e-2];
const Q = [2.56852019228982242e0, 1.87295284992346725e0, 5.27905102951428412e-1, 6.05183413124413191e-2,
  2.33520497626869185e-3];
const ONE_OVER_SQRT_PI = 5.6418958354775628695e-1;
const THRESHOLD = 0.46875;
/** Where erf switches from erfSmall to erfc's intervals. */
export const ERF_SMALL_LIMIT = THRESHOLD;

/** erf(x) for |x| ≤ ERF_SMALL_LIMIT (Cody's first interval, no exponential). */
export function erfSmall(x: number): number {
  const y2 = x * x;
  let num = A[4] * y2;
  let den = y2;
  num = (num + A[0]) * y2; den = (den + B[0]) * y2;
  num = (num + A[1]) * y2; den = (den + B[1]) * y2;
  num = (num + A[2]) * y2; den = (den + B[2]) * y2;
  return (x * (num + A[3])) / (den + B[3]);
}

/**
 * erfc(y) = exp(−y²) · erfcRatio(y) for y > 0.46875: Cody's rational part, without the exponential (so a caller that
 * needs exp(−y²) for something else, as GELU's derivative does, computes it once). The loops of the Horner forms
 * are written out (same operations in the same order).
 */
export function erfcRatio(y: number): number {
  if (y <= 4) {
    let num = C[8] * y;
    let den = y;
    num = (num + C[0]) * y; den = (den + D[0]) * y;
    num = (num + C[1]) * y; den = (den + D[1]) * y;
    num = (num + C[2]) * y; den = (den + D[2]) * y;
    num = (num + C[3]) * y; den = (den + D[3]) * y;
    num = (num + C[4]) * y; den = (den + D[4]) * y;
    num = (num + C[5]) * y; den = (den + D[5]) * y;
    num = (num + C[6]) * y; den = (den + D[6]) * y;
    return (num + C[7]) / (den + D[7]);
  }
  const z = 1 / (y * y);
  let num = P[5] * z;
  let den = z;
  num = (num + P[0]) * z; den = (den + Q[0]) * z;
  num = (num + P[1]) * z; den = (den + Q[1]) * z;
  num = (num + P[2]) * z; den = (den + Q[2]) * z;
  num = (num + P[3]) * z; den = (den + Q[3]) * z;
  const r = (z * (num + P[4])) / (den + Q[4]);
  return (ONE_OVER_SQRT_PI - r) / y;
}

/** erfc(y) for y > 0.46875. */
function erfcPositive(y: number): number {
  if (y > 4 && y >= 26.543) return 0; // erfc underflows
  const r = erfcRatio(y);
  // exp(−y²) = exp(−ys²)·exp(−(y−ys)(y+ys)) with ys = y rounded down to 1/16: both products are exact enough.
  const ys = Math.trunc(y * 16) / 16;
  const del = (y - ys) * (y + ys);
  return Math.exp(-ys * ys) * Math.exp(-del) * r;
}

export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESHOLD) return erfSmall(x);
  if (y !== y) return NaN;
  const r = 0.5 - erfcPositive(y) + 0.5;
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESHOLD) return 1 - erfSmall(x);
  if (y !== y) return NaN;
  const r = erfcPositive(y);
  return x < 0 ? 2 - r : r;
}
