import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { PRESET_NAMES, presetConfig } from '../io/config-presets.js';
import { parseModelConfig, type ModelConfig } from '../io/config.js';
import { BIAS_TYPES, type BiasType } from '../peft/bitfit.js';
import { countParams } from '../peft/counts.js';
import { ALL_METHOD_NAMES, parseMethodList } from '../peft/registry.js';
import type { BertHead } from '../models/bert.js';
import { formatTable } from './table.js';

export const paramsHelp = `webpeft params (--preset NAME | --config FILE) [--head lm|sequence-classification|token-classification] [--num-labels N]
                [--method ${ALL_METHOD_NAMES.join('|')}[+…]] [--virtual-tokens N] [--hidden H] [--encoder lstm|mlp] [--bias-types a,b] [--json]
  Exact parameter counts by module group, from the config alone (presets: ${PRESET_NAMES.join(', ')}),
  and with --method the trainable count and its share of the base model.`;

const int = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got '${v}'`);
  return n;
};

export async function loadModelConfig(preset?: string, file?: string, overrides: Record<string, unknown> = {}): Promise<ModelConfig> {
  if (!!preset === !!file) throw new Error('give exactly one of --preset NAME or --config FILE');
  if (preset) {
    const c = presetConfig(preset);
    if (!c) throw new Error(`unknown preset '${preset}' (known: ${PRESET_NAMES.join(', ')})`);
    return Object.keys(overrides).length ? { ...c, ...overrides } as ModelConfig : c;
  }
  let json: unknown;
  try { json = JSON.parse(await readFile(file!, 'utf8')); } catch (e) { throw new Error(`${file}: ${(e as Error).message}`); }
  return parseModelConfig(json, file!);
}

export async function paramsCommand(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string' }, config: { type: 'string' }, head: { type: 'string', default: 'lm' },
      'num-labels': { type: 'string' }, method: { type: 'string' }, 'virtual-tokens': { type: 'string' },
      hidden: { type: 'string' }, encoder: { type: 'string' }, 'bias-types': { type: 'string' }, json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(paramsHelp); return 0; }
  const numLabels = int(v['num-labels'], '--num-labels');
  const config = await loadModelConfig(v.preset, v.config, numLabels ? { numLabels } : {});
  const head = v.head as BertHead | 'lm';
  if (!['lm', 'sequence-classification', 'token-classification', 'masked-lm', 'base'].includes(head)) throw new Error(`unknown --head '${head}'`);
  if (config.modelType === 'gpt2' && head !== 'lm') throw new Error('GPT-2 has only the tied LM head (--head lm)');
  if (config.modelType === 'bart' && head !== 'lm') throw new Error('BART is counted as BartForConditionalGeneration (--head lm)');
  if (v.method) parseMethodList(v.method);
  const biasTypes = v['bias-types']?.split(',') as BiasType[] | undefined;
  for (const t of biasTypes ?? []) if (!BIAS_TYPES.includes(t)) throw new Error(`unknown bias type '${t}' (known: ${BIAS_TYPES.join(', ')})`);
  if (v.encoder && v.encoder !== 'lstm' && v.encoder !== 'mlp') throw new Error(`--encoder must be lstm or mlp, got '${v.encoder}'`);
  const report = await countParams(config, {
    head, method: v.method, virtualTokens: int(v['virtual-tokens'], '--virtual-tokens'),
    hidden: int(v.hidden, '--hidden'), encoder: v.encoder as 'lstm' | 'mlp' | undefined, biasTypes,
  });
  if (v.json) { console.log(JSON.stringify(report, null, 2)); return 0; }
  const name = v.preset ?? v.config;
  console.log(`${name} (${config.modelType}${config.modelType === 'bert' ? `, head ${head}` : ''})`);
  console.log(formatTable(['group', 'parameters'], [...report.groups.map((g) => [g.group, g.params.toLocaleString('en-US')]),
    ['total', report.total.toLocaleString('en-US')]]));
  if (report.method) {
    const m = report.method;
    console.log(`\n${m.name}: ${m.trainable.toLocaleString('en-US')} trainable (${m.percent.toPrecision(3)} % of ${report.total.toLocaleString('en-US')})`);
    if (m.detail.length) console.log(formatTable(['trains', 'parameters'], m.detail.map((d) => [d.group, d.params.toLocaleString('en-US')])));
  }
  return 0;
}
