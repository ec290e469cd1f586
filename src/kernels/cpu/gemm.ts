/**
 * The matmul inner kernel: rows [g0, g1) of a batched product, over "global rows" g = t·M + i (batch item t, row
 * i), so the worker pool can split a product between threads by output rows. Every output element is summed in
 * the same order whatever range a thread gets: its dot product runs over k in blocks of KC, each block summed in
 * a float64 local (the products of two f32 values are exact in f64), then added to c, which rounds to the storage
 * dtype once per block. So results are bit-identical for any thread count. With `bias`, bias[j] is added to
 * c(i, j) after its last block, as a separate rounding step (the same values as the product, rounded, plus the
 * bias, rounded: what a matmul followed by an add gives), while the tile is still in cache.
 *
 * The loops are those of BLIS / Goto's GEMM: a KC × NC panel of op(B) and an MC × KC block of op(A) are packed
 * into float64 strips (NR columns, MR rows, k-major), so all four transpose cases read their operands in place
 * through strides and the 4 × 4 micro-kernel only streams two contiguous strips from L1 into 16 running sums.
 * Both packs live in one float64 scratch array that the function keeps between calls (one array: V8 checks one
 * map and one length per loop iteration instead of two; kept: no allocation per call, and for bert-tiny's many
 * small products the allocation was a visible share of the call).
 *
 * SELF-CONTAINED: this function is also the source text of the pool's workers (see pool.ts), so it must not use
 * anything from outside its own body — no imports, no module constants. (The scratch array hangs off the
 * function object itself, which each worker has its own copy of.)
 */
