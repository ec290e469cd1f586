/**
 * BitFit (Ben Zaken et al., "BitFit: Simple Parameter-efficient Fine-tuning for Transformer-based Masked
 * Language-models"): freeze everything but the bias terms — attention query/key/value and output biases, MLP
 * intermediate (d→4d) and output biases, LayerNorm biases — and the task head. Subsets by type: the seed
 * reports query and intermediate biases change most, and training only those two is nearly as good.
 * `biasDeltas` gives the per-layer × per-type change the paper plots: the mean absolute change per element,
 * (1/dim b)·‖b_F − b_0‖₁ (the paper's measure; ‖Δb‖₂ is kept too, but it grows with √dim under Adam's near-uniform
 * steps, so a 4×-wider intermediate bias shows 2× the norm for the same per-element change).
 */
import { isTaskHead } from './baselines.js';
import { Params } from '../models/params.js';
import type { BaseModel, PeftMethod } from './method.js';
import { defineMethod, definedOnly, type GroupCount } from './spec.js';

export const BIAS_TYPES = ['query', 'key', 'value', 'attention-output', 'intermediate', 'output', 'layernorm', 'pooler'] as const;
export type BiasType = (typeof BIAS_TYPES)[number];

/** A bias (or the part of a fused one) of a given type: elements [begin, begin + size) of parameter `name`. */
export interface BiasSlice { name: string; layer: string; type: BiasType; begin: number; size: number }

/** The bias slices of one parameter, by HF key (GPT-2 and BERT; with or without the `transformer.`/`bert.` prefix). */
export function biasSlices(name: string, size: number): BiasSlice[] {
  const bart = /^model\.(encoder|decoder)\./.exec(name);
  if (bart) return bartBiasSlices(name, size, bart[1] === 'encoder' ? 'enc' : 'dec');
  const m = /(?:^|\.)(?:h|layer)\.(\d+)\.(.+)$/.exec(name);
  const layer = m ? m[1] : /embeddings/.test(name) ? 'emb' : /pooler/.test(name) ? 'pooler' : 'final';
  const rest = m ? m[2] : name;
  const one = (type: BiasType): BiasSlice[] => [{ name, layer, type, begin: 0, size }];
  if (!name.endsWith('bias') || isTaskHead(name) || /^cls\./.test(name)) return [];
  if (rest === 'attn.c_attn.bias') {
    const d = size / 3; // GPT-2's fused [q; k; v]
    return (['query', 'key', 'value'] as const).map((type, i) => ({ name, layer, type, begin: i * d, size: d }));
  }
  if (/attention\.self\.query\.bias$/.test(rest)) return one('query');
  if (/attention\.self\.key\.bias$/.test(rest)) return one('key');
  if (/attention\.self\.value\.bias$/.test(rest)) return one('value');
  if (rest === 'attn.c_proj.bias' || /attention\.output\.dense\.bias$/.test(rest)) return one('attention-output');
  if (rest === 'mlp.c_fc.bias' || /intermediate\.dense\.bias$/.test(rest)) return one('intermediate');
  if (rest === 'mlp.c_proj.bias' || /^output\.dense\.bias$/.test(rest)) return one('output');
  if (/(ln_\d|ln_f|LayerNorm)\.bias$/.test(rest)) return one('layernorm');
  if (/pooler\.dense\.bias$/.test(name)) return one('pooler');
  return [];
}

/**
 * BART's biases (`model.encoder.layers.0.self_attn.q_proj.bias`, …): the same types, cross-attention's q/k/v/out
 * counted with self-attention's, layers labelled `enc.0` / `dec.0`.
 */
function bartBiasSlices(name: string, size: number, side: 'enc' | 'dec'): BiasSlice[] {
  if (!name.endsWith('.bias')) return [];
  const m = /\.layers\.(\d+)\.(.+)\.bias$/.exec(name);
  const layer = m ? `${side}.${m[1]}` : `${side}.emb`;
  const module = m ? m[2] : name.slice(0, -'.bias'.length);
  const type: BiasType | null =
    /(self_attn|encoder_attn)\.q_proj$/.test(module) ? 'query'
      : /(self_attn|encoder_attn)\.k_proj$/.test(module) ? 'key'
        : /(self_attn|encoder_attn)\.v_proj$/.test(module) ? 'value'
          : /(self_attn|encoder_attn)\.out_proj$/.test(module) ? 'attention-output'
            : module === 'fc1' ? 'intermediate'
              : module === 'fc2' ? 'output'
                : /(layer_norm|layernorm_embedding)$/.test(module) ? 'layernorm' : null;
  return type ? [{ name, layer, type, begin: 0, size }] : [];
}

