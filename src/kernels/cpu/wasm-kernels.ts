/**
 * The pool kernels that run the SIMD modules (wasm-probs.ts, wasm-gelu.ts, wasm-binary.ts, wasm-sums.ts, wasm-copy.ts,
 * wasm-adamw.ts: each states what its module computes and its bound): each copies its range into the module's memory,
 * runs it there and copies the result out. They live in one file so that they can share one pool helper, wasmScratch
 * (a helper must live beside its callers: pointwise.ts says why); every one is SELF-CONTAINED otherwise — its text is
 * the pool's worker source.
 */

/**
 * The module instance of `owner` (a kernel function; each thread instantiates its module once and keeps it on the
 * function object) with its memory grown to at least `bytes`, and an f32 view of that memory. SELF-CONTAINED.
 */
export function wasmScratch<K extends { mem: WebAssembly.Memory }>(wasm: Uint8Array, owner: object, bytes: number): { kernels: K; view: Float32Array } {
  const self = owner as { kernels?: K; view?: Float32Array };
  if (self.kernels === undefined) self.kernels = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource)).exports as unknown as K;
  const mem = self.kernels.mem;
  if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
  if (self.view === undefined || self.view.buffer !== mem.buffer) self.view = new Float32Array(mem.buffer);
  return { kernels: self.kernels, view: self.view };
}

/**
 * Rows [r0, r1) of attention_probs' forward in f32 through `fwd`, with attentionProbsRows' arguments (its rows,
 * masks, causal rule and dropout) plus the module's bytes first: the rows' scores and the whole key mask are copied
 * into the module's memory, each row runs there, y (and probs) are copied out. `fill` is used as f32 (one that is
 * finite but beyond f32's range as ±f32 max, so a row with every key hidden is uniform, as in f64).
 * A pool kernel: it calls only wasmScratch.
 */
export function attentionProbsRowsF32x4(wasm: Uint8Array, scores: Float32Array, keyMask: Float32Array, y: Float32Array,
  probs: Float32Array | null, H: number, T: number, S: number, scale: number, fill: number, causal: boolean, drop: number,
  seed: number, r0: number, r1: number): void {
  type Kernels = {
    mem: WebAssembly.Memory;
    fwd(src: number, mask: number, y: number, probs: number, S: number, limit: number, scale: number, fill: number,
      threshold: number, keep: number, seed: number, index: number, scratch: number): void;
  };
  const n = (r1 - r0) * S;
  // floats: [pad | scores rows | key mask | y rows | probs rows | scratch], each with 4 floats of room after it
  const src = 4, mk = src + n + 4, yo = mk + keyMask.length + 4, po = yo + n + 4, x = po + n + 4;
  const need = 4 * (x + S + 8);
  const { kernels: { fwd }, view: p } = wasmScratch<Kernels>(wasm, attentionProbsRowsF32x4, need);
  p.set(scores.subarray(r0 * S, r1 * S), src);
  p.set(keyMask, mk);
  let fill32 = Math.fround(fill);
  if (!Number.isFinite(fill32) && Number.isFinite(fill)) fill32 = fill < 0 ? -3.4028234663852886e38 : 3.4028234663852886e38;
  const threshold = Math.ceil(drop * 16777216);
  const keep = 1 / (1 - drop);
  for (let r = r0; r < r1; r++) {
    const b = Math.floor(r / (H * T));
    const i = r % T;
    const limit = causal ? Math.max(0, Math.min(S, S - T + i + 1)) : S;
    const o = (r - r0) * S;
    fwd(4 * (src + o), 4 * (mk + b * S), 4 * (yo + o), probs === null ? 0 : 4 * (po + o), S, limit, scale, fill32,
      threshold, keep, seed, r * S, 4 * x);
  }
  y.set(p.subarray(yo, yo + n), r0 * S);
  if (probs !== null) probs.set(p.subarray(po, po + n), r0 * S);
}

/**
 * Rows [r0, r1) of attention_probs' backward in f32 through `bwd`, with attentionProbsBackwardRows' arguments plus
 * the module's bytes first (y, g and the key mask copied in, ds out). A pool kernel, as the forward.
 */
