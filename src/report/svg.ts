/**
 * Hand-written SVG charts for the `webpeft compare` report: line charts, a log-x scatter, a heatmap with a colour bar
 * and a bar chart. No libraries and no scripts: each function returns one `<svg>` element as a string (no xmlns, so
 * the report carries no URL; inline SVG in HTML does not need one), sized for ~720×360 and scaled down by CSS.
 * Every label is HTML-escaped; every coordinate is finite (non-finite data points are dropped, not drawn as NaN).
 */

/** Okabe & Ito's colour-blind-safe palette, ordered for a white background (its yellow, darkened, last). */
export const OKABE_ITO = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#B8A200'] as const;

/** ColorBrewer YlGnBu (9 classes): sequential, colour-blind safe, light = small. */
export const YLGNBU = ['#ffffd9', '#edf8b1', '#c7e9b4', '#7fcdbb', '#41b6c4', '#1d91c0', '#225ea8', '#253494', '#081d58'] as const;

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

/** A coordinate, rounded to 0.1 px (non-finite → 0, so no NaN reaches an attribute). */
export function px(v: number): string {
  if (!Number.isFinite(v)) return '0';
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Advance widths (em) of DejaVu Sans, the widest common sans-serif fallback; other fonts come out narrower. */
const WIDTHS: Record<string, number> = (() => {
  const w: Record<string, number> = {};
  const set = (chars: string, v: number) => { for (const c of chars) w[c] = v; };
  set('0123456789', 0.636); set(' ,.', 0.318); set(":;/", 0.337); set('()[]{}', 0.39); set('<>=+~#', 0.838);
  set('!|', 0.4); set('"', 0.46); set("'`", 0.275); set('-', 0.361); set('_', 0.5); set('*', 0.5); set('?', 0.531);
  set('%', 0.95); set('&', 0.78); set('@', 1.0); set('…', 1.0);
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const lw = [0.613, 0.635, 0.55, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278, 0.974, 0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525];
  const uw = [0.684, 0.686, 0.698, 0.77, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748, 0.787, 0.603, 0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685];
  [...lower].forEach((c, i) => { w[c] = lw[i]; w[c.toUpperCase()] = uw[i]; });
  return w;
})();

/** Width of a label in px, measured with DejaVu Sans's widths (conservative: most UI fonts are narrower). */
export function textWidth(s: string, fontSize: number): number {
  let w = 0;
  for (const ch of s) w += WIDTHS[ch] ?? 0.7;
  return w * fontSize;
}

/** Shortens a label to about `maxPx` pixels, with an ellipsis. */
export function clip(s: string, maxPx: number, fontSize: number): string {
  if (textWidth(s, fontSize) <= maxPx) return s;
  let out = s;
  while (out.length > 1 && textWidth(`${out}…`, fontSize) > maxPx) out = out.slice(0, -1);
  return `${out}…`;
}

/** Two significant digits, without exponent notation for ordinary magnitudes (0.00012, 1.2, 120). */
export function sig(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  return String(Number(v.toPrecision(digits)));
}

// ---------------------------------------------------------------- scales and ticks

export interface Ticks { lo: number; hi: number; step: number; values: number[] }

function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** A "nice" linear domain containing [lo, hi] and its ticks (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(lo: number, hi: number, count = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad; hi += pad;
  }
  const step = niceStep(hi - lo, count);
  const k0 = Math.floor(lo / step + 1e-9);
  const k1 = Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let k = k0; k <= k1; k++) values.push(Number((k * step).toPrecision(12)));
  return { lo: values[0], hi: values[values.length - 1], step, values };
}

/** A tick label for a linear axis with the given step (just enough decimals; thousands separators for big integers). */
export function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  if (decimals === 0 && Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  const s = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Percent label for a decade tick: 0.001%, 0.1%, 1%, 100%. */
export function percentLabel(v: number): string {
  return `${String(Number(v.toPrecision(3)))}%`;
}

const linear = (d0: number, d1: number, r0: number, r1: number) => (v: number) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0);

// ---------------------------------------------------------------- frame, axes, legend

export interface Frame { width: number; height: number; left: number; right: number; top: number; bottom: number }
const plotBox = (f: Frame) => ({ x0: f.left, x1: f.width - f.right, y0: f.top, y1: f.height - f.bottom });

export interface AxisTick { at: number; label: string; minor?: boolean }

function open(f: Frame, title: string, id: string): string {
  return `<svg id="${esc(id)}" class="chart" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-labelledby="${esc(id)}-title" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif">`
    + `<title id="${esc(id)}-title">${esc(title)}</title>`
    + `<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>`
    + `<text x="${px(f.width / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="600" fill="#222">${esc(title)}</text>`;
}