export function gemmRows(
  a: Float32Array | Float64Array, b: Float32Array | Float64Array, c: Float32Array | Float64Array,
  // element offsets of A's and B's matrix for each output batch item t (broadcasting already resolved)
  offA: ArrayLike<number>, offB: ArrayLike<number>,
  M: number, K: number, N: number, transA: boolean, transB: boolean,
  bias: Float32Array | Float64Array | null, g0: number, g1: number,
): void {
  const MR = 4, NR = 4, KC = 256, MC = 96, NC = 512;
  // A(i, k) = a[oa + i·rsA + k·csA], B(k, j) = b[ob + k·rsB + j·csB]
  const rsA = transA ? 1 : K, csA = transA ? M : 1;
  const rsB = transB ? 1 : N, csB = transB ? K : 1;
  const kcMax = Math.min(KC, K);
  // p: [A block | B panel], packed as strips; bp0 is where the B panel starts
  const bp0 = Math.ceil(Math.min(MC, M) / MR) * MR * kcMax;
  const need = bp0 + Math.ceil(Math.min(NC, N) / NR) * NR * kcMax;
  const self = gemmRows as unknown as { scratch?: Float64Array };
  let p = self.scratch;
  if (p === undefined || p.length < need) {
    p = new Float64Array(Math.max(need, 2 * (p?.length ?? 0)));
    self.scratch = p;
  }

  for (let t = Math.floor(g0 / M); t * M < g1; t++) {
    const i0 = Math.max(g0 - t * M, 0), i1 = Math.min(g1 - t * M, M);
    const oa = offA[t], ob = offB[t], oc = t * M * N;
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      for (let pc = 0; pc < K; pc += KC) {
        const kc = Math.min(KC, K - pc);
        const first = pc === 0;
        const addBias = bias !== null && pc + kc === K;
        // B panel: strips of NR columns of op(B)[pc : pc + kc, jc : jc + nc], k-major, zero-padded past nc
        for (let js = 0; js < nc; js += NR) {
          const base = bp0 + (js / NR) * kc * NR;
          for (let jj = 0; jj < NR; jj++) {
            if (js + jj < nc) {
              const src = ob + pc * rsB + (jc + js + jj) * csB;
              if (rsB === 1) for (let k = 0; k < kc; k++) p[base + k * NR + jj] = b[src + k];
              else for (let k = 0; k < kc; k++) p[base + k * NR + jj] = b[src + k * rsB];
            } else {
              for (let k = 0; k < kc; k++) p[base + k * NR + jj] = 0;
            }
          }
        }
        for (let ic = i0; ic < i1; ic += MC) {
          const mc = Math.min(MC, i1 - ic);
          // A block: strips of MR rows of op(A)[ic : ic + mc, pc : pc + kc], k-major, zero-padded past mc
          for (let is = 0; is < mc; is += MR) {
            const base = (is / MR) * kc * MR;
            if (transA && is + MR <= mc) {
              // the strip's MR rows are adjacent in memory: copy them k by k
              let src = oa + pc * M + ic + is;
              for (let k = 0; k < kc; k++) {
                const d = base + k * MR;
                p[d] = a[src]; p[d + 1] = a[src + 1]; p[d + 2] = a[src + 2]; p[d + 3] = a[src + 3];
                src += M;
              }
              continue;
            }
            for (let ii = 0; ii < MR; ii++) {
              if (is + ii < mc) {
                const src = oa + (ic + is + ii) * rsA + pc * csA;
                if (csA === 1) for (let k = 0; k < kc; k++) p[base + k * MR + ii] = a[src + k];
                else for (let k = 0; k < kc; k++) p[base + k * MR + ii] = a[src + k * csA];
              } else {
                for (let k = 0; k < kc; k++) p[base + k * MR + ii] = 0;
              }
            }
          }
          for (let js = 0; js < nc; js += NR) {
            const cols = Math.min(NR, nc - js);
            const pbStrip = bp0 + (js / NR) * kc * NR;
            const j0 = jc + js;
            for (let is = 0; is < mc; is += MR) {
              const rows = Math.min(MR, mc - is);
              // micro-kernel: the 4 × 4 tile c[ic + is …, j0 …] from one A strip and one B strip
              let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
              let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
              let pa = (is / MR) * kc * MR, pb = pbStrip;
              for (let k = 0; k < kc; k++) {
                const a0 = p[pa], a1 = p[pa + 1], a2 = p[pa + 2], a3 = p[pa + 3];
                const b0 = p[pb], b1 = p[pb + 1], b2 = p[pb + 2], b3 = p[pb + 3];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
                pa += MR;
                pb += NR;
              }
              const r0 = oc + (ic + is) * N + j0;
              if (rows === MR && cols === NR) {
                const r1 = r0 + N, r2 = r1 + N, r3 = r2 + N;
                if (first) {
                  c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
                  c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
                  c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
                  c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
                } else {
                  c[r0] += c00; c[r0 + 1] += c01; c[r0 + 2] += c02; c[r0 + 3] += c03;
                  c[r1] += c10; c[r1 + 1] += c11; c[r1 + 2] += c12; c[r1 + 3] += c13;
                  c[r2] += c20; c[r2 + 1] += c21; c[r2 + 2] += c22; c[r2 + 3] += c23;
                  c[r3] += c30; c[r3 + 1] += c31; c[r3 + 2] += c32; c[r3 + 3] += c33;
                }
                if (addBias) {
                  const b0 = bias[j0], b1 = bias[j0 + 1], b2 = bias[j0 + 2], b3 = bias[j0 + 3];
                  c[r0] += b0; c[r0 + 1] += b1; c[r0 + 2] += b2; c[r0 + 3] += b3;
                  c[r1] += b0; c[r1 + 1] += b1; c[r1 + 2] += b2; c[r1 + 3] += b3;
                  c[r2] += b0; c[r2 + 1] += b1; c[r2 + 2] += b2; c[r2 + 3] += b3;
                  c[r3] += b0; c[r3 + 1] += b1; c[r3 + 2] += b2; c[r3 + 3] += b3;
                }
              } else {
                // an edge tile: write only the rows × cols that exist (row by row, no temporary array)
                for (let ii = 0; ii < rows; ii++) {
                  const v0 = ii === 0 ? c00 : ii === 1 ? c10 : ii === 2 ? c20 : c30;
                  const v1 = ii === 0 ? c01 : ii === 1 ? c11 : ii === 2 ? c21 : c31;
                  const v2 = ii === 0 ? c02 : ii === 1 ? c12 : ii === 2 ? c22 : c32;
                  const v3 = ii === 0 ? c03 : ii === 1 ? c13 : ii === 2 ? c23 : c33;
                  for (let jj = 0; jj < cols; jj++) {
                    const o = r0 + ii * N + jj;
                    const v = jj === 0 ? v0 : jj === 1 ? v1 : jj === 2 ? v2 : v3;
                    c[o] = first ? v : c[o] + v;
                    if (addBias) c[o] += bias[j0 + jj];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
