/**
 * `webpeft compare --ablation gpt-vs-bert`: P-tuning's "GPT understands, too" — a P-tuned GPT matches a BERT of its
 * size on NLU. Spam is read from each embedded model's pretrained, frozen LM head through a verbalizer — class ham =
 * the word " ham", spam = " spam", one token each in both vocabularies — at the slot of a P-tuning template with the
 * anchor "This mail is" kept: P virtual tokens split around the mail ("{p:5} {x} {p:5} This mail is [MASK]" at
 * P = 10); BERT scores its [MASK] position, GPT-2 the position before it (whose next-token prediction fills the slot).
 * Rows: each model's manual prompt (the anchors alone, no training), each model P-tuned (only the prompt encoder
 * trains), and, as references where --methods ran them, the main table's P-tuning and frozen rows (a new classifier on
 * BERT's pooled [CLS], not the paper's setup; the same runs, not repeated). The training split's majority class scored
 * on validation and test is the floor a reader that ignores the mail reaches.
 */
import { loadSpam } from '../data/load.js';
import { spamLabelId } from '../data/datasets.js';
import { loadTokenizer } from '../io/node.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { defaultLr, methodSpec } from '../peft/registry.js';
import type { MethodSettings } from '../peft/spec.js';
import { verbalizerIds } from '../peft/verbalizer.js';
import type { AblationResult, MethodResult } from '../report/results.js';
import type { LmReadout } from './compare-run.js';
import { modelDir } from './model-dir.js';

export const VERBALIZER_CLASSES = ['ham', 'spam'];
export const VERBALIZER_WORDS = [' ham', ' spam'];

/** The P-tuning template with P virtual tokens around the mail, and the manual prompt (the anchors alone). */
export function gptVsBertTemplates(P: number): { ptuning: string; manual: string } {
  if (!Number.isSafeInteger(P) || P < 1) throw new Error(`--ablation gpt-vs-bert: P-tuning needs at least 1 virtual token, got --virtual-tokens ${P}`);
  const before = Math.ceil(P / 2);
  const after = P - before;
  return { ptuning: `{p:${before}} {x} ${after ? `{p:${after}} ` : ''}This mail is [MASK]`, manual: '{x} This mail is [MASK]' };
}

export type GptVsBertSetup = Awaited<ReturnType<typeof gptVsBertSetup>>;

/**
 * The ablation's inputs, checked before any run: the spam task on the embedded models, the verbalizer words one
 * token in each model's vocabulary (their ids), the templates, and the majority-class floor.
 */
export async function gptVsBertSetup(o: { task: string; model?: string; virtualTokens?: number; evalLimit?: number }, bertTokenizer: TextTokenizer) {
  if (o.task !== 'spam') throw new Error(`--ablation gpt-vs-bert: a classification task read through a verbalizer, --task spam (not ${o.task})`);
  if (o.model !== undefined && o.model !== 'bert-tiny') throw new Error(`--ablation gpt-vs-bert compares the embedded gpt2-tiny and bert-tiny; drop --model ${o.model}`);
  const P = o.virtualTokens ?? (methodSpec('ptuning').defaults as { numVirtualTokens: number }).numVirtualTokens;
  const templates = gptVsBertTemplates(P);
  const gptTokenizer = await loadTokenizer(modelDir('gpt2-tiny'));
  const ids = { 'gpt2-tiny': verbalizerIds(gptTokenizer, VERBALIZER_WORDS, 'gpt2-tiny'), 'bert-tiny': verbalizerIds(bertTokenizer, VERBALIZER_WORDS, 'bert-tiny') };
  const labels = (split: 'train' | 'validation' | 'test') => {
    const rows = loadSpam(split);
    return (split !== 'train' && o.evalLimit ? rows.slice(0, o.evalLimit) : rows).map(spamLabelId);
  };
  const train = labels('train');
  const top = train.filter((l) => l === 1).length * 2 > train.length ? 1 : 0;
  const share = (xs: number[]) => xs.filter((l) => l === top).length / xs.length;
  return { P, templates, ids, majority: { label: VERBALIZER_CLASSES[top]!, validation: share(labels('validation')), test: share(labels('test')) } };
}

/** What the ablation needs from compare: its row shape, the main table's rows, and a way to run one labelled variant. */
export interface GptVsBertHooks {
  row: (r: MethodResult, x: number) => AblationResult['rows'][number];
  /** The main table's row of this method and settings, when --methods ran it. */
  main: (method: string, s: MethodSettings) => MethodResult | undefined;
  /** Every seed of one variant under the compare protocol; `lr` fixes the learning rate (else the method's). */
  run: (label: string, method: string, s: MethodSettings, lm: LmReadout | undefined, lr: number | undefined) => Promise<MethodResult>;
  /** --rerun: the learning rate each labelled row used. */
  rowLr?: Record<string, number>;
}

export async function gptVsBertAblation(g: GptVsBertSetup, settings: MethodSettings, h: GptVsBertHooks): Promise<AblationResult> {
  const lm = (family: LmReadout['family'], model: string, template: string): LmReadout => ({ family, model, template, words: VERBALIZER_WORDS });
  const prompted = { ...settings, virtualTokens: g.P };
  const variants: { label: string; method: string; s: MethodSettings; lm?: LmReadout; zeroShot?: boolean }[] = [
    { label: 'gpt2-tiny, manual prompt, no training', method: 'frozen', s: settings, lm: lm('gpt2', 'gpt2-tiny', g.templates.manual), zeroShot: true },
    { label: 'gpt2-tiny, P-tuning + LM head', method: 'ptuning', s: prompted, lm: lm('gpt2', 'gpt2-tiny', g.templates.ptuning) },
    { label: 'bert-tiny, manual prompt, no training', method: 'frozen', s: settings, lm: lm('bert', 'bert-tiny', g.templates.manual), zeroShot: true },
    { label: 'bert-tiny, P-tuning + MLM head', method: 'ptuning', s: prompted, lm: lm('bert', 'bert-tiny', g.templates.ptuning) },
    // compare's own rows (a new classifier on the pooled [CLS]) as references, not the paper's setup: the main
    // table's P-tuning and frozen rows, where --methods ran them (no second run)
    { label: 'bert-tiny, P-tuning + [CLS] classifier', method: 'ptuning', s: settings },
    { label: 'bert-tiny, frozen body + [CLS] classifier', method: 'frozen', s: settings },
  ].filter((v) => v.lm || h.main(v.method, v.s));
  const rows = await Promise.all(variants.map(async (v, x) => {
    const main = v.lm ? undefined : h.main(v.method, v.s);
    // nothing trains in a manual-prompt row: no learning rate to choose
    const fixed = v.zeroShot ? defaultLr(v.method) : h.rowLr?.[v.label];
    const r = main ?? (await h.run(v.label, v.method, v.s, v.lm, fixed));
    return { ...h.row(r, x), label: v.label, lr: v.zeroShot ? undefined : r.lr, stepsKept: v.zeroShot ? undefined : r.stepsKept,
      model: v.lm?.model ?? 'bert-tiny', readout: v.lm ? (v.lm.family === 'gpt2' ? 'lm-head' : 'mlm-head') : 'classifier' } as AblationResult['rows'][number];
  }));
  return { kind: 'gpt-vs-bert', title: 'GPT vs BERT on one task: P-tuned, read through each model\u2019s LM head by a verbalizer', rows,
    verbalizer: { classes: VERBALIZER_CLASSES, words: VERBALIZER_WORDS, ids: g.ids, templates: g.templates }, majority: g.majority };
}