/** Grid, axis lines, ticks, tick labels and axis titles for a plot box; tick positions already in px. */
function axes(f: Frame, xt: AxisTick[], yt: AxisTick[], xTitle: string, yTitle: string): string {
  const b = plotBox(f);
  const out: string[] = ['<g class="axes" font-size="11" fill="#333">'];
  for (const t of yt) {
    out.push(`<line x1="${px(b.x0)}" x2="${px(b.x1)}" y1="${px(t.at)}" y2="${px(t.at)}" stroke="${t.minor ? '#f2f2f2' : '#e3e3e3'}" stroke-width="1"/>`);
    if (!t.minor) {
      out.push(`<line x1="${px(b.x0 - 4)}" x2="${px(b.x0)}" y1="${px(t.at)}" y2="${px(t.at)}" stroke="#444"/>`);
      out.push(`<text x="${px(b.x0 - 7)}" y="${px(t.at + 4)}" text-anchor="end">${esc(t.label)}</text>`);
    }
  }
  for (const t of xt) {
    out.push(`<line x1="${px(t.at)}" x2="${px(t.at)}" y1="${px(b.y0)}" y2="${px(b.y1)}" stroke="${t.minor ? '#f2f2f2' : '#e3e3e3'}" stroke-width="1"/>`);
    out.push(`<line x1="${px(t.at)}" x2="${px(t.at)}" y1="${px(b.y1)}" y2="${px(b.y1 + (t.minor ? 3 : 5))}" stroke="#444"/>`);
    if (!t.minor && t.label) out.push(`<text x="${px(t.at)}" y="${px(b.y1 + 18)}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  out.push(`<line x1="${px(b.x0)}" x2="${px(b.x0)}" y1="${px(b.y0)}" y2="${px(b.y1)}" stroke="#444"/>`);
  out.push(`<line x1="${px(b.x0)}" x2="${px(b.x1)}" y1="${px(b.y1)}" y2="${px(b.y1)}" stroke="#444"/>`);
  out.push('</g>');
  out.push(`<text x="${px((b.x0 + b.x1) / 2)}" y="${px(f.height - 10)}" text-anchor="middle" font-size="12" fill="#222">${esc(xTitle)}</text>`);
  const yc = (b.y0 + b.y1) / 2;
  out.push(`<text x="16" y="${px(yc)}" transform="rotate(-90 16 ${px(yc)})" text-anchor="middle" font-size="12" fill="#222">${esc(yTitle)}</text>`);
  return out.join('');
}

export interface LegendItem { name: string; color: string; dash?: string; shape?: 'line' | 'dot' | 'box' }

/** A legend column starting at (x, y); items clipped to `maxPx` wide. */
function legend(items: LegendItem[], x: number, y: number, maxPx: number, title?: string): string {
  const out: string[] = ['<g class="legend" font-size="11" fill="#222">'];
  let yy = y;
  if (title) { out.push(`<text x="${px(x)}" y="${px(yy + 4)}" font-weight="600">${esc(title)}</text>`); yy += 18; }
  for (const it of items) {
    const shape = it.shape ?? 'line';
    if (shape === 'line') out.push(`<line x1="${px(x)}" x2="${px(x + 20)}" y1="${px(yy)}" y2="${px(yy)}" stroke="${esc(it.color)}" stroke-width="2.5"${it.dash ? ` stroke-dasharray="${esc(it.dash)}"` : ''}/>`);
    else if (shape === 'dot') out.push(`<circle cx="${px(x + 10)}" cy="${px(yy)}" r="5" fill="${esc(it.color)}" stroke="#ffffff" stroke-width="1"/>`);
    else out.push(`<rect x="${px(x + 3)}" y="${px(yy - 6)}" width="14" height="12" fill="${esc(it.color)}"/>`);
    const label = clip(it.name, maxPx - 26, 11);
    out.push(`<text x="${px(x + 26)}" y="${px(yy + 4)}">${label !== it.name ? `<title>${esc(it.name)}</title>` : ''}${esc(label)}</text>`);
    yy += 18;
  }
  out.push('</g>');
  return out.join('');
}

/** Right margin that fits a legend of these names (26 px swatch + text), between 130 and 250 px. */
function legendMargin(names: string[]): number {
  return Math.round(Math.min(250, Math.max(130, 26 + 24 + Math.max(0, ...names.map((n) => textWidth(n, 11))))));
}

function path(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i ? 'L' : 'M'}${px(x)} ${px(y)}`).join('');
}

/** Splits a point list at non-finite values, so gaps stay gaps. */
function finiteRuns(points: [number, number][]): [number, number][][] {
  const runs: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (const p of points) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) cur.push(p);
    else if (cur.length) { runs.push(cur); cur = []; }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** Keeps the shape of a long curve in ≤ 2·buckets points (each bucket's minimum and maximum, in step order). */
export function decimate(points: [number, number][], buckets = 400): [number, number][] {
  if (points.length <= 2 * buckets) return points;
  const out: [number, number][] = [];
  const size = points.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const chunk = points.slice(Math.floor(b * size), Math.floor((b + 1) * size)).filter((p) => Number.isFinite(p[1]));
    if (!chunk.length) { out.push([points[Math.floor(b * size)][0], NaN]); continue; }
    let lo = chunk[0], hi = chunk[0];
    for (const p of chunk) { if (p[1] < lo[1]) lo = p; if (p[1] > hi[1]) hi = p; }
    if (lo === hi) out.push(lo); else out.push(...(lo[0] < hi[0] ? [lo, hi] : [hi, lo]));
  }
  return out;
}

/** Centered moving average over `window` points (shrinking at the ends); non-finite values are skipped. */
export function movingAverage(xs: readonly number[], window: number): number[] {
  const w = Math.max(1, Math.round(window));
  const before = Math.floor((w - 1) / 2), after = w - 1 - before;
  return xs.map((_, i) => {
    let s = 0, n = 0;
    for (let j = Math.max(0, i - before); j <= Math.min(xs.length - 1, i + after); j++) if (Number.isFinite(xs[j])) { s += xs[j]; n++; }
    return n ? s / n : NaN;
  });
}

const finite = (vs: Iterable<number>) => [...vs].filter((v) => Number.isFinite(v));

// ---------------------------------------------------------------- line chart

export interface LineSeries {
  name: string;
  color: string;
  dash?: string;
  points: [number, number][];
  /** Drawn first, thin and translucent (e.g. the raw curve under a smoothed one). */
  faint?: [number, number][];
  markers?: boolean;
  /** A ± whisker (a standard error) at each point, drawn when finite; parallel to `points`. */
  errors?: (number | undefined)[];
}

export interface LineChartOptions {
  id: string;
  title: string;
  xTitle: string;
  yTitle: string;
  series: LineSeries[];
  /** Put x ticks exactly at these values (e.g. the prompt lengths swept) instead of nice ticks. */
  xTickValues?: number[];
  /** x on a log10 axis (positive x only), e.g. training-set sizes; tick labels show the values themselves. */
  logX?: boolean;
  width?: number;
  height?: number;
  /** An empty plot shows this text. */
  emptyNote?: string;
}

export function lineChart(o: LineChartOptions): string {
  // the axis works in t = x or log10 x; points, ticks and titles keep x itself
  const tx = o.logX ? (x: number) => (x > 0 ? Math.log10(x) : NaN) : (x: number) => x;
  const f: Frame = { width: o.width ?? 720, height: o.height ?? 360, left: 64, right: legendMargin(o.series.map((s) => s.name)), top: 34, bottom: 48 };
  const b = plotBox(f);
  const xs = finite(o.series.flatMap((s) => [...s.points, ...(s.faint ?? [])].map((p) => tx(p[0]))));
  const ys = finite(o.series.flatMap((s) => [...s.points, ...(s.faint ?? [])].filter((p) => Number.isFinite(tx(p[0]))).map((p) => p[1])));
  // whiskers widen the y range
  for (const s of o.series) s.points.forEach(([x, y], i) => { const e = s.errors?.[i]; if (Number.isFinite(tx(x)) && Number.isFinite(e)) ys.push(y - Math.abs(e!), y + Math.abs(e!)); });
  const out: string[] = [open(f, o.title, o.id)];
  const xv = o.xTickValues?.map(tx).filter(Number.isFinite).sort((a, c) => a - c);
  let xt: Ticks;
  if (xv && xv.length) {
    const lo = xv[0], hi = xv[xv.length - 1];
    const pad = hi > lo ? (hi - lo) * 0.04 : 1;
    xt = { lo: lo - pad, hi: hi + pad, step: niceStep(hi - lo || 1, 5), values: xv };
  } else xt = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 8);
  const yt = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const toX = linear(xt.lo, xt.hi, b.x0, b.x1), Y = linear(yt.lo, yt.hi, b.y1, b.y0);
  const X = (x: number) => toX(tx(x));
  // ticks are in t; a log axis labels each with its x
  const xLabel = (t: number) => (o.logX ? String(Number((10 ** t).toPrecision(6))) : xv ? String(t) : tickLabel(t, xt.step));
  out.push(axes(f, xt.values.map((v) => ({ at: toX(v), label: xLabel(v) })), yt.values.map((v) => ({ at: Y(v), label: tickLabel(v, yt.step) })), o.xTitle, o.yTitle));
  const clipId = `${o.id}-clip`;
  out.push(`<defs><clipPath id="${esc(clipId)}"><rect x="${px(b.x0)}" y="${px(b.y0 - 2)}" width="${px(b.x1 - b.x0)}" height="${px(b.y1 - b.y0 + 4)}"/></clipPath></defs>`);
  out.push(`<g clip-path="url(#${esc(clipId)})" fill="none" stroke-linejoin="round" stroke-linecap="round">`);
  // a point the axis cannot show (x ≤ 0 on a log axis) is a gap
  const onAxis = (ps: [number, number][]) => ps.map(([x, y]): [number, number] => [Number.isFinite(tx(x)) ? x : NaN, y]);
  const toPx = (ps: [number, number][]) => ps.map(([x, y]): [number, number] => [X(x), Y(y)]);
  for (const s of o.series) {
    for (const run of finiteRuns(decimate(onAxis(s.faint ?? [])))) {
      out.push(`<path d="${path(toPx(run))}" stroke="${esc(s.color)}" stroke-width="1" stroke-opacity="0.28"/>`);
    }
  }
  for (const s of o.series) {
    for (const run of finiteRuns(decimate(onAxis(s.points)))) {
      if (run.length === 1 && !s.markers) out.push(`<circle cx="${px(X(run[0][0]))}" cy="${px(Y(run[0][1]))}" r="2.5" fill="${esc(s.color)}"/>`);
      else out.push(`<path d="${path(toPx(run))}" stroke="${esc(s.color)}" stroke-width="2"${s.dash ? ` stroke-dasharray="${esc(s.dash)}"` : ''}><title>${esc(s.name)}</title></path>`);
    }
    s.points.forEach(([x, y], i) => {
      const e = s.errors?.[i];
      if (!Number.isFinite(tx(x)) || !Number.isFinite(y) || !Number.isFinite(e) || e === 0) return;
      const [cx, lo, hi] = [X(x), Y(y - Math.abs(e!)), Y(y + Math.abs(e!))];
      out.push(`<g class="error-bar" stroke="${esc(s.color)}" stroke-width="1.4"><title>${esc(`${s.name}: x=${x}, ${sig(y, 3)} ± ${sig(Math.abs(e!), 2)}`)}</title>`
        + `<line x1="${px(cx)}" x2="${px(cx)}" y1="${px(lo)}" y2="${px(hi)}"/><line x1="${px(cx - 5)}" x2="${px(cx + 5)}" y1="${px(lo)}" y2="${px(lo)}"/>`
        + `<line x1="${px(cx - 5)}" x2="${px(cx + 5)}" y1="${px(hi)}" y2="${px(hi)}"/></g>`);
    });
    if (s.markers) {
      for (const [x, y] of s.points) {
        if (Number.isFinite(tx(x)) && Number.isFinite(y)) out.push(`<circle cx="${px(X(x))}" cy="${px(Y(y))}" r="4" fill="${esc(s.color)}" stroke="#ffffff" stroke-width="1"><title>${esc(`${s.name}: x=${x}, ${sig(y, 3)}`)}</title></circle>`);
      }
    }
  }
  out.push('</g>');
  if (!xs.length && o.emptyNote) out.push(`<text x="${px((b.x0 + b.x1) / 2)}" y="${px((b.y0 + b.y1) / 2)}" text-anchor="middle" font-size="12" fill="#777">${esc(o.emptyNote)}</text>`);
  out.push(legend(o.series.map((s) => ({ name: s.name, color: s.color, dash: s.dash })), b.x1 + 16, b.y0 + 6, f.right - 20));
  out.push('</svg>');
  return out.join('');
}