export function attentionProbsBackwardRowsF32x4(wasm: Uint8Array, y: Float32Array, g: Float32Array, keyMask: Float32Array,
  ds: Float32Array, H: number, T: number, S: number, scale: number, causal: boolean, drop: number, seed: number,
  r0: number, r1: number): void {
  type Kernels = {
    mem: WebAssembly.Memory;
    bwd(y: number, g: number, mask: number, ds: number, S: number, limit: number, scale: number, threshold: number,
      keep: number, seed: number, index: number, scratch: number, dropout: number): void;
  };
  const n = (r1 - r0) * S;
  // floats: [pad | y rows | g rows | key mask | ds rows | scratch (f64: 2 floats each)]
  const yo = 4, go = yo + n + 4, mk = go + n + 4, dso = mk + keyMask.length + 4, x = dso + n + 4 + ((dso + n) & 1);
  const need = 4 * (x + 2 * (S + 8));
  const { kernels: { bwd }, view: p } = wasmScratch<Kernels>(wasm, attentionProbsBackwardRowsF32x4, need);
  p.set(y.subarray(r0 * S, r1 * S), yo);
  p.set(g.subarray(r0 * S, r1 * S), go);
  p.set(keyMask, mk);
  const threshold = Math.ceil(drop * 16777216);
  const keep = drop === 0 ? 1 : 1 / (1 - drop);
  for (let r = r0; r < r1; r++) {
    const b = Math.floor(r / (H * T));
    const i = r % T;
    const limit = causal ? Math.max(0, Math.min(S, S - T + i + 1)) : S;
    const o = (r - r0) * S;
    bwd(4 * (yo + o), 4 * (go + o), 4 * (mk + b * S), 4 * (dso + o), S, limit, scale, threshold, keep, seed, r * S, 4 * x, drop === 0 ? 0 : 1);
  }
  ds.set(p.subarray(dso, dso + n), r0 * S);
}

/**
 * Elements [g0, g1) of dropout in f32 through `drop`, with dropoutRange's arguments (attention-probs.ts) plus the
 * module's bytes first; the same values bit for bit. A pool kernel, as above.
 */
export function dropoutRangeF32x4(wasm: Uint8Array, x: Float32Array, out: Float32Array, p: number, seed: number, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; drop(src: number, dst: number, n: number, threshold: number, scale: number, seed: number, index: number): void };
  const n = g1 - g0, src = 0, dst = n + 4;
  const need = 4 * (dst + n + 4);
  const { kernels: { drop }, view: v } = wasmScratch<Kernels>(wasm, dropoutRangeF32x4, need);
  v.set(x.subarray(g0, g1), src);
  drop(4 * src, 4 * dst, n, Math.ceil(p * 16777216), 1 / (1 - p), seed, g0);
  out.set(v.subarray(dst, dst + n), g0);
}

/**
 * Elements [g0, g1) of f32 gelu_erf through `gelu32`, with y (and d, when given) written: the kernels of unaryRange's
 * gelu_erf and geluWithGradRange's f32 loop (pointwise.ts), the module's bytes first. A pool kernel: it calls only
 * wasmScratch.
 */
export function geluErfRangeF32x4(wasm: Uint8Array, x: Float32Array, y: Float32Array, d: Float32Array | null, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; gelu32(x: number, y: number, d: number, n: number, wantD: number): void };
  const n = g1 - g0, xo = 0, yo = n + 4, dofs = 2 * n + 8;
  const need = 4 * (dofs + n + 4);
  const { kernels: { gelu32 }, view: v } = wasmScratch<Kernels>(wasm, geluErfRangeF32x4, need);
  v.set(x.subarray(g0, g1), xo);
  gelu32(4 * xo, 4 * yo, 4 * dofs, n, d === null ? 0 : 1);
  y.set(v.subarray(yo, yo + n), g0);
  if (d !== null) d.set(v.subarray(dofs, dofs + n), g0);
}

/**
 * Elements [g0, g1) of out = a op b (sa, sb ∈ {0, 1}: a scalar operand has stride 0), f32, through `bin`, with the
 * module's bytes first: the ranges copied in, the result out. A pool kernel: it calls only wasmScratch.
 */
