import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { biasGrid, bestRows, methodStyles, renderReport } from '../src/report/report.js';
import type { CompareResult, MethodResult } from '../src/report/results.js';
import { esc, movingAverage, niceTicks, sig } from '../src/report/svg.js';
import { Rng } from '../src/kernels/rng.js';

const TRICKY = `prompt <P=20> & "soft" 'init'`;

/** A plausible `compare` result: 7 methods, 40-step noisy loss curves, a 4-layer × 8-type BitFit grid, both ablations. */
function synthetic(): CompareResult {
  const rng = new Rng(7);
  const spec: [string, string, number, number, number][] = [
    // method, label, trainable, validation, final loss
    ['frozen', 'frozen', 258, 0.712, 0.58],
    ['full', 'full', 1_204_000, 0.934, 0.08],
    ['bitfit', 'bitfit', 1_830, 0.905, 0.21],
    ['prefix', 'prefix (MLP)', 24_834, 0.861, 0.33],
    ['prompt', TRICKY, 1_538, 0.776, 0.49],
    ['ptuning', 'ptuning (LSTM)', 10_498, 0.802, 0.44],
    ['ptuning-v2', 'ptuning-v2', 5_378, 0.948, 0.15],
  ];
  const base = 1_204_000;
  const methods: MethodResult[] = spec.map(([method, label, trainable, validation, end], i) => ({
    method, label, trainable, percent: (100 * trainable) / base, validation, test: validation - 0.01 * i,
    extra: { 'macro-F1': validation - 0.02, loss: end + 0.05 },
    trainSeconds: 10 + 7 * i, peakMB: 40 + 13 * i,
    losses: Array.from({ length: 40 }, (_, s) => end + (0.69 - end) * Math.exp(-s / 8) + rng.uniform(-0.03, 0.03)),
  }));
  const types = ['query', 'key', 'value', 'attention-output', 'intermediate', 'output', 'layernorm', 'pooler'];
  const bitfitDeltas = ['1', 'emb', '0', 'final'].flatMap((layer, l) => types.map((type, t) => ({
    layer, type, meanAbs: (type === 'query' || type === 'intermediate' ? 0.4 : 0.05) * (1 + 0.3 * l) + 0.01 * t, norm: NaN,
    size: type === 'intermediate' ? 256 : 64,
  })));
  // a second LayerNorm in layer 0: combined as the mean over both vectors' elements
  bitfitDeltas.push({ layer: '0', type: 'layernorm', meanAbs: 0.2, norm: NaN, size: 64 });
  return {
    task: 'spam', taskDescription: 'SpamAssassin: is this mail spam or ham? <binary> & balanced', metric: 'accuracy',
    model: 'bert-tiny', backend: 'cpu', device: 'CPU (2 cores)', steps: 40, seed: 1, baseParams: base, methods, bitfitDeltas,
    ablations: [
      {
        kind: 'prompt-length', title: 'Prompt length: input-only prompts vs deep prompts',
        rows: (['prompt', 'ptuning-v2'] as const).flatMap((method) => [1, 5, 10, 20].map((x) => ({
          label: `${method} P=${x}`, method, x, validation: method === 'prompt' ? 0.6 + 0.008 * x : 0.8 + 0.007 * x,
        }))),
      },
      {
        kind: 'reparam', title: 'Reparameterisation: MLP / LSTM encoders vs training the prompt directly',
        rows: [
          { label: 'prefix, MLP reparam', method: 'prefix', x: 0, validation: 0.86 },
          { label: 'prefix, direct', method: 'prefix', x: 1, validation: 0.83 },
          { label: 'ptuning, LSTM', method: 'ptuning', x: 2, validation: 0.8 },
          { label: 'ptuning, MLP', method: 'ptuning', x: 3, validation: 0.79 },
          { label: 'prompt, no encoder', method: 'prompt', x: 4, validation: 0.77 },
        ],
      },
    ],
    totalSeconds: 412.5, date: '2025-03-01T12:34:56.000Z',
  };
}

const VOID = new Set(['meta', 'link', 'br', 'hr', 'img', 'input', 'col', 'area', 'base', 'wbr', 'source', 'track', 'embed']);
const ENTITY = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/i;

