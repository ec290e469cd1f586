/**
 * `webpeft compare`'s report.html: one self-contained file (inline CSS, inline SVG, no scripts, no fonts, no URLs) with
 * the run's settings, the results table, loss curves, metric vs trainable-% scatter, BitFit's per-layer × bias-type
 * ‖Δb‖ heatmap and the ablations that were run. Plots are drawn by ./svg.ts.
 */
import { METHOD_SPECS } from '../peft/registry.js';
import type { AblationResult, BiasDeltaRow, CompareResult, MethodResult } from './results.js';
import { topRows } from '../train/stats.js';
import { OKABE_ITO, barChart, dotChart, esc, heatmap, lineChart, movingAverage, scatterLogX, sig, type LegendItem, type LineSeries } from './svg.js';

/** Stable colours by method name (each method's spec), so two reports or a subset run colour a method alike. */
const METHOD_COLOR: Record<string, string> = Object.fromEntries(METHOD_SPECS.map((s) => [s.name, s.color]));
/** Rows and columns of the BitFit heatmap, in model order (bias types as peft/bitfit.ts's BIAS_TYPES). */
const BIAS_TYPE_ORDER = ['query', 'key', 'value', 'attention-output', 'intermediate', 'output', 'layernorm', 'pooler'];

interface Style { color: string; dash?: string }

/** One colour per result: its method's colour, or the next unused palette colour; dashed once the palette runs out. */
export function methodStyles(methods: readonly MethodResult[]): Style[] {
  const used = new Set<string>();
  const palette = [...new Set([...Object.values(METHOD_COLOR), ...OKABE_ITO])];
  return methods.map((m, i) => {
    const preferred = METHOD_COLOR[m.method];
    const color = preferred && !used.has(preferred) ? preferred : palette.find((c) => !used.has(c));
    if (color) { used.add(color); return { color }; }
    return { color: palette[i % palette.length], dash: '6 3' };
  });
}

const num = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const count = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const pct = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(3))) : '–');