export function binaryFlatF32x4(wasm: Uint8Array, code: number, out: Float32Array, a: Float32Array, sa: number,
  b: Float32Array, sb: number, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; bin(op: number, a: number, sa: number, b: number, sb: number, out: number, n: number): void };
  const n = g1 - g0, pa = 0, pb = n + 4, po = 2 * n + 8;
  const need = 4 * (po + n + 4);
  const { kernels: { bin }, view: v } = wasmScratch<Kernels>(wasm, binaryFlatF32x4, need);
  if (sa === 1) v.set(a.subarray(g0, g1), pa); else v[pa] = a[0]!;
  if (sb === 1) v.set(b.subarray(g0, g1), pb); else v[pb] = b[0]!;
  bin(code, 4 * pa, sa, 4 * pb, sb, 4 * po, n);
  out.set(v.subarray(po, po + n), g0);
}

/**
 * Rows [g0, g1) of out (rows, len) = a op b where one operand is packed (rows, len) and the other one row (len)
 * broadcast to every row (`rowA`: a is the row), f32, through `bin`. A pool kernel, as above.
 */
export function binaryRowBroadcastF32x4(wasm: Uint8Array, code: number, out: Float32Array, a: Float32Array, b: Float32Array,
  rowA: boolean, len: number, g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; bin(op: number, a: number, sa: number, b: number, sb: number, out: number, n: number): void };
  const n = (g1 - g0) * len, pm = 0, pr = n + 4, po = pr + len + 4;
  const need = 4 * (po + n + 4);
  const { kernels: { bin }, view: v } = wasmScratch<Kernels>(wasm, binaryRowBroadcastF32x4, need);
  v.set((rowA ? b : a).subarray(g0 * len, g1 * len), pm);
  v.set((rowA ? a : b).subarray(0, len), pr);
  for (let r = 0; r < g1 - g0; r++) {
    const m = 4 * (pm + r * len), row = 4 * pr;
    if (rowA) bin(code, row, 1, m, 1, 4 * (po + r * len), len);
    else bin(code, m, 1, row, 1, 4 * (po + r * len), len);
  }
  out.set(v.subarray(po, po + n), g0 * len);
}

/**
 * Columns [c0, c1) of sums[c] += Σ_r x[r·len + c] (f64 sums, x f32 (rows, len)) through `colsum`, the module's bytes
 * first: the same bits as sumColumns. A pool kernel: it calls only wasmScratch.
 */
export function sumColumnsF32x4(wasm: Uint8Array, x: Float32Array, sums: Float64Array, rows: number, len: number, c0: number, c1: number): void {
  type Kernels = { mem: WebAssembly.Memory; colsum(x: number, rows: number, width: number, stride: number, acc: number): void };
  const width = c1 - c0, whole = c0 === 0 && c1 === len;
  const n = rows * width, acc = 2 * (((n + 4) >> 1) + 2); // acc: f64-aligned, after the block and its room
  const need = 4 * acc + 8 * (width + 4);
  const { kernels: { colsum }, view: v } = wasmScratch<Kernels>(wasm, sumColumnsF32x4, need);
  if (whole) v.set(x.subarray(0, rows * len), 0);
  else for (let r = 0; r < rows; r++) v.set(x.subarray(r * len + c0, r * len + c1), r * width);
  colsum(0, rows, width, width, 4 * acc);
  const out = new Float64Array(v.buffer, 4 * acc, width);
  for (let c = 0; c < width; c++) sums[c0 + c] += out[c]!;
}

/**
 * AdamW on elements [i0, i1) of f32 storages through `adamw`, with adamwRange's arguments plus the module's bytes
 * first: the ranges copied in, param, m and v copied back. A pool kernel: it calls only wasmScratch.
 */
export function adamwRangeF32x4(wasm: Uint8Array, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  decay: number, stepSize: number, sqrtBias2: number, b1: number, b2: number, eps: number, i0: number, i1: number): void {
  type Kernels = { mem: WebAssembly.Memory; adamw(p: number, g: number, m: number, v: number, n: number, decay: number, step: number,
    sqrtBias2: number, b1: number, b2: number, c1: number, c2: number, eps: number): void };
  const n = i1 - i0, s = n + 4, pp = 0, pg = s, pm = 2 * s, pv = 3 * s;
  const need = 4 * 4 * s;
  const { kernels: { adamw }, view: w } = wasmScratch<Kernels>(wasm, adamwRangeF32x4, need);
  w.set(param.subarray(i0, i1), pp); w.set(grad.subarray(i0, i1), pg); w.set(m.subarray(i0, i1), pm); w.set(v.subarray(i0, i1), pv);
  adamw(4 * pp, 4 * pg, 4 * pm, 4 * pv, n, decay, stepSize, sqrtBias2, b1, b2, 1 - b1, 1 - b2, eps);
  param.set(w.subarray(pp, pp + n), i0); m.set(w.subarray(pm, pm + n), i0); v.set(w.subarray(pv, pv + n), i0);
}