/**
 * A small well-formedness check: tags balance and nest, attributes are quoted and unique, every `&` starts an entity,
 * no raw `<` in text or attributes. In 'html' mode void elements need no close tag and <style> is raw text.
 */
function wellFormed(src: string, mode: 'xml' | 'html'): string | null {
  const stack: string[] = [];
  let i = 0;
  const checkText = (t: string, where: string): string | null => {
    for (let k = t.indexOf('&'); k >= 0; k = t.indexOf('&', k + 1)) if (!ENTITY.test(t.slice(k))) return `bad entity in ${where}: ${t.slice(k, k + 12)}`;
    return null;
  };
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    const bad = checkText(text, 'text');
    if (bad) return bad;
    if (lt < 0) break;
    if (src.startsWith('<!--', lt)) { const e = src.indexOf('-->', lt); if (e < 0) return 'unclosed comment'; i = e + 3; continue; }
    if (/^<!doctype/i.test(src.slice(lt, lt + 9))) { if (mode === 'xml') return 'doctype in svg'; i = src.indexOf('>', lt) + 1; continue; }
    const close = /^<\/([A-Za-z][\w:-]*)\s*>/.exec(src.slice(lt));
    if (close) {
      const top = stack.pop();
      if (top !== close[1]) return `</${close[1]}> closes <${top}>`;
      i = lt + close[0].length;
      continue;
    }
    const open = /^<([A-Za-z][\w:-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(src.slice(lt));
    if (!open) return `malformed tag at ${lt}: ${src.slice(lt, lt + 40)}`;
    const [, name, attrs, selfClose] = open;
    const names = [...attrs.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*("[^"]*"|'[^']*')/g)];
    if (new Set(names.map((a) => a[1])).size !== names.length) return `duplicate attribute in <${name}>`;
    for (const a of names) { const b = checkText(a[2], `attribute ${a[1]}`); if (b) return b; }
    i = lt + open[0].length;
    if (selfClose || (mode === 'html' && VOID.has(name.toLowerCase()))) continue;
    if (mode === 'html' && name === 'style') {
      const e = src.indexOf('</style>', i);
      if (e < 0) return 'unclosed style';
      i = e + '</style>'.length;
      continue;
    }
    stack.push(name);
  }
  return stack.length ? `unclosed: ${stack.join(' > ')}` : null;
}

const svgs = (html: string) => html.match(/<svg[\s>][\s\S]*?<\/svg>/g) ?? [];
const svgById = (html: string, id: string) => svgs(html).find((s) => s.startsWith(`<svg id="${id}"`)) ?? '';
/** Text of every <text> in the legend group of an svg. */
const legendTexts = (svg: string) => [...(/<g class="legend"[\s\S]*?<\/g>/.exec(svg)?.[0] ?? '').matchAll(/<text[^>]*>(?:<title>([^<]*)<\/title>)?([^<]*)<\/text>/g)].map((m) => m[1] ?? m[2]);

describe('HTML report', () => {
  const r = synthetic();
  const html = renderReport(r);
  if (process.env.REPORT_SAMPLE) writeFileSync(process.env.REPORT_SAMPLE, html);

  it('is one self-contained document: one <html>, no external scripts, styles, fonts or URLs', () => {
    expect(html.match(/<html[\s>]/g)).toHaveLength(1);
    expect(html.match(/<\/html>/g)).toHaveLength(1);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/@import|url\((?!#)/i);
    expect(html).toMatch(/<meta charset="utf-8">/);
  });

  it('has the header: task description, model, backend/device, steps, seed, date, total time', () => {
    const head = /<header>[\s\S]*<\/header>/.exec(html)![0];
    for (const s of [esc(r.taskDescription), 'bert-tiny', 'cpu', 'CPU (2 cores)', '1,204,000', '2025-03-01 12:34 UTC', '6 min 53 s']) expect(head).toContain(s);
    expect(head).toMatch(/<dt>steps<\/dt><dd>40<\/dd>/);
    expect(head).toMatch(/<dt>seed<\/dt><dd>1<\/dd>/);
  });

  it('draws one SVG per plot: loss, scatter, BitFit heatmap and one per ablation', () => {
    expect(svgs(html)).toHaveLength(5);
    expect(html.match(/<svg[\s>]/g)).toHaveLength(5);
    for (const id of ['plot-loss', 'plot-scatter', 'plot-bitfit', 'plot-ablation-0', 'plot-ablation-1']) expect(svgById(html, id)).not.toBe('');
    const bare = renderReport({ ...r, bitfitDeltas: undefined, ablations: [] });
    expect(svgs(bare).map((s) => /id="([^"]+)"/.exec(s)![1])).toEqual(['plot-loss', 'plot-scatter']);
  });

  it('is well-formed: every SVG as XML, the whole page as HTML', () => {
    for (const s of svgs(html)) expect(wellFormed(s, 'xml')).toBeNull();
    expect(wellFormed(html, 'html')).toBeNull();
    // the checker itself catches the usual mistakes
    expect(wellFormed('<svg><g></svg>', 'xml')).not.toBeNull();
    expect(wellFormed('<svg><text>a & b</text></svg>', 'xml')).not.toBeNull();
    expect(wellFormed('<svg><rect x=1/></svg>', 'xml')).not.toBeNull();
    expect(wellFormed('<svg><rect x="1" x="2"/></svg>', 'xml')).not.toBeNull();
  });

  it('lists every method in the table, the loss legend and the scatter legend, escaping HTML-special characters', () => {
    const table = /<table class="results">[\s\S]*?<\/table>/.exec(html)![0];
    const loss = legendTexts(svgById(html, 'plot-loss'));
    const scatter = legendTexts(svgById(html, 'plot-scatter'));
    expect(loss).toHaveLength(7);
    expect(scatter).toHaveLength(7);
    for (const m of r.methods) {
      expect(table).toMatch(new RegExp(`></span>${esc(m.label).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( <span class="badge">(?:best|tie|top)</span>)?</th>`));
      expect(loss).toContain(esc(m.label));
      expect(scatter).toContain(esc(m.label));
    }
    expect(html).toContain('prompt &lt;P=20&gt; &amp; &quot;soft&quot; &#39;init&#39;');
    expect(html).not.toContain('<P=20>');
    expect(html).toContain(esc(r.taskDescription));
    expect(html).not.toContain('<binary>');
  });

  it('formats the table: thousands separators, 3 significant digits for %, 3 decimals for metrics', () => {
    const row = (label: string) => new RegExp(`<tr[^>]*><th scope="row"[^>]*>(?:<span[^>]*></span>)?${label}.*?</tr>`).exec(html)![0];
    const cells = (label: string) => [...row(label).matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells('full')).toEqual(['1,204,000', '100', '–', '0.934', '0.924', '–', '17.0', '53.0']);
    expect(cells('bitfit')).toEqual(['1,830', '0.152', '–', '0.905', '0.885', '–', '24.0', '66.0']);
    expect(cells('frozen')[1]).toBe('0.0214');
  });

  it('highlights the best validation row, and only it', () => {
    expect(html.match(/<tr class="best">/g)).toHaveLength(1);
    expect(/<tr class="best">.*?<\/tr>/.exec(html)![0]).toContain('ptuning-v2');
    expect([...bestRows(r.methods).rows]).toEqual([6]);
    expect(bestRows(r.methods).clear).toBe(false); // one seed: no error, so never "best" by a margin
    const tie = r.methods.map((m, i) => (i === 2 ? { ...m, validation: 0.948 } : m));
    expect([...bestRows(tie).rows]).toEqual([2, 6]);
  });

  it('marks "best" only past 2 standard errors of the difference, else a tie', () => {
    const withSe = (se: number) => r.methods.map((m) => ({ ...m, validationSe: se }));
    // ptuning-v2 0.948 vs the runner-up full 0.934: a 0.014 gap
    expect(bestRows(withSe(0.004))).toEqual({ rows: new Set([6]), clear: true }); // 2·√2·0.004 = 0.0113 < 0.014
    const tied = bestRows(withSe(0.006)); // 2·√2·0.006 = 0.017 > 0.014
    expect(tied.clear).toBe(false);
    expect([...tied.rows].sort()).toEqual([1, 6]);
    const page = renderReport({ ...r, methods: withSe(0.006) });
    expect(page.match(/<span class="badge">tie<\/span>/g)).toHaveLength(2);
    expect(page).toContain('0.948 ± 0.006');
    expect(renderReport({ ...r, methods: withSe(0.004) }).match(/<span class="badge">best<\/span>/g)).toHaveLength(1);
  });

  it('gives each method its own colour-blind-friendly colour', () => {
    const colors = methodStyles(r.methods).map((s) => s.color);
    expect(new Set(colors).size).toBe(7);
    const twice = methodStyles([...r.methods, { ...r.methods[4], label: 'prompt P=5' }]).map((s) => s.color);
    expect(new Set(twice).size).toBe(8);
  });

  it('orders the BitFit grid by layer and type, combines repeated biases, prints 2 significant digits', () => {
    const g = biasGrid(r.bitfitDeltas!);
    expect(g.layers).toEqual(['emb', '0', '1', 'final']);
    expect(g.types).toEqual(['query', 'key', 'value', 'attention-output', 'intermediate', 'output', 'layernorm', 'pooler']);
    const ln0 = g.values[1][6]!;
    expect(ln0).toBeCloseTo((0.05 * 1.6 + 0.06 + 0.2) / 2, 12); // two 64-wide LayerNorm biases: the mean over their 128 elements
    const heat = svgById(html, 'plot-bitfit');
    expect(heat).toContain('Which biases moved (BitFit, mean |Δb| per element, layer × type)');
    const rows = [...heat.matchAll(/<text x="[^"]*" y="[^"]*" text-anchor="end">([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(rows).toEqual(['emb', '0', '1', 'final']);
    expect(heat).toContain(`>${sig(ln0)}</text>`);
    expect(heat).toContain('attention-');
    expect(heat.match(/<rect [^>]*fill="#[0-9a-f]{6}"[^>]*><title>/g)).toHaveLength(32);
  });

  it('plots the ablations: prompt length as lines per method, reparameterisation as bars per variant', () => {
    const lines = svgById(html, 'plot-ablation-0');
    expect(legendTexts(lines)).toEqual(['prompt', 'ptuning-v2']);
    for (const x of [1, 5, 10, 20]) expect(lines).toContain(`>${x}</text>`);
    const bars = svgById(html, 'plot-ablation-1');
    expect(bars.match(/<rect [^>]*><title>/g)).toHaveLength(5);
    for (const row of r.ablations[1].rows) expect(bars).toContain(esc(row.validation.toFixed(3)));
    expect(bars).toContain('>prefix, MLP</tspan>');
  });

  it('explains the plots in plain text', () => {
    const reading = /<section class="reading">[\s\S]*?<\/section>/.exec(html)![0];
    for (const s of ['Training loss', 'trainable share', 'BitFit heatmap', 'Prompt-length ablation', 'Reparameterisation ablation']) expect(reading).toContain(s);
  });

  it('survives odd data: NaN losses and metrics, zero trainable share, no methods at all', () => {
    const odd = synthetic();
    odd.methods[0] = { ...odd.methods[0], percent: 0, trainable: 0, validation: NaN, losses: [NaN, 1, Infinity, 0.5] };
    odd.methods[1] = { ...odd.methods[1], losses: [] };
    const out = renderReport(odd);
    for (const s of svgs(out)) {
      expect(wellFormed(s, 'xml')).toBeNull();
      expect(s).not.toMatch(/NaN|Infinity|undefined/);
    }
    const empty = renderReport({ ...odd, methods: [], bitfitDeltas: [], ablations: [] });
    expect(wellFormed(empty, 'html')).toBeNull();
    expect(svgs(empty)).toHaveLength(2);
    expect(empty).not.toMatch(/NaN|Infinity/);
  });

  it('helpers: nice ticks, moving average, significant digits', () => {
    expect(niceTicks(0.13, 0.91, 5).values).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(1, 40, 8).values).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40]);
    expect(movingAverage([1, 2, 3, 4, 5], 3)).toEqual([1.5, 2, 3, 4, 4.5]);
    expect(movingAverage([1, NaN, 3], 1)).toEqual([1, NaN, 3]);
    expect([sig(0.000123), sig(1.25), sig(123), sig(0)]).toEqual(['0.00012', '1.3', '120', '0']);
  });
});