// ---------------------------------------------------------------- scatter with a log10 x axis

export interface ScatterPoint { label: string; color: string; x: number; y: number }

export interface ScatterOptions { id: string; title: string; xTitle: string; yTitle: string; points: ScatterPoint[]; width?: number; height?: number }

interface Box { x: number; y: number; w: number; h: number }
const overlaps = (a: Box, c: Box) => a.x < c.x + c.w && c.x < a.x + a.w && a.y < c.y + c.h && c.y < a.y + a.h;

/**
 * x on a log10 axis, one decade per major tick (0.001% … 100%), minor ticks at 2–9; non-positive x are drawn hollow at
 * the left edge. Point labels are placed greedily around each point so they neither overlap each other nor the points.
 */
export function scatterLogX(o: ScatterOptions): string {
  const f: Frame = { width: o.width ?? 720, height: o.height ?? 360, left: 64, right: legendMargin(o.points.map((p) => p.label)), top: 34, bottom: 48 };
  const b = plotBox(f);
  const pts = o.points.filter((p) => Number.isFinite(p.y));
  const pos = finite(pts.map((p) => p.x)).filter((x) => x > 0);
  let d0 = pos.length ? Math.floor(Math.log10(Math.min(...pos)) + 1e-9) : -3;
  let d1 = pos.length ? Math.ceil(Math.log10(Math.max(...pos)) - 1e-9) : 2;
  if (d1 <= d0) d0 = d1 - 1;
  const hasNonPositive = pts.some((p) => !(p.x > 0));
  const ys = finite(pts.map((p) => p.y));
  let yLo = ys.length ? Math.min(...ys) : 0, yHi = ys.length ? Math.max(...ys) : 1;
  const pad = (yHi - yLo) * 0.08 || 0.05;
  yLo -= pad; yHi += pad;
  const yt = niceTicks(yLo, yHi, 5);
  const X = (x: number) => linear(d0, d1, b.x0 + 12, b.x1 - 12)(x > 0 ? Math.log10(x) : d0);
  const Y = linear(yt.lo, yt.hi, b.y1, b.y0);
  const xt: AxisTick[] = [];
  for (let d = d0; d <= d1; d++) {
    xt.push({ at: X(10 ** d), label: percentLabel(10 ** d) });
    if (d < d1) for (let m = 2; m <= 9; m++) xt.push({ at: X(m * 10 ** d), label: '', minor: true });
  }
  const out: string[] = [open(f, o.title, o.id)];
  out.push(axes(f, xt, yt.values.map((v) => ({ at: Y(v), label: tickLabel(v, yt.step) })), o.xTitle, o.yTitle));
  // Points first (their boxes block label placement), then labels.
  const placed: Box[] = pts.map((p) => ({ x: X(p.x) - 5, y: Y(p.y) - 5, w: 10, h: 10 }));
  const labels: string[] = [];
  for (const p of pts) {
    const cx = X(p.x), cy = Y(p.y);
    const hollow = !(p.x > 0);
    out.push(`<circle cx="${px(cx)}" cy="${px(cy)}" r="5.5" fill="${hollow ? '#ffffff' : esc(p.color)}" stroke="${hollow ? esc(p.color) : '#ffffff'}" stroke-width="${hollow ? 2 : 1}"><title>${esc(`${p.label}: ${Number.isFinite(p.x) ? `${sig(p.x, 3)}%` : '?'} trainable, ${sig(p.y, 3)}`)}</title></circle>`);
    const text = clip(hollow ? `${p.label} (0%)` : p.label, 150, 11);
    const w = textWidth(text, 11) + 2, h = 13;
    const candidates: [number, number, 'start' | 'end' | 'middle'][] = [];
    for (const dy of [0, -14, 14, -28, 28, -42, 42]) {
      candidates.push([cx + 9, cy + dy, 'start'], [cx - 9, cy + dy, 'end']);
      if (dy) candidates.push([cx, cy + dy, 'middle']);
    }
    const boxOf = ([x, y, a]: [number, number, string]): Box => ({ x: a === 'start' ? x : a === 'end' ? x - w : x - w / 2, y: y - h / 2, w, h });
    const inside = (bx: Box) => bx.x >= b.x0 + 1 && bx.x + bx.w <= b.x1 - 1 && bx.y >= b.y0 && bx.y + bx.h <= b.y1 - 1;
    let best = candidates.find((c) => { const bx = boxOf(c); return inside(bx) && !placed.some((q) => overlaps(bx, q)); });
    best ??= candidates.find((c) => inside(boxOf(c))) ?? candidates[0];
    const bx = boxOf(best);
    placed.push(bx);
    const [lx, ly, anchor] = best;
    if (Math.abs(ly - cy) > 8) labels.push(`<line x1="${px(cx)}" y1="${px(cy)}" x2="${px(anchor === 'start' ? bx.x : anchor === 'end' ? bx.x + bx.w : cx)}" y2="${px(ly < cy ? bx.y + bx.h : bx.y)}" stroke="#999" stroke-width="0.8"/>`);
    labels.push(`<text x="${px(lx)}" y="${px(ly + 4)}" text-anchor="${anchor}" font-size="11" fill="#222" stroke="#ffffff" stroke-width="3" paint-order="stroke">${esc(text)}</text>`);
  }
  out.push(...labels);
  if (hasNonPositive) out.push(`<text x="${px(b.x0 + 4)}" y="${px(b.y0 + 12)}" font-size="10" fill="#777">hollow: 0% trainable, drawn at the left edge</text>`);
  out.push(legend(pts.map((p) => ({ name: p.label, color: p.color, shape: 'dot' as const })), b.x1 + 16, b.y0 + 6, f.right - 20));
  out.push('</svg>');
  return out.join('');
}

