/**
 * Trainable-parameter counts from a config alone (no weights are allocated): what `webpeft params` prints.
 * Method parameters are counted by building the method itself against a shape-only view of the base model,
 * so the count cannot drift from what training would use.
 */
import { tensor } from '../autograd/create.js';
import { numel } from '../autograd/shape.js';
import type { BertConfig, Gpt2Config, ModelConfig } from '../io/config.js';
import { bartParamSpecs } from '../models/bart.js';
import { bertParamSpecs, type BertHead } from '../models/bert.js';
import { gpt2ParamSpecs } from '../models/gpt2.js';
import { Params, type ParamSpec } from '../models/params.js';
import { isTaskHead } from './baselines.js';
import type { BaseModel, PeftMethod } from './method.js';
import { BART_STACKS, type BartStack } from './seq2seq.js';
import { configFromSettings, methodSpec, parseMethodList } from './registry.js';
import type { GroupCount, MethodSettings, MethodSpec } from './spec.js';

// where these names lived before the registry (src/train/adapter-dir.ts imports them from here)
export { METHOD_NAMES, type MethodName } from './registry.js';
export type { GroupCount } from './spec.js';

export interface ParamReport { total: number; groups: GroupCount[]; method?: { name: string; trainable: number; percent: number; detail: GroupCount[] } }

export function specsOf(config: ModelConfig, head: BertHead | 'lm' = 'lm'): ParamSpec[] {
  if (config.modelType === 'bart') return bartParamSpecs(config);
  return config.modelType === 'gpt2' ? gpt2ParamSpecs(config as Gpt2Config) : bertParamSpecs(config as BertConfig, head === 'lm' ? 'base' : head);
}

/** Module group of a BART key: the shared table, then encoder / decoder by module (cross-attention on its own row). */
function bartGroupOf(name: string): string {
  const side = /^model\.(encoder|decoder)\./.exec(name)?.[1];
  if (!side) return /shared/.test(name) ? 'shared embeddings' : 'heads';
  if (/embed_positions|layernorm_embedding/.test(name)) return `${side}: embeddings`;
  if (/\.encoder_attn\./.test(name)) return 'decoder: cross-attention';
  if (/_layer_norm\./.test(name)) return `${side}: layer norms`;
  return /\.self_attn\./.test(name) ? `${side}: self-attention` : `${side}: ffn`;
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

/** The base a method sees (for BART: one attention stack's, as src/peft/seq2seq.ts gives each stack its own). */
function shapeOnlyBase(config: ModelConfig, stack: BartStack = 'encoder'): BaseModel {
  // methods read only the backend and dtype of the embedding table (for random inits)
  const common = { params: new Params(), wordEmbeddings: tensor([0], [1]), vocabSize: config.vocabSize };
  switch (config.modelType) {
    case 'gpt2': return { ...common, family: 'gpt2', layers: config.nLayer, heads: config.nHead, hidden: config.nEmbd };
    case 'bert': return { ...common, family: 'bert', layers: config.numHiddenLayers, heads: config.numAttentionHeads, hidden: config.hiddenSize };
    case 'bart': {
      const encoder = stack === 'encoder';
      return {
        ...common, family: 'bart', layers: encoder ? config.encoderLayers : config.decoderLayers,
        heads: encoder ? config.encoderAttentionHeads : config.decoderAttentionHeads, hidden: config.dModel,
      };
    }
    default: { const _: never = config; throw new Error(`unknown model ${(_ as ModelConfig).modelType}`); }
  }
}

/**
 * The stacks a method occupies on BART, as seq2seq.ts places them: a K/V method in all three (the Prefix-Tuning
 * paper's [PREFIX; x; PREFIX'; y]), an input method on the encoder; a mask-only method (BitFit) touches none.
 */
function bartStacksOf(method: PeftMethod): readonly BartStack[] {
  return method.kv ? BART_STACKS : method.input ? ['encoder'] : [];
}

/** What one method trains, by group: from its spec's countBase, or by building it against a shape-only base. */
async function methodRows(name: string, config: ModelConfig, specs: ParamSpec[], s: MethodSettings): Promise<GroupCount[]> {
  const spec = methodSpec(name) as MethodSpec;
  const c = configFromSettings(spec.name as never, s);
  const sizes = specs.map((p) => ({ name: p.name, size: numel(p.shape) }));
  if (spec.countBase) return spec.countBase(sizes, c);
  const method = await spec.build(shapeOnlyBase(config), c);
  const trains = (n: string) => method.trainsBase?.(n) ?? false;
  const rows: GroupCount[] = [];
  const body = sizes.filter((p) => trains(p.name) && !isTaskHead(p.name)).reduce((n, p) => n + p.size, 0);
  if (body) rows.push({ group: 'base parameters', params: body });
  if (config.modelType === 'bart') {
    for (const stack of bartStacksOf(method)) {
      const inStack = stack === 'encoder' ? method : await spec.build(shapeOnlyBase(config, stack), c);
      if (inStack.params.size) rows.push({ group: `${method.kind} parameters (${stack})`, params: inStack.params.count() });
      if (inStack !== method) inStack.params.dispose();
    }
  } else if (method.params.size) rows.push({ group: `${method.kind} parameters`, params: method.params.count() });
  method.params.dispose();
  const head = sizes.filter((p) => trains(p.name) && isTaskHead(p.name)).reduce((n, p) => n + p.size, 0);
  if (head) rows.push({ group: 'task head', params: head });
  return rows;
}

/** Counts by module group, and with `method` (a name or a composition such as 'bitfit+prompt') what it trains. */
export async function countParams(config: ModelConfig, o: { head?: BertHead | 'lm'; method?: string } & MethodSettings = {}): Promise<ParamReport> {
  const specs = specsOf(config, o.head);
  const total = specs.reduce((n, s) => n + numel(s.shape), 0);
  const groups = new Map<string, number>();
  const group = config.modelType === 'bart' ? bartGroupOf : groupOf;
  for (const s of specs) groups.set(group(s.name), (groups.get(group(s.name)) ?? 0) + numel(s.shape));
  const report: ParamReport = { total, groups: [...groups].map(([group, params]) => ({ group, params })) };
  if (!o.method) return report;
  const detail: GroupCount[] = [];
  for (const part of parseMethodList(o.method)) {
    // a tensor two parts train (the task head) counts once
    for (const row of await methodRows(part, config, specs, o)) if (!detail.some((d) => d.group === row.group)) detail.push(row);
  }
  const trainable = detail.reduce((n, d) => n + d.params, 0);
  report.method = { name: o.method, trainable, percent: (100 * trainable) / total, detail };
  return report;
}
