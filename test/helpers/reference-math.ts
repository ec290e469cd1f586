/** Plain-number pieces the independent plain-loop model references share (BERT, BART): no engine code. */

/** erf by its Maclaurin series (|x| < 2.5) and the continued fraction of erfc (beyond). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
      if (Math.abs(term) < 1e-18) break;
    }
    return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let k = 80; k >= 1; k--) f = k / 2 / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
}

/** The exact GELU, 0.5·x·(1 + erf(x/√2)). */
export const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** nn.LayerNorm over one row (biased variance). */
export function layerNorm(x: number[], g: ArrayLike<number>, b: ArrayLike<number>, eps: number): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i] + b[i]);
}