function duration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function when(date: string): string {
  const d = new Date(date);
  return Number.isNaN(d.getTime()) ? date : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * The rows at the top by validation metric: the highest mean and every row within 2 standard errors of it (seeds'
 * SE; without one — a single seed — exact ties only). `clear`: one row beats all others by > 2 SE, the only case
 * marked "best"; otherwise the rows are marked as a tie.
 */
export function bestRows(methods: readonly MethodResult[]): { rows: Set<number>; clear: boolean } {
  const rows = methods.map((m) => ({ mean: m.validation, se: m.validationSe ?? NaN }));
  if (!rows.some((r) => Number.isFinite(r.se))) {
    // one seed: no error to judge a difference by, so only exact ties share the top and nothing is "best" by a margin
    const vals = rows.map((r) => r.mean).filter(Number.isFinite);
    if (!vals.length) return { rows: new Set(), clear: false };
    const top = Math.max(...vals);
    const at = methods.flatMap((m, i) => (m.validation === top ? [i] : []));
    return { rows: new Set(at), clear: false };
  }
  const top = topRows(rows);
  return { rows: new Set(top.rows), clear: top.clear };
}

const pm = (v: number, se: number | undefined, digits = 3) => (Number.isFinite(se) ? `${num(v, digits)} ± ${num(se!, digits)}` : num(v, digits));

// ---------------------------------------------------------------- sections

function header(r: CompareResult): string {
  const items: [string, string][] = [
    ['task', r.task], ['metric', r.metric], ['model', `${r.model} (${count(r.baseParams)} parameters)`],
    ['backend', r.backendReason ? `${r.backend} (${r.backendReason})` : r.backend], ['device', r.device],
    ['steps', r.settings ? `≤ ${count(r.steps)} (validation every ${r.settings.evalEvery}, patience ${r.settings.patience}${r.settings.minSteps ? `, no stop before step ${count(r.settings.minSteps)}` : ''})` : count(r.steps)],
    [r.settings && r.settings.seeds.length > 1 ? 'seeds' : 'seed', r.settings ? r.settings.seeds.join(', ') : String(r.seed)],
    ...(r.evalSizes ? [['examples scored', `${count(r.evalSizes.validation)} validation, ${count(r.evalSizes.test)} test`] as [string, string]] : []),
    ...(r.settings ? [['batch × length', `${r.settings.batchSize} × ${r.settings.maxLength}`] as [string, string]] : []),
    ['date', when(r.date)], ['total time', duration(r.totalSeconds)],
  ];
  const quick = r.quick ? '<p class="quick"><strong>--quick: a smoke run</strong> (one seed, a few steps, 64 examples per split). It checks that everything runs; it is too short to read anything into.</p>' : '';
  return `<header><h1>webpeft compare — ${esc(r.task)}</h1><p class="desc">${esc(r.taskDescription)}</p>${quick}`
    + `<dl class="meta">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl></header>`;
}

function resultsTable(r: CompareResult, styles: Style[]): string {
  const { rows: best, clear } = bestRows(r.methods);
  const head = ['method', 'trainable params', '% of model', 'learning rate', `validation ${r.metric}`, `test ${r.metric}`, 'steps kept', 'train time (s)', 'peak memory (MB)'];
  const rows = r.methods.map((m, i) => {
    const cls = best.has(i) ? ' class="best"' : '';
    const swatch = `<span class="swatch" style="background:${esc(styles[i].color)}"></span>`;
    const mark = best.has(i) ? ` <span class="badge">${clear ? 'best' : best.size > 1 ? 'tie' : 'top'}</span>` : '';
    return `<tr${cls}><th scope="row" title="${esc(m.method)}">${swatch}${esc(m.label)}${mark}</th><td>${count(m.trainable)}</td><td>${pct(m.percent)}</td>`
      + `<td>${m.lr === undefined ? '–' : esc(String(m.lr))}</td><td>${esc(pm(m.validation, m.validationSe))}</td><td>${esc(pm(m.test, m.testSe))}</td>`
      + `<td>${m.stepsKept === undefined ? '–' : num(m.stepsKept, 0)}</td><td>${num(m.trainSeconds, 1)}</td><td>${num(m.peakMB, 1)}</td></tr>`;
  });
  const table = `<table class="results"><thead><tr>${head.map((h, i) => `<th scope="col"${i ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const keys = [...new Set(r.methods.flatMap((m) => Object.keys(m.extra ?? {})))];
  const extra = keys.length
    ? `<h3>Further metrics</h3><div class="scroll"><table class="results"><thead><tr><th scope="col">method</th>${keys.map((k) => `<th scope="col" class="n">${esc(k)}</th>`).join('')}</tr></thead><tbody>`
      + r.methods.map((m) => `<tr><th scope="row">${esc(m.label)}</th>${keys.map((k) => `<td>${k in (m.extra ?? {}) ? num(m.extra[k], 3) : '–'}</td>`).join('')}</tr>`).join('')
      + '</tbody></table></div>'
    : '';
  const note = `<p class="note">Trainable parameters include the task head. “% of model” is relative to the ${count(r.baseParams)} parameters of the base model. `
    + (r.settings && r.settings.seeds.length > 1 ? `Scores are the mean ± standard error over ${r.settings.seeds.length} seeds; each seed's checkpoint is the one with the best validation score (early stopping). ` : '')
    + (clear ? `The highlighted row beats every other by more than 2 standard errors on validation ${esc(r.metric)}. `
      : best.size > 1 ? `The highlighted rows (“tie”) are within 2 standard errors of the highest validation ${esc(r.metric)}: no clear best. `
        : `The highlighted row (“top”) has the highest validation ${esc(r.metric)}; with one seed there is no error to say by how much it is clear. `)
    + 'Test scores are shown for every method but were not used to choose anything.</p>';
  return `<section><h2>Results</h2><div class="scroll">${table}</div>${note}${extra}</section>`;
}

function lossPlot(r: CompareResult, styles: Style[]): string {
  const n = Math.max(0, ...r.methods.map((m) => m.losses?.length ?? 0));
  const window = Math.max(1, Math.round(n * 0.05));
  const series: LineSeries[] = r.methods.map((m, i) => {
    const raw = (m.losses ?? []).map((v, s): [number, number] => [s + 1, v]);
    const smooth = movingAverage(m.losses ?? [], window).map((v, s): [number, number] => [s + 1, v]);
    return { name: m.label, ...styles[i], points: smooth, faint: window > 1 ? raw : undefined };
  });
  const svg = lineChart({ id: 'plot-loss', title: 'Training loss', xTitle: 'step', yTitle: 'training loss', series, emptyNote: 'no losses recorded' });
  const cap = window > 1
    ? `Training loss per step; bold lines are a centred moving average over ${window} steps (≈5 % of ${n}), faint lines the raw per-step loss.`
    : 'Training loss per step.';
  return `<section><h2>Training loss</h2><figure>${svg}<figcaption>${esc(cap)}</figcaption></figure></section>`;
}

function scatterPlot(r: CompareResult, styles: Style[]): string {
  const svg = scatterLogX({
    id: 'plot-scatter', title: `Validation ${r.metric} vs trainable share`, xTitle: 'trainable parameters, % of model (log scale)', yTitle: `validation ${r.metric}`,
    points: r.methods.map((m, i) => ({ label: m.label, color: styles[i].color, x: m.percent, y: m.validation })),
  });
  return `<section><h2>Metric vs trainable parameters</h2><figure>${svg}<figcaption>${esc(`Each point is one method: how much of the model it trains (log scale) against its validation ${r.metric}. Up and to the left is better.`)}</figcaption></figure></section>`;
}

/** 'emb', '0', '1', …, 'final', 'pooler', then anything else by name. */
function layerRank(l: string): [number, number, string] {
  if (l === 'emb') return [0, 0, l];
  if (/^\d+$/.test(l)) return [1, Number(l), l];
  if (l === 'final') return [2, 0, l];
  if (l === 'pooler') return [3, 0, l];
  return [4, 0, l];
}
const cmpRank = (a: [number, number, string], b: [number, number, string]) => a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);

/**
 * The heatmap grid of mean |Δb| per element: (layer, type) cells with several biases (e.g. two LayerNorms per layer)
 * combine as Σ‖Δb‖₁ / Σ dim — the mean over all their elements.
 */
export function biasGrid(rows: readonly BiasDeltaRow[]): { layers: string[]; types: string[]; values: (number | undefined)[][] } {
  const abs = new Map<string, number>();
  const size = new Map<string, number>();
  for (const d of rows) {
    const k = `${d.layer}\u0000${d.type}`;
    abs.set(k, (abs.get(k) ?? 0) + d.meanAbs * d.size);
    size.set(k, (size.get(k) ?? 0) + d.size);
  }
  const layers = [...new Set(rows.map((d) => d.layer))].sort((a, b) => cmpRank(layerRank(a), layerRank(b)));
  const seen = new Set(rows.map((d) => d.type));
  const types = [...BIAS_TYPE_ORDER.filter((t) => seen.has(t)), ...[...seen].filter((t) => !BIAS_TYPE_ORDER.includes(t)).sort()];
  const values = layers.map((l) => types.map((t) => { const k = `${l}\u0000${t}`; const n = size.get(k); return n ? abs.get(k)! / n : undefined; }));
  return { layers, types, values };
}

function bitfitSection(deltas: readonly BiasDeltaRow[]): string {
  const { layers, types, values } = biasGrid(deltas);
  if (!layers.length) return '';
  const svg = heatmap({
    id: 'plot-bitfit', title: 'Which biases moved (BitFit, mean |Δb| per element, layer × type)', xTitle: 'bias type', yTitle: 'layer',
    rowLabels: layers, colLabels: types, values, valueTitle: 'mean |Δb|',
  });
  // Per type over all layers: mean |Δb| per element, and the mean of the per-layer values
  const byType = types.map((t) => {
    const rs = deltas.filter((d) => d.type === t);
    const n = rs.reduce((a, d) => a + d.size, 0);
    return n ? rs.reduce((a, d) => a + d.meanAbs * d.size, 0) / n : NaN;
  });
  const top = Math.max(...byType.filter(Number.isFinite));
  const table = '<table class="results compact"><thead><tr><th scope="col">bias type</th><th scope="col" class="n">mean |Δb| per element, all layers</th><th scope="col" class="n">÷ the largest type</th></tr></thead><tbody>'
    + types.map((t, c) => `<tr><th scope="row">${esc(t)}</th><td>${esc(sig(byType[c], 3))}</td><td>${top > 0 ? (byType[c] / top).toFixed(2) : '–'}</td></tr>`).join('')
    + '</tbody></table>';
  const cap = 'Mean absolute change per element, (1/dim b)·‖b_F − b_0‖₁, of each bias between the pretrained model and the end of BitFit training '
    + '(the BitFit paper\u2019s measure; it does not grow with the vector\u2019s width as ‖Δb‖₂ does); darker = moved more. '
    + 'Rows: emb = embedding LayerNorm, 0, 1, … = transformer blocks, final = the final LayerNorm, pooler = BERT’s pooler. '
    + 'Where a layer has several biases of one type (e.g. two LayerNorms) the mean is over all their elements. Hatched cells: no such bias.';
  return `<section><h2>BitFit: which biases moved</h2><figure>${svg}<figcaption>${esc(cap)}</figcaption></figure><h3>Per bias type</h3>${table}</section>`;
}

const ABLATION_HEADINGS: Record<AblationResult['kind'], string> = {
  'prompt-length': 'Ablation: prompt length', reparam: 'Ablation: reparameterisation', 'bitfit-subset': 'Ablation: BitFit bias subset',
  'prefix-placement': 'Ablation: prefix placement (BART)', ensemble: 'Ablation: prompt ensembling', 'data-size': 'Ablation: training-set size',
  multitask: 'Ablation: multi-task prompt pretraining (P-tuning v2)',
  position: 'Ablation: position of the virtual tokens (prefix vs infix)',
  'gpt-vs-bert': 'Ablation: P-tuned GPT vs BERT (\u201cGPT understands, too\u201d)',
};

/** The position ablation: ROUGE-L bars and a target-loss dot plot (both with standard-error whiskers), and every metric per variant. */
function positionSection(a: AblationResult, i: number, colorOf: (method: string, k: number) => string, metric: string): string {
  const methods = [...new Set(a.rows.map((row) => row.method))];
  const legend: LegendItem[] = methods.map((m, k) => ({ name: m, color: colorOf(m, k) }));
  const colors = new Map(legend.map((l) => [l.name, l.color]));
  const color = (m: string) => colors.get(m) ?? '#777777';
  const key = (split: string, k: string) => `${split} ${k}`;
  const ex = (row: AblationResult['rows'][number], k: string) => row.extra?.[k] ?? NaN;
  const exSe = (row: AblationResult['rows'][number], k: string) => row.extraSe?.[k] ?? NaN;
  const rouge = barChart({ id: `plot-ablation-${i}`, title: a.title, xTitle: 'variant', yTitle: `validation ${metric}`, legend,
    bars: a.rows.map((row) => ({ label: row.label, color: color(row.method), value: row.validation, error: row.validationSe })) });
  const lossKey = key('validation', 'targetLoss');
  const loss = dotChart({ id: `plot-ablation-${i}-loss`, title: 'Teacher-forced loss of the reference subjects (validation; lower is better)', xTitle: 'variant',
    yTitle: 'validation target loss (nats/token)', legend, bars: a.rows.map((row) => ({ label: row.label, color: color(row.method), value: ex(row, lossKey), error: exSe(row, lossKey) })) });
  const bart = a.family === 'bart';
  const setup = a.virtualTokens === undefined ? '' : `${a.virtualTokens} virtual tokens in every variant; prefix and infix ${a.mlpHidden ? `through the same MLP (hidden ${a.mlpHidden})` : 'trained directly (no MLP)'}, `
    + (bart
      ? 'the prefix in three sets (encoder self-attention, decoder self-attention, cross-attention; a key and a value per layer of each) where the infix has one activation per decoder layer. '
      : 'the prefix\u2019s last layer twice as wide (a key and a value per layer where the infix has one activation). ');
  const cap = `Validation ${metric} (bars) and the teacher-forced loss of the reference subjects (dots), mean ± standard error over the seeds (the whiskers). ${setup}`
    + 'Where every variant\u2019s ROUGE-L sits at the frozen row\u2019s level the generation claim is not tested, and the loss is the comparison.';
  const cols: [string, (row: AblationResult['rows'][number]) => string][] = [
    [`validation ${metric}`, (row) => pm(row.validation, row.validationSe)],
    ['validation ROUGE-1', (row) => pm(ex(row, key('validation', 'rouge1')), exSe(row, key('validation', 'rouge1')))],
    ['validation ROUGE-2', (row) => pm(ex(row, key('validation', 'rouge2')), exSe(row, key('validation', 'rouge2')))],
    ['validation target loss', (row) => pm(ex(row, lossKey), exSe(row, lossKey))],
    [`test ${metric}`, (row) => (row.test === undefined ? '–' : pm(row.test, row.testSe))],
    ['test target loss', (row) => pm(ex(row, key('test', 'targetLoss')), exSe(row, key('test', 'targetLoss')))],
  ];
  const table = '<div class="scroll"><table class="results compact"><thead><tr><th scope="col">variant</th><th scope="col" class="n">trainable</th>'
    + cols.map(([h]) => `<th scope="col" class="n">${esc(h)}</th>`).join('') + '</tr></thead><tbody>'
    + a.rows.map((row) => `<tr><th scope="row">${esc(row.label)}</th><td>${row.trainable === undefined ? '–' : count(row.trainable)}</td>`
      + cols.map(([, f]) => `<td>${esc(f(row))}</td>`).join('') + '</tr>').join('')
    + '</tbody></table></div>';
  return `<section><h2>${ABLATION_HEADINGS[a.kind]}</h2><figure>${rouge}${loss}<figcaption>${esc(cap)}</figcaption></figure>${table}</section>`;
}

function ablationSection(a: AblationResult, i: number, colorOf: (method: string, k: number) => string, metric: string): string {
  if (a.kind === 'position') return positionSection(a, i, colorOf, metric);
  const id = `plot-ablation-${i}`;
  let svg: string, cap: string;
  if (a.kind === 'prompt-length') {
    const methods = [...new Set(a.rows.map((row) => row.method))];
    const series: LineSeries[] = methods.map((m, k) => ({
      name: m, color: colorOf(m, k), markers: true,
      points: a.rows.filter((row) => row.method === m).map((row): [number, number] => [row.x, row.validation]).sort((p, q) => p[0] - q[0]),
    }));
    svg = lineChart({ id, title: a.title, xTitle: 'prompt length (virtual tokens)', yTitle: `validation ${metric}`, series, xTickValues: [...new Set(a.rows.map((row) => row.x))] });
    cap = `Validation ${metric} as the number of virtual tokens grows, one line per method.`;
  } else if (a.kind === 'data-size') {
    const methods = [...new Set(a.rows.map((row) => row.method))];
    const series: LineSeries[] = methods.map((m, k) => {
      const rows = a.rows.filter((row) => row.method === m).sort((p, q) => p.x - q.x);
      return { name: m, color: colorOf(m, k), markers: true, points: rows.map((row): [number, number] => [row.x, row.validation]), errors: rows.map((row) => row.validationSe) };
    });
    svg = lineChart({ id, title: a.title, xTitle: 'training examples (log scale)', yTitle: `validation ${metric}`, series, logX: true, xTickValues: [...new Set(a.rows.map((row) => row.x))] });
    cap = `Validation ${metric} against the number of training examples (log scale), one line per method, mean ± standard error over the seeds (the whiskers). `
      + `Size n trains on the first n examples of each seed's shuffled training split${a.trainSize ? ` (${a.trainSize} = all of it)` : ''}, so one seed's subsets are nested.`;
  } else if (a.kind === 'ensemble') {
    const legend: LegendItem[] = a.rows.map((row, k) => ({ name: row.label, color: OKABE_ITO[k % OKABE_ITO.length] }));
    svg = barChart({ id, title: a.title, xTitle: 'variant', yTitle: `validation ${metric}`, legend,
      bars: a.rows.map((row, k) => ({ label: row.label, color: legend[k]!.color, value: row.validation, error: row.validationSe })) });
    cap = `Validation ${metric} of each variant (mean ± standard error over the seeds, the whisker). A “best of” row is chosen on validation; `
      + `its cost columns are the training it took (all ${a.k ?? 'K'} prompts), though it keeps one.`;
  } else if (a.kind === 'multitask') {
    const legend: LegendItem[] = a.rows.map((row, k) => ({ name: row.label, color: OKABE_ITO[k % OKABE_ITO.length] }));
    svg = barChart({ id, title: a.title, xTitle: 'how the prompt started', yTitle: `validation ${metric}`, legend,
      bars: a.rows.map((row, k) => ({ label: row.label, color: legend[k]!.color, value: row.validation, error: row.validationSe })) });
    cap = `Validation ${metric} on the target task of P-tuning v2 from scratch and from a prompt pretrained first (mean ± standard error over the seeds, the whisker). `
      + `The pretraining stage trains one prompt shared by ${a.tasks?.join(', ') ?? 'the tasks'} (a head per task, batches of one task at a time in a seeded order) `
      + `on their training splits for ${a.pretrainSteps ?? '?'} steps, with no validation; the target stage then starts from that prompt with a fresh head and keeps `
      + 'the protocol of the main rows (its learning rate, early stopping on the target\u2019s validation split only). Train time counts both stages.';
  } else if (a.kind === 'gpt-vs-bert') {
    // one colour per model and readout: the claim's pair (the two LM-head readouts) side by side with their floors
    const kinds = [...new Set(a.rows.map((row) => `${row.model ?? '?'}, ${row.readout === 'classifier' ? '[CLS] classifier' : row.readout === 'mlm-head' ? 'MLM head' : 'LM head'}`))];
    const legend: LegendItem[] = kinds.map((name, k) => ({ name, color: OKABE_ITO[k % OKABE_ITO.length] }));
    const colorOfRow = (row: AblationResult['rows'][number]) => legend[kinds.indexOf(`${row.model ?? '?'}, ${row.readout === 'classifier' ? '[CLS] classifier' : row.readout === 'mlm-head' ? 'MLM head' : 'LM head'}`)]!.color;
    svg = barChart({ id, title: a.title, xTitle: 'model, prompt and readout', yTitle: `validation ${metric}`, legend,
      bars: a.rows.map((row) => ({ label: row.label, color: colorOfRow(row), value: row.validation, error: row.validationSe })) });
    const v = a.verbalizer;
    const words = v ? v.classes.map((c, k) => `${c} = ${JSON.stringify(v.words[k])}`).join(', ') : '';
    const ids = v ? Object.entries(v.ids).map(([m, t]) => `${m} ${t.join('/')}`).join(', ') : '';
    cap = `Validation ${metric} (mean ± standard error over the seeds, the whisker). The LM-head rows read the class through a verbalizer (${words}; token ids ${ids}): `
      + `the logit of each class word at the slot of ${v ? `“${v.templates.ptuning}” (P-tuning) or “${v.templates.manual}” (manual prompt, no training)` : 'the template'} — `
      + 'BERT\u2019s [MASK] position, GPT-2\u2019s position before it (its next-token prediction). Only the prompt encoder trains; body and LM head stay frozen. '
      + 'The [CLS]-classifier rows are compare\u2019s own (a new head trains), for reference.'
      + (a.majority ? ` Always answering the training split\u2019s majority class (${a.majority.label}) scores ${a.majority.validation.toFixed(3)} on validation, ${a.majority.test.toFixed(3)} on test.` : '');
  } else {
    const methods = [...new Set(a.rows.map((row) => row.method))];
    const legend: LegendItem[] = methods.map((m, k) => ({ name: m, color: colorOf(m, k) }));
    const colors = new Map(legend.map((l) => [l.name, l.color]));
    svg = barChart({ id, title: a.title, xTitle: 'variant', yTitle: `validation ${metric}`, legend, bars: a.rows.map((row) => ({ label: row.label, color: colors.get(row.method) ?? '#777777', value: row.validation, error: row.validationSe })) });
    cap = `Validation ${metric} of each variant (mean ± standard error over the seeds, the whisker); bars share a colour when they are the same method.`;
  }
  const heading = ABLATION_HEADINGS[a.kind];
  // the cost columns, where the ablation measured them (prompt ensembling)
  const cost = a.rows.some((row) => row.trainSeconds !== undefined || row.peakMB !== undefined);
  // the learning rate and steps kept, where the ablation recorded them (multi-task pretraining, gpt-vs-bert)
  const protocol = a.rows.some((row) => row.lr !== undefined || row.stepsKept !== undefined);
  const table = '<table class="results compact"><thead><tr><th scope="col">variant</th><th scope="col" class="n">trainable</th>'
    + (protocol ? '<th scope="col" class="n">learning rate</th><th scope="col" class="n">steps kept</th>' : '')
    + `<th scope="col" class="n">validation ${esc(metric)}</th><th scope="col" class="n">test ${esc(metric)}</th>`
    + (cost ? '<th scope="col" class="n">train time (s)</th><th scope="col" class="n">peak memory (MB)</th>' : '') + '</tr></thead><tbody>'
    + a.rows.map((row) => `<tr><th scope="row">${esc(row.label)}</th><td>${row.trainable === undefined ? '–' : count(row.trainable)}</td>`
      + (protocol ? `<td>${row.lr === undefined ? '–' : esc(String(row.lr))}</td><td>${row.stepsKept === undefined ? '–' : num(row.stepsKept, 0)}</td>` : '')
      + `<td>${esc(pm(row.validation, row.validationSe))}</td><td>${row.test === undefined ? '–' : esc(pm(row.test, row.testSe))}</td>`
      + (cost ? `<td>${row.trainSeconds === undefined ? '–' : num(row.trainSeconds, 1)}</td><td>${row.peakMB === undefined ? '–' : num(row.peakMB, 1)}</td>` : '') + '</tr>').join('')
    + '</tbody></table>';
  return `<section><h2>${heading}</h2><figure>${svg}<figcaption>${esc(cap)}</figcaption></figure>${table}</section>`;
}

function reading(r: CompareResult): string {
  const ps = [
    `<strong>Results table.</strong> One row per method, trained for ${esc(count(r.steps))} steps from the same pretrained ${esc(r.model)} with seed ${esc(String(r.seed))}. `
      + `“Trainable params” counts every parameter that receives updates (the task head included); the validation ${esc(r.metric)} picks the best row, the test ${esc(r.metric)} is reported once. `
      + 'Frozen trains only the head and is the floor; full fine-tuning trains everything and is the usual ceiling. Train time and peak memory are for this machine and backend.',
    '<strong>Training loss.</strong> How quickly each method fits the training data. A method whose curve stays flat is barely adapting the model; '
      + 'curves that fall fast but end with a poor validation score are overfitting.',
    '<strong>Metric vs trainable share.</strong> The parameter-efficiency trade-off: the further left a point sits, the fewer parameters that method stores per task; '
      + 'the higher, the better it does. Methods near full fine-tuning’s height but two or three decades to its left are the point of PEFT.',
  ];
  if (r.bitfitDeltas?.length) {
    ps.push('<strong>BitFit heatmap.</strong> After BitFit training, how far each group of bias terms moved from its pretrained value. '
      + 'The BitFit paper reports that the query biases and the intermediate (d→4d) biases change most; this plot shows whether that holds here.');
  }
  ps.push(...r.ablations.map(ablationReading));
  return `<section class="reading"><h2>Reading this report</h2>${ps.map((p) => `<p>${p}</p>`).join('')}</section>`;
}

/** What an ablation's plot shows and what its paper reports, for the report's reading section. */
function ablationReading(a: AblationResult): string {
  switch (a.kind) {
    case 'prompt-length': return '<strong>Prompt-length ablation.</strong> Input-only soft prompts (prompt tuning) against deep prompts at every layer (P-Tuning v2) as the number of virtual tokens grows; '
      + 'at small model scale deep prompts are expected to do markedly better.';
    case 'reparam': return '<strong>Reparameterisation ablation.</strong> The same prompt/prefix trained through an encoder (MLP for prefix tuning, LSTM or MLP for P-Tuning) or trained directly. '
      + 'The encoders are for optimisation stability; only the prompts they produce are kept after training.';
    case 'bitfit-subset': return '<strong>BitFit subset ablation.</strong> BitFit on all bias terms against only the query and intermediate biases (the two the paper finds move most); '
      + 'the paper reports the subset nearly as good with a fraction of the parameters.';
    case 'prefix-placement': return '<strong>Prefix-placement ablation.</strong> On BART, trainable prefixes in the encoder\u2019s self-attention, the decoder\u2019s self-attention and its cross-attention '
      + '(the Prefix-Tuning paper\u2019s three prefix sets, [PREFIX; x; PREFIX\u2032; y]) against HF PEFT\u2019s form (one prefix given to the decoder only, read by its self- and cross-attention) '
      + 'and against virtual tokens at the encoder\u2019s input only (prompt tuning, the paper\u2019s embedding-only ablation); the paper reports prefixes at every layer of both sides doing best.';
    case 'ensemble': return `<strong>Prompt-ensembling ablation.</strong> ${esc(String(a.k ?? 'K'))} prompts for one task trained together in one batch (each example repeated once per prompt), `
      + 'their class probabilities averaged (Lester et al.\u2019s prompt ensembling), against the best single one of them, against as many separate prompt-tuning runs averaged '
      + 'at prediction time, and against the best of those. The paper reports the ensemble above the best single prompt; here the prompts also share the trained classifier head.';
    case 'data-size': return '<strong>Training-set-size ablation.</strong> BitFit against full fine-tuning as the training set grows (nested subsets, each size with the same protocol). '
      + 'The BitFit paper reports BitFit ahead on small training sets and full fine-tuning ahead on large ones: look for the lines crossing.';
    case 'multitask': return '<strong>Multi-task prompt-pretraining ablation.</strong> P-Tuning v2\u2019s multi-task setting: one deep prompt first trained on several tasks at once '
      + '(shared by all of them, each task with its own head), then trained on the target task from there with a fresh head, against the same method from a random prompt. '
      + 'The paper reports the pretrained prompt ahead; the target-only row pretrains on the target alone for as many steps, so a gain of the multi-task row over it '
      + 'is the other tasks\u2019 doing, not the extra steps\u2019.';
    case 'position': return '<strong>Position ablation.</strong> Li &amp; Liang\u2019s Prefix-Tuning §7.2 on GPT-2 or BART: the same trainable virtual tokens in front of the input '
      + '([PREFIX; x; y], a key and a value at every layer; on BART in the encoder, the decoder and its cross-attention), between the input and the output '
      + '([x; INFIX; y], the activations at every layer; on BART at decoder positions between decoder_start and the target), '
      + 'or as free input embeddings only (prompt tuning, the paper\u2019s embedding-only ablation), with the frozen model as the floor. '
      + 'The paper reports prefixing ahead of infixing, and both well ahead of embedding-only: a prefix can steer the activations of x itself, '
      + 'an infix only what follows it. A difference within its standard errors is a tie.';
    case 'gpt-vs-bert': return '<strong>GPT vs BERT ablation.</strong> P-Tuning\u2019s claim (Liu et al., \u201cGPT Understands, Too\u201d): with a trained continuous prompt and the pretrained LM head read by a verbalizer, '
      + 'a GPT matches a BERT of its size on natural-language understanding. Compare the two \u201cP-tuning + LM/MLM head\u201d bars: a gap within their standard errors is a tie (the claim holds here); '
      + 'the manual-prompt bars show what the frozen models read with no training, the [CLS] bars what compare\u2019s usual new-classifier setup reaches on bert-tiny.';
  }
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: #1d1f23; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 0 0 10px; }
h3 { font-size: 1rem; margin: 18px 0 8px; }
section, header { background: #fff; border: 1px solid #e2e5ea; border-radius: 8px; padding: 16px 20px; margin: 0 0 18px; }
.desc { margin: 0 0 12px; color: #444; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 6px 18px; margin: 0; }
dl.meta div { min-width: 0; }
dl.meta dt { font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.04em; color: #6b7280; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
table.results { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 0.92rem; }
table.results.compact { width: auto; min-width: 60%; }
table.results thead th { white-space: normal; vertical-align: bottom; }
.scroll { overflow-x: auto; }
table.results th, table.results td { padding: 6px 10px; border-bottom: 1px solid #e7e9ee; text-align: right; white-space: nowrap; }
table.results th[scope=row], table.results thead th:first-child { text-align: left; }
table.results thead th { font-weight: 600; color: #374151; border-bottom: 2px solid #cfd4dc; }
table.results tbody tr:nth-child(even) { background: #fafbfc; }
table.results tr.best { background: #fff4cc; }
.quick { background: #fde2e1; border: 1px solid #e8a09a; padding: 6px 10px; border-radius: 4px; }
table.results tr.best td, table.results tr.best th { font-weight: 700; }
.badge { display: inline-block; font-size: 0.7rem; font-weight: 700; color: #7a5200; background: #ffe08a; border-radius: 4px; padding: 0 5px; margin-left: 4px; vertical-align: 1px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 7px; vertical-align: 0; }
.note { font-size: 0.85rem; color: #555; margin: 10px 0 0; }
figure { margin: 0; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 0.85rem; color: #555; margin-top: 6px; }
.reading p { margin: 0 0 10px; }
footer { color: #777; font-size: 0.8rem; text-align: center; }
@media print { body { background: #fff; } section, header { border: none; padding: 0; break-inside: avoid; } }
`;

/** The whole report: a single HTML document with everything inline. */
export function renderReport(r: CompareResult): string {
  const styles = methodStyles(r.methods);
  const byMethod = new Map<string, string>();
  r.methods.forEach((m, i) => { if (!byMethod.has(m.method)) byMethod.set(m.method, styles[i].color); });
  const colorOf = (method: string, k: number) => byMethod.get(method) ?? METHOD_COLOR[method] ?? OKABE_ITO[k % OKABE_ITO.length];
  const body = [
    header(r),
    resultsTable(r, styles),
    lossPlot(r, styles),
    scatterPlot(r, styles),
    r.bitfitDeltas?.length ? bitfitSection(r.bitfitDeltas) : '',
    ...r.ablations.map((a, i) => ablationSection(a, i, colorOf, r.metric)),
    reading(r),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>webpeft compare — ${esc(r.task)} (${esc(r.model)})</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
<footer>Generated by webpeft compare · ${esc(when(r.date))} · self-contained: no scripts, no external resources.</footer>
</main>
</body>
</html>
`;
}
