/**
 * Trainable-parameter counts from a config alone (no weights are allocated): what `webpeft params` prints.
 * Method parameters are counted by building the method itself against a shape-only view of the base model,
 * so the count cannot drift from what training would use.
 */
import { tensor } from '../autograd/create.js';
import { numel } from '../autograd/shape.js';
import type { BertConfig, Gpt2Config, ModelConfig } from '../io/config.js';
import { bertParamSpecs, type BertHead } from '../models/bert.js';
import { gpt2ParamSpecs } from '../models/gpt2.js';
import { Params, type ParamSpec } from '../models/params.js';
import { isTaskHead } from './baselines.js';
import { BIAS_TYPES, type BiasType, biasSlices } from './bitfit.js';
import type { BaseModel, PeftMethod } from './method.js';
import { pTuning } from './p-tuning.js';
import { pTuningV2 } from './p-tuning-v2.js';
import { prefixTuning } from './prefix-tuning.js';
import { promptTuning } from './prompt-tuning.js';

export type MethodName = 'full' | 'frozen' | 'bitfit' | 'prefix' | 'prompt' | 'ptuning' | 'ptuning-v2';
export const METHOD_NAMES: MethodName[] = ['full', 'frozen', 'bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2'];

export interface MethodOptions {
  virtualTokens?: number;
  /** Prefix-tuning MLP hidden size (0 = no reparameterisation); P-tuning encoder hidden size. */
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  biasTypes?: BiasType[];
}

export interface GroupCount { group: string; params: number }
export interface ParamReport { total: number; groups: GroupCount[]; method?: { name: MethodName; trainable: number; percent: number; detail: GroupCount[] } }

export function specsOf(config: ModelConfig, head: BertHead | 'lm' = 'lm'): ParamSpec[] {
  return config.modelType === 'gpt2' ? gpt2ParamSpecs(config as Gpt2Config) : bertParamSpecs(config as BertConfig, head === 'lm' ? 'base' : head);
}

/** Module group of an HF key: embeddings, layer N (attention / mlp / norms), final norm, pooler, heads. */
function groupOf(name: string): string {
  if (/wte|wpe|embeddings\./.test(name)) return 'embeddings';
  const m = /(?:^|\.)(?:h|layer)\.\d+\.(attn|attention|mlp|intermediate|output|ln_\d)/.exec(name);
  if (m) return /attn|attention/.test(m[1]) ? 'blocks: attention' : /ln_/.test(m[1]) ? 'blocks: layer norms' : 'blocks: mlp';
  if (/ln_f/.test(name)) return 'final layer norm';
  if (/pooler/.test(name)) return 'pooler';
  return 'heads';
}

function shapeOnlyBase(config: ModelConfig): BaseModel {
  // methods read only the backend and dtype of the embedding table (for random inits)
  const common = { params: new Params(), wordEmbeddings: tensor([0], [1]), vocabSize: config.vocabSize };
  if (config.modelType === 'gpt2') return { ...common, family: 'gpt2', layers: config.nLayer, heads: config.nHead, hidden: config.nEmbd };
  return { ...common, family: 'bert', layers: config.numHiddenLayers, heads: config.numAttentionHeads, hidden: config.hiddenSize };
}

export async function countParams(config: ModelConfig, o: { head?: BertHead | 'lm'; method?: MethodName } & MethodOptions = {}): Promise<ParamReport> {
  const specs = specsOf(config, o.head);
  const total = specs.reduce((n, s) => n + numel(s.shape), 0);
  const groups = new Map<string, number>();
  for (const s of specs) groups.set(groupOf(s.name), (groups.get(groupOf(s.name)) ?? 0) + numel(s.shape));
  const report: ParamReport = { total, groups: [...groups].map(([group, params]) => ({ group, params })) };
  if (!o.method) return report;
  const head = specs.filter((s) => isTaskHead(s.name)).reduce((n, s) => n + numel(s.shape), 0);
  const detail: GroupCount[] = [];
  const base = shapeOnlyBase(config);
  const P = o.virtualTokens ?? 20;
  let own: PeftMethod | null = null;
  switch (o.method) {
    case 'full': detail.push({ group: 'all base parameters', params: total }); break;
    case 'frozen': break;
    case 'bitfit': {
      const types = new Set(o.biasTypes ?? BIAS_TYPES);
      const byType = new Map<string, number>();
      for (const s of specs) {
        for (const b of biasSlices(s.name, numel(s.shape))) if (types.has(b.type)) byType.set(b.type, (byType.get(b.type) ?? 0) + b.size);
      }
      for (const [type, n] of byType) detail.push({ group: `${type} biases`, params: n });
      break;
    }
    case 'prompt': own = await promptTuning(base, { numVirtualTokens: P }); break;
    case 'prefix': own = prefixTuning(base, { numVirtualTokens: P, projection: o.hidden === 0 ? null : { hidden: o.hidden ?? 512 } }); break;
    case 'ptuning': own = pTuning(base, { numVirtualTokens: P, encoder: o.encoder ?? 'lstm', encoderHidden: o.hidden }); break;
    case 'ptuning-v2': own = pTuningV2(base, { numVirtualTokens: P }); break;
  }
  if (own) {
    detail.push({ group: `${own.kind} parameters`, params: own.params.count() });
    own.params.dispose();
  }
  if (head && o.method !== 'full') detail.push({ group: 'task head', params: head });
  const trainable = detail.reduce((n, d) => n + d.params, 0);
  report.method = { name: o.method, trainable, percent: (100 * trainable) / total, detail };
  return report;
}