// ---------------------------------------------------------------- heatmap

/** Linear interpolation through a list of hex colours; t in [0, 1]. */
export function rampColor(ramp: readonly string[], t: number): string {
  const tt = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (ramp.length - 1);
  const i = Math.min(ramp.length - 2, Math.floor(tt)), u = tt - i;
  const a = hexRgb(ramp[i]), c = hexRgb(ramp[i + 1]);
  const mix = a.map((v, k) => Math.round(v + (c[k] - v) * u));
  return `#${mix.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
function hexRgb(h: string): number[] {
  return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
}
/** Black or white text, whichever reads better on this fill. */
function inkOn(fill: string): string {
  const [r, g, bl] = hexRgb(fill).map((v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * bl > 0.3 ? '#111111' : '#ffffff';
}

export interface HeatmapOptions {
  id: string;
  title: string;
  xTitle: string;
  yTitle: string;
  rowLabels: string[];
  colLabels: string[];
  /** values[row][col]; undefined = no such bias (drawn as an empty, hatched cell). */
  values: (number | undefined)[][];
  valueTitle: string;
  width?: number;
}

export function heatmap(o: HeatmapOptions): string {
  const nr = Math.max(1, o.rowLabels.length), nc = Math.max(1, o.colLabels.length);
  const rowW = Math.max(24, ...o.rowLabels.map((l) => textWidth(l, 11)));
  const left = Math.max(56, Math.round(30 + 8 + rowW)), right = 84, top = 34;
  // Columns as wide as their labels need (one line, or two when split at a hyphen), within 56–96 px.
  const need = (c: string) => {
    const cut = c.search(/[-_ ]/);
    const one = textWidth(c, 11);
    return cut > 0 ? Math.min(one, Math.max(textWidth(c.slice(0, cut + 1), 11), textWidth(c.slice(cut + 1), 11))) : one;
  };
  const cellW = Math.min(96, Math.max(56, ...o.colLabels.map((c) => need(c) + 8)));
  const width = Math.max(o.width ?? 720, Math.round(left + cellW * nc + right));
  const cellH = 26;
  const gridW = cellW * nc, gridH = cellH * nr;
  const barH = Math.max(gridH, 120);
  const colLines = o.colLabels.map((c) => {
    if (textWidth(c, 11) <= cellW - 6) return [c];
    const cut = c.search(/[-_ ]/);
    return cut > 0 ? [c.slice(0, cut + 1), clip(c.slice(cut + 1), cellW - 6, 11)] : [clip(c, cellW - 6, 11)];
  });
  const twoLines = colLines.some((l) => l.length > 1);
  const bottom = (twoLines ? 44 : 30) + 22;
  const height = top + Math.max(gridH, barH) + bottom;
  const f: Frame = { width, height, left, right, top, bottom };
  const x0 = left + Math.max(0, (width - left - right - gridW) / 2), y0 = top;
  const vals = finite(o.values.flat().filter((v): v is number => v !== undefined));
  const max = vals.length ? Math.max(...vals, 0) : 0;
  const ct = niceTicks(0, max > 0 ? max : 1, 4);
  const scaleMax = ct.hi;
  const out: string[] = [open(f, o.title, o.id)];
  const hatch = `${o.id}-hatch`, grad = `${o.id}-grad`;
  out.push(`<defs><pattern id="${esc(hatch)}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d8d8d8" stroke-width="2"/></pattern>`
    + `<linearGradient id="${esc(grad)}" x1="0" y1="1" x2="0" y2="0">${YLGNBU.map((c, i) => `<stop offset="${px((i / (YLGNBU.length - 1)) * 100)}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`);
  out.push('<g class="cells" font-size="11">');
  for (let r = 0; r < o.rowLabels.length; r++) {
    for (let c = 0; c < o.colLabels.length; c++) {
      const v = o.values[r]?.[c];
      const x = x0 + c * cellW, y = y0 + r * cellH;
      if (v === undefined || !Number.isFinite(v)) {
        out.push(`<rect x="${px(x)}" y="${px(y)}" width="${px(cellW)}" height="${px(cellH)}" fill="url(#${esc(hatch)})" stroke="#ffffff" stroke-width="1"><title>${esc(`${o.rowLabels[r]}, ${o.colLabels[c]}: none`)}</title></rect>`);
        continue;
      }
      const fill = rampColor(YLGNBU, scaleMax > 0 ? v / scaleMax : 0);
      out.push(`<rect x="${px(x)}" y="${px(y)}" width="${px(cellW)}" height="${px(cellH)}" fill="${fill}" stroke="#ffffff" stroke-width="1"><title>${esc(`${o.rowLabels[r]}, ${o.colLabels[c]}: ${sig(v, 4)}`)}</title></rect>`);
      out.push(`<text x="${px(x + cellW / 2)}" y="${px(y + cellH / 2 + 4)}" text-anchor="middle" fill="${inkOn(fill)}">${esc(sig(v, 2))}</text>`);
    }
  }
  out.push('</g><g class="axes" font-size="11" fill="#333">');
  for (let r = 0; r < o.rowLabels.length; r++) {
    out.push(`<text x="${px(x0 - 8)}" y="${px(y0 + r * cellH + cellH / 2 + 4)}" text-anchor="end">${esc(clip(o.rowLabels[r], x0 - 30, 11))}</text>`);
  }
  for (let c = 0; c < o.colLabels.length; c++) {
    const cx = x0 + c * cellW + cellW / 2;
    out.push(`<text x="${px(cx)}" y="${px(y0 + gridH + 16)}" text-anchor="middle">${colLines[c].map((l, i) => `<tspan x="${px(cx)}" dy="${i ? 13 : 0}">${esc(l)}</tspan>`).join('')}</text>`);
  }
  out.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${px(gridW)}" height="${px(gridH)}" fill="none" stroke="#888" stroke-width="1"/>`);
  out.push('</g>');
  out.push(`<text x="${px(x0 + gridW / 2)}" y="${px(y0 + gridH + (twoLines ? 46 : 34))}" text-anchor="middle" font-size="12" fill="#222">${esc(o.xTitle)}</text>`);
  const yc = y0 + gridH / 2;
  out.push(`<text x="16" y="${px(yc)}" transform="rotate(-90 16 ${px(yc)})" text-anchor="middle" font-size="12" fill="#222">${esc(o.yTitle)}</text>`);
  // Colour bar.
  const bx = x0 + gridW + 28, by = y0, bw = 14;
  out.push(`<g class="colorbar" font-size="11" fill="#333"><text x="${px(bx)}" y="${px(by - 6)}" font-size="11" font-weight="600">${esc(o.valueTitle)}</text>`);
  out.push(`<rect x="${px(bx)}" y="${px(by + 4)}" width="${bw}" height="${px(barH - 4)}" fill="url(#${esc(grad)})" stroke="#888" stroke-width="0.5"/>`);
  const BY = linear(0, scaleMax || 1, by + barH, by + 4);
  for (const v of ct.values) {
    out.push(`<line x1="${px(bx + bw)}" x2="${px(bx + bw + 4)}" y1="${px(BY(v))}" y2="${px(BY(v))}" stroke="#444"/>`);
    out.push(`<text x="${px(bx + bw + 7)}" y="${px(BY(v) + 4)}">${esc(tickLabel(v, ct.step))}</text>`);
  }
  out.push('</g></svg>');
  return out.join('');
}

// ---------------------------------------------------------------- bar chart

/** `error`: a ± whisker around the value (a standard error), drawn when finite. */
export interface Bar { label: string; color: string; value: number; error?: number }
export interface BarChartOptions { id: string; title: string; xTitle: string; yTitle: string; bars: Bar[]; legend: LegendItem[]; width?: number; height?: number }

/** Vertical bars from a zero baseline, value printed above each bar, category labels wrapped onto two lines. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 720, height = o.height ?? 360;
  const n = Math.max(1, o.bars.length);
  const right = legendMargin(o.legend.map((l) => l.name));
  const slot = (width - 64 - right) / n;
  const lines = o.bars.map((bar) => wrap2(bar.label, slot - 6, 11));
  const twoLines = lines.some((l) => l.length > 1);
  const f: Frame = { width, height, left: 64, right, top: 34, bottom: twoLines ? 62 : 48 };
  const b = plotBox(f);
  const vals = finite(o.bars.flatMap((bar) => (Number.isFinite(bar.error) ? [bar.value - bar.error!, bar.value + bar.error!] : [bar.value])));
  const yt = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals, vals.length ? 0 : 1), 5);
  const Y = linear(yt.lo, yt.hi, b.y1, b.y0);
  const out: string[] = [open(f, o.title, o.id)];
  out.push(axes(f, [], yt.values.map((v) => ({ at: Y(v), label: tickLabel(v, yt.step) })), o.xTitle, o.yTitle));
  const bw = Math.min(56, slot * 0.62);
  o.bars.forEach((bar, i) => {
    const cx = b.x0 + slot * (i + 0.5);
    out.push(categoryLabel(cx, b.y1, lines[i]));
    if (!Number.isFinite(bar.value)) {
      out.push(`<text x="${px(cx)}" y="${px(b.y1 - 6)}" text-anchor="middle" font-size="11" fill="#777">n/a</text>`);
      return;
    }
    const yv = Y(bar.value), yz = Y(0);
    out.push(`<rect x="${px(cx - bw / 2)}" y="${px(Math.min(yv, yz))}" width="${px(bw)}" height="${px(Math.max(1, Math.abs(yz - yv)))}" fill="${esc(bar.color)}"><title>${esc(`${bar.label}: ${bar.value.toFixed(3)}`)}</title></rect>`);
    const e = Number.isFinite(bar.error) ? Math.abs(bar.error!) : 0;
    if (e > 0) {
      out.push(whisker(cx, Y(bar.value - e), Y(bar.value + e), ''));
    }
    const top = bar.value >= 0 ? Y(bar.value + e) - 5 : Y(bar.value - e) + 13;
    out.push(`<text x="${px(cx)}" y="${px(top)}" text-anchor="middle" font-size="11" fill="#222">${esc(e > 0 ? `${bar.value.toFixed(3)} ± ${e.toFixed(3)}` : bar.value.toFixed(3))}</text>`);
  });
  out.push(`<line x1="${px(b.x0)}" x2="${px(b.x1)}" y1="${px(Y(0))}" y2="${px(Y(0))}" stroke="#444"/>`);
  out.push(legend(o.legend.map((l) => ({ ...l, shape: 'box' as const })), b.x1 + 16, b.y0 + 6, f.right - 20));
  out.push('</svg>');
  return out.join('');
}

/**
 * One dot per category with its ± whisker, on a y axis fitted to the values and whiskers (not from zero: for a
 * quantity like a loss, whose differences are small against its size); value printed beside each dot.
 */
export function dotChart(o: BarChartOptions): string {
  const width = o.width ?? 720, height = o.height ?? 320;
  const n = Math.max(1, o.bars.length);
  const right = legendMargin(o.legend.map((l) => l.name));
  const slot = (width - 64 - right) / n;
  const lines = o.bars.map((bar) => wrap2(bar.label, slot - 6, 11));
  const f: Frame = { width, height, left: 64, right, top: 34, bottom: lines.some((l) => l.length > 1) ? 62 : 48 };
  const b = plotBox(f);
  const err = (bar: Bar) => (Number.isFinite(bar.error) ? Math.abs(bar.error!) : 0);
  const vals = finite(o.bars.flatMap((bar) => [bar.value - err(bar), bar.value + err(bar)]));
  const yt = niceTicks(vals.length ? Math.min(...vals) : 0, vals.length ? Math.max(...vals) : 1, 5);
  const Y = linear(yt.lo, yt.hi, b.y1, b.y0);
  const out: string[] = [open(f, o.title, o.id)];
  out.push(axes(f, [], yt.values.map((v) => ({ at: Y(v), label: tickLabel(v, yt.step) })), o.xTitle, o.yTitle));
  o.bars.forEach((bar, i) => {
    const cx = b.x0 + slot * (i + 0.5);
    out.push(categoryLabel(cx, b.y1, lines[i]));
    if (!Number.isFinite(bar.value)) {
      out.push(`<text x="${px(cx)}" y="${px(b.y1 - 6)}" text-anchor="middle" font-size="11" fill="#777">n/a</text>`);
      return;
    }
    const e = err(bar);
    if (e > 0) {
      out.push(whisker(cx, Y(bar.value - e), Y(bar.value + e), `${bar.label}: ${bar.value.toFixed(3)} ± ${e.toFixed(3)}`));
    }
    out.push(`<circle cx="${px(cx)}" cy="${px(Y(bar.value))}" r="5" fill="${esc(bar.color)}" stroke="#222" stroke-width="0.8"><title>${esc(`${bar.label}: ${bar.value.toFixed(3)}`)}</title></circle>`);
    out.push(`<text x="${px(cx + 9)}" y="${px(Y(bar.value) + 4)}" font-size="11" fill="#222">${esc(e > 0 ? `${bar.value.toFixed(3)} ± ${e.toFixed(3)}` : bar.value.toFixed(3))}</text>`);
  });
  out.push(legend(o.legend.map((l) => ({ ...l, shape: 'dot' as const })), b.x1 + 16, b.y0 + 6, f.right - 20));
  out.push('</svg>');
  return out.join('');
}

/** A category's tick and its (up to two-line) label under the x axis at y0. */
function categoryLabel(cx: number, y0: number, lines: string[]): string {
  return `<line x1="${px(cx)}" x2="${px(cx)}" y1="${px(y0)}" y2="${px(y0 + 5)}" stroke="#444"/>`
    + `<text x="${px(cx)}" y="${px(y0 + 18)}" text-anchor="middle" font-size="11" fill="#333">${lines.map((l, k) => `<tspan x="${px(cx)}" dy="${k ? 13 : 0}">${esc(l)}</tspan>`).join('')}</text>`;
}

/** A vertical ± whisker at cx from lo to hi (pixels) with 12-px caps; `title` ('' for none) is its tooltip. */
function whisker(cx: number, lo: number, hi: number, title: string): string {
  return `<g class="error-bar" stroke="#222" stroke-width="1.2">${title ? `<title>${esc(title)}</title>` : ''}`
    + `<line x1="${px(cx)}" x2="${px(cx)}" y1="${px(lo)}" y2="${px(hi)}"/>`
    + `<line x1="${px(cx - 6)}" x2="${px(cx + 6)}" y1="${px(lo)}" y2="${px(lo)}"/><line x1="${px(cx - 6)}" x2="${px(cx + 6)}" y1="${px(hi)}" y2="${px(hi)}"/></g>`;
}

/** Up to two lines of about `maxPx` each, broken at ", " or a space; the rest clipped. */
function wrap2(s: string, maxPx: number, fontSize: number): string[] {
  if (textWidth(s, fontSize) <= maxPx) return [s];
  const words = s.split(' ');
  let first = words[0];
  let i = 1;
  while (i < words.length && textWidth(`${first} ${words[i]}`, fontSize) <= maxPx) first += ` ${words[i++]}`;
  const rest = words.slice(i).join(' ');
  return rest ? [clip(first, maxPx, fontSize), clip(rest, maxPx, fontSize)] : [clip(first, maxPx, fontSize)];
}