export interface BitFitConfig {
  /** Bias types to train (default all). */
  types?: readonly BiasType[];
  trainHead?: boolean;
}

export function bitFit(base: BaseModel, c: BitFitConfig = {}): PeftMethod {
  const types = new Set(c.types ?? BIAS_TYPES);
  for (const t of types) if (!BIAS_TYPES.includes(t)) throw new Error(`bitfit: unknown bias type '${t}' (known: ${BIAS_TYPES.join(', ')})`);
  const chosen = new Map<string, BiasSlice[]>();
  for (const [name, t] of base.params) {
    const slices = biasSlices(name, t.size).filter((s) => types.has(s.type));
    if (slices.length) chosen.set(name, slices);
  }
  if (chosen.size === 0) throw new Error(`bitfit: no bias of type ${[...types].join(', ')} in this model`);
  const trainHead = c.trainHead ?? true;
  return {
    kind: 'bitfit',
    params: new Params(),
    trainsBase: (name) => chosen.has(name) || (trainHead && isTaskHead(name)),
    gradMask(name) {
      const slices = chosen.get(name);
      const t = base.params.get(name);
      if (!slices || !t || slices.reduce((n, s) => n + s.size, 0) === t.size) return null;
      const mask = new Float32Array(t.size);
      for (const s of slices) mask.fill(1, s.begin, s.begin + s.size);
      return mask;
    },
  };
}

/** One bias's change: mean |Δb| per element (the paper's measure), ‖Δb‖₂, and its element count. */
export interface BiasDelta { layer: string; type: BiasType; meanAbs: number; norm: number; size: number }

/** Per (layer, bias type): (1/dim)·‖b_after − b_before‖₁ and ‖b_after − b_before‖₂ — the seed's "which biases moved" analysis. */
export function biasDeltas(before: ReadonlyMap<string, ArrayLike<number>>, after: ReadonlyMap<string, ArrayLike<number>>): BiasDelta[] {
  const rows: BiasDelta[] = [];
  for (const [name, b0] of before) {
    const b1 = after.get(name);
    if (!b1) continue;
    for (const s of biasSlices(name, b0.length)) {
      let sq = 0;
      let abs = 0;
      for (let i = s.begin; i < s.begin + s.size; i++) { const d = b1[i] - b0[i]; sq += d * d; abs += Math.abs(d); }
      rows.push({ layer: s.layer, type: s.type, meanAbs: abs / s.size, norm: Math.sqrt(sq), size: s.size });
    }
  }
  return rows;
}

export const bitFitSpec = defineMethod<'bitfit', BitFitConfig>({
  name: 'bitfit', title: 'BitFit', defaults: { types: BIAS_TYPES, trainHead: true }, peftType: null, color: '#009E73',
  // BitFit's repo uses 1e-3 on BERT-base for many epochs. On bert-tiny spam under compare's 900-step protocol (3
  // seeds, validation): 1e-2 gave 0.781 ± 0.002, 3e-2 0.746 ± 0.025 (one seed fell to the majority class after step
  // 50), 1e-1 diverged; after 100 steps 1e-3 … 3e-2 all stood at the frozen head's 0.70–0.71
  lr: 1e-2,
  build: (base, c) => bitFit(base, c),
  fromSettings: (s) => definedOnly({ types: s.biasTypes }),
  label: (c) => (c.types && c.types.length < BIAS_TYPES.length ? `bitfit (${c.types.join(', ')})` : 'bitfit'),
  countBase(params, c) {
    const types = new Set(c.types ?? BIAS_TYPES);
    const byType = new Map<string, number>();
    let head = 0;
    for (const p of params) {
      if (isTaskHead(p.name)) head += p.size;
      for (const b of biasSlices(p.name, p.size)) if (types.has(b.type)) byType.set(b.type, (byType.get(b.type) ?? 0) + b.size);
    }
    const rows: GroupCount[] = [...byType].map(([type, n]) => ({ group: `${type} biases`, params: n }));
    if (head && (c.trainHead ?? true)) rows.push({ group: 'task head', params: head });
    return rows;
  },
  analysis: {
    async capture(params) {
      const biases = new Map<string, Float64Array>();
      for (const [name, t] of params) if (biasSlices(name, t.size).length) biases.set(name, Float64Array.from(await t.data()));
      return biases;
    },
    compare: biasDeltas,
  },
});