/**
 * Indices [g0, g1) of the first dim of a copy through `rows` (wasm-copy.ts), with copyCoalescedRange's arguments plus
 * the module's bytes first, for a space of rank 2–4 whose rows are contiguous in src and dst and whose dst is dense
 * in row-major order (copyStrided checks): the bytes src spans for these indices are copied into the module's
 * memory, gathered there, and the dense dst block copied out. A pool kernel: it calls only wasmScratch.
 */
export function copyRowsWasm(wasm: Uint8Array, src: Float32Array | Float64Array | Int32Array, srcOffset: number,
  dst: Float32Array | Float64Array | Int32Array, dstOffset: number, shape: readonly number[], dstStrides: readonly number[],
  srcStrides: readonly number[], g0: number, g1: number): void {
  type Kernels = { mem: WebAssembly.Memory; rows(src: number, dst: number, n0: number, n1: number, n2: number, words: number, s0: number, s1: number, s2: number): void };
  const bytes = src.BYTES_PER_ELEMENT;
  const rank = shape.length;
  // pad to (n0, n1, n2, len): missing middle dims have size 1
  const n1 = rank >= 3 ? shape[1]! : 1, n2 = rank === 4 ? shape[2]! : 1;
  const s1 = rank >= 3 ? srcStrides[1]! : 0, s2 = rank === 4 ? srcStrides[2]! : 0;
  const len = shape[rank - 1]!;
  const n0 = g1 - g0;
  const lo = srcOffset + g0 * srcStrides[0]!;
  const span = (n0 - 1) * srcStrides[0]! + (n1 - 1) * s1 + (n2 - 1) * s2 + len; // elements of src from lo
  const count = n0 * n1 * n2 * len;
  const at = Math.ceil(span * bytes / 16) * 16;
  const { kernels: { rows }, view } = wasmScratch<Kernels>(wasm, copyRowsWasm, at + count * bytes + 16);
  const m = new Uint8Array(view.buffer);
  m.set(new Uint8Array(src.buffer, src.byteOffset + lo * bytes, span * bytes), 0);
  rows(0, at, n0, n1, n2, len * bytes / 4, srcStrides[0]! * bytes, s1 * bytes, s2 * bytes);
  new Uint8Array(dst.buffer, dst.byteOffset + (dstOffset + g0 * dstStrides[0]!) * bytes, count * bytes).set(m.subarray(at, at + count * bytes));
}

/**
 * Rows [r0, r1) of the f32 layernorm forward through `lnfwd` (wasm-layernorm.ts: the same bits as layernormRows),
 * with its arguments plus the module's bytes first; cols a multiple of 4. A pool kernel: it calls only wasmScratch.
 */
export function layernormRowsF32x4(wasm: Uint8Array, x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array,
  mean: Float32Array, rstd: Float32Array, cols: number, eps: number, r0: number, r1: number): void {
  type Kernels = { mem: WebAssembly.Memory; lnfwd(x: number, g: number, b: number, y: number, mean: number, rstd: number, rows: number, cols: number, colsF: number, eps: number): void };
  const rows = r1 - r0, n = rows * cols;
  // floats: [x rows | gamma | beta | y rows | mean | rstd]
  const go = n, bo = go + cols, yo = bo + cols, mo = yo + n, ro = mo + rows;
  const { kernels: { lnfwd }, view: v } = wasmScratch<Kernels>(wasm, layernormRowsF32x4, 4 * (ro + rows));
  v.set(x.subarray(r0 * cols, r1 * cols), 0);
  v.set(gamma.subarray(0, cols), go);
  v.set(beta.subarray(0, cols), bo);
  lnfwd(0, 4 * go, 4 * bo, 4 * yo, 4 * mo, 4 * ro, rows, cols, cols, eps);
  y.set(v.subarray(yo, yo + n), r0 * cols);
  mean.set(v.subarray(mo, mo + rows), r0);
  rstd.set(v.subarray(ro, ro + rows), r0);
}

/**
 * Rows [r0, r1) of the f32 layernorm input gradient through `lndx` (the same bits as layernormDxRows), its arguments
 * plus the module's bytes first; cols a multiple of 4. A pool kernel, as above.
 */
export function layernormDxRowsF32x4(wasm: Uint8Array, x: Float32Array, g: Float32Array, gamma: Float32Array, mean: Float32Array,
  rstd: Float32Array, dx: Float32Array, cols: number, r0: number, r1: number): void {
  type Kernels = { mem: WebAssembly.Memory; lndx(x: number, g: number, gamma: number, mean: number, rstd: number, dx: number, rows: number, cols: number, colsF: number): void };
  const rows = r1 - r0, n = rows * cols;
  // floats: [x rows | g rows | gamma | mean | rstd | dx rows]
  const go = n, gmo = 2 * n, mo = gmo + cols, ro = mo + rows, dxo = ro + rows;
  const { kernels: { lndx }, view: v } = wasmScratch<Kernels>(wasm, layernormDxRowsF32x4, 4 * (dxo + n));
  v.set(x.subarray(r0 * cols, r1 * cols), 0);
  v.set(g.subarray(r0 * cols, r1 * cols), go);
  v.set(gamma.subarray(0, cols), gmo);
  v.set(mean.subarray(r0, r1), mo);
  v.set(rstd.subarray(r0, r1), ro);
  lndx(0, 4 * go, 4 * gmo, 4 * mo, 4 * ro, 4 * dxo, rows, cols, cols);
  dx.set(v.subarray(dxo, dxo + n), r0 * cols);
}

/**
 * Columns [c0, c1) of the f32 layernorm's dgamma and dbeta (f64, either may be null) through `lnpg` (the same bits
 * as layernormParamGradColumns), its arguments plus the module's bytes first: the columns in pairs, an odd last one
 * in the same TypeScript arithmetic. A pool kernel: it calls only wasmScratch.
 */
export function layernormParamGradColumnsF32x4(wasm: Uint8Array, x: Float32Array, g: Float32Array, mean: Float32Array, rstd: Float32Array,
  dgamma: Float64Array | null, dbeta: Float64Array | null, rows: number, cols: number, c0: number, c1: number): void {
  type Kernels = { mem: WebAssembly.Memory; lnpg(x: number, g: number, mean: number, rstd: number, dg: number, db: number, rows: number, cols: number,
    c0: number, c1: number, wantG: number, wantB: number): void };
  const n = rows * cols, pairs = c1 - ((c1 - c0) & 1);
  // floats: [x | g | mean | rstd | pad to f64 | dgamma (f64 × cols) | dbeta (f64 × cols)], 2 floats of room after x and g
  const go = n + 2, mo = go + n + 2, ro = mo + rows, dgo = 2 * Math.ceil((ro + rows) / 2), dbo = dgo + 2 * cols;
  const { kernels: { lnpg }, view: v } = wasmScratch<Kernels>(wasm, layernormParamGradColumnsF32x4, 4 * (dbo + 2 * cols));
  v.set(x.subarray(0, n), 0);
  v.set(g.subarray(0, n), go);
  v.set(mean.subarray(0, rows), mo);
  v.set(rstd.subarray(0, rows), ro);
  const acc = new Float64Array(v.buffer, 4 * dgo, 2 * cols);
  acc.fill(0, c0, c1);
  acc.fill(0, cols + c0, cols + c1);
  if (pairs > c0) lnpg(0, 4 * go, 4 * mo, 4 * ro, 4 * dgo, 4 * dbo, rows, cols, c0, pairs, dgamma === null ? 0 : 1, dbeta === null ? 0 : 1);
  for (let j = pairs; j < c1; j++) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      if (dgamma !== null) acc[j] += g[o + j]! * (x[o + j]! - mean[r]!) * rstd[r]!;
      if (dbeta !== null) acc[cols + j] += g[o + j]!;
    }
  }
  for (let j = c0; j < c1; j++) {
    if (dgamma !== null) dgamma[j] += acc[j]!;
    if (dbeta !== null) dbeta[j] += acc[cols + j]!;
  }
}
