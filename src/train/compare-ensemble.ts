/**
 * `webpeft compare --ablation ensemble`: Prompt Tuning's prompt ensembling (Lester et al. 2021, "Prompt Ensembling")
 * under the compare protocol. Per seed s, on one frozen body:
 *
 *   ensemble            K prompts trained in one batch (./ensemble.ts: each row replicated K times, one mixed-adapter
 *                       pass, loss Σ_j L_j, each prompt clipped alone), prediction = the mean of the K prompts' class
 *                       probabilities; early stopping on that mean's validation metric
 *   best of its K       the one prompt of that run with the best validation metric, alone
 *   K separate runs     K ordinary prompt-tuning runs (each its own early stopping), probabilities averaged afterwards
 *   best separate run   the one of those K with the best validation metric
 *
 * Prompt j of seed s starts from seed s·K + j in both the ensemble and the separate runs (distinct over all seeds);
 * data order, head initialisation and dropout come from s. The only coupling inside the ensemble is the task head:
 * BERT's classifier trains (HF PEFT's modules_to_save) and is one tensor shared by the K prompts, where each separate
 * run trains its own. Validation chooses everything; test is scored once per seed for each row.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { PeftModel } from '../peft/peft-model.js';
import { buildMethod, parseMethodList } from '../peft/registry.js';
import type { MethodSettings } from '../peft/spec.js';
import { baseOf } from '../peft/base.js';
import type { AblationResult, SeedRun } from '../report/results.js';
import { classProbabilities, earlyStopping, loadFor, memoryBytes, runOne, type OneRun, type RunOptions, type RunSpec } from './compare-run.js';
import { trainEnsemble } from './ensemble.js';
import { runPretrained } from './compare-multitask.js';
import { meanSe } from './stats.js';
import { makeTask, TASK_INFO, type ProbabilityScoring } from './tasks.js';

/** A run of any kind: an ensemble of K prompts in one batch, a run from a multi-task pretrained prompt (./compare-multitask.ts), or an ordinary run (./compare-run.ts). */
export function runSpec(spec: RunSpec, seed: number, lr: number, o: RunOptions, tokenizer: TextTokenizer): Promise<OneRun> {
  if (spec.ensemble && spec.pretrain) throw new Error(`${spec.label}: a prompt ensemble with a pretrained prompt is not a run compare makes`);
  return spec.ensemble ? runEnsemble(spec, seed, lr, o, tokenizer) : spec.pretrain ? runPretrained(spec, seed, lr, o, tokenizer) : runOne(spec, seed, lr, o, tokenizer);
}

/** K prompts trained in one batch with early stopping on the ensemble's validation metric; each prompt scored alone at the end. */
export async function runEnsemble(spec: RunSpec, seed: number, lr: number, o: RunOptions, tokenizer: TextTokenizer): Promise<OneRun> {
  const K = spec.ensemble!;
  if (!Number.isSafeInteger(K) || K < 2) throw new Error(`prompt ensemble: K must be an integer ≥ 2, got ${K}`);
  if (parseMethodList(spec.method).join('+') !== 'prompt') throw new Error(`prompt ensemble: the members are prompt tuning, got '${spec.method}'`);
  const { model } = await loadFor(TASK_INFO[o.task], o, seed);
  const base = baseOf(model);
  const first = spec.methodSeed ?? seed;
  const adapters = [];
  for (let j = 0; j < K; j++) adapters.push([await buildMethod(spec.method, base, { ...spec.settings, seed: first + j })]);
  const task = makeTask(o.task, tokenizer, { batchSize: o.batchSize, maxLength: o.maxLength, evalLimit: o.evalLimit, seed, trainSize: spec.trainSize });
  const scoring = task.probabilities;
  if (!scoring) throw new Error(`prompt ensemble: the ${o.task} task is not scored from class probabilities (spam is)`);
  const peft = new PeftModel(model, adapters);
  const counts = peft.counts();
  const trainable: Tensor[] = peft.trainable();
  const ensembleOf = async (split: 'validation' | 'test') => scoring.score(await scoring.of((b) => classProbabilities(peft, b), split), split);
  const stopping = earlyStopping(trainable, o, () => ensembleOf('validation'));
  let peak = memoryBytes(o.backend);
  // dropout on, as in every compare run (each replica of a row draws its own mask)
  const trained = await trainEnsemble({
    peft, batch: (step) => task.batch(step), config: { steps: o.steps, lr, seed }, train: true, after: stopping.after,
    onStep: (log) => {
      peak = Math.max(peak, memoryBytes(o.backend));
      o.onStep?.(spec.label, log, o.steps);
    },
  });
  trained.optimizer.dispose();
  const kept = stopping.restore();
  const validation = kept?.eval ?? await ensembleOf('validation');
  const test = await ensembleOf('test');
  // each prompt alone (with the shared head), at the ensemble's kept checkpoint
  const members: { validation: number; test: number }[] = [];
  for (const adapter of peft.adapters) {
    const alone = new PeftModel(model, [adapter]);
    const of = async (split: 'validation' | 'test') => scoring.score(await scoring.of((b) => classProbabilities(alone, b), split), split).metric;
    members.push({ validation: await of('validation'), test: await of('test') });
  }
  for (const m of peft.adapters.flat()) m.params.dispose();
  model.dispose();
  return {
    run: { seed, validation: validation.metric, test: test.metric, stepsRun: stopping.stepsRun(), stepsKept: kept?.step ?? 0, curve: stopping.curve, trainSeconds: trained.seconds },
    validation, test, trainable: counts.trainable, percent: counts.percent, losses: trained.losses, peakMB: peak / 2 ** 20, members,
  };
}

/** The element-wise mean of K equally long probability arrays. */
export function meanProbabilities(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts[0]!.length);
  for (const p of parts) {
    if (p.length !== out.length) throw new Error(`averaging probabilities: lengths ${out.length} and ${p.length}`);
    for (let i = 0; i < out.length; i++) out[i] += p[i]! / parts.length;
  }
  return out;
}

/** Index of the highest value, the first on ties. */
const argmax = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);

export interface EnsembleAblationOptions {
  K: number;
  lr: number;
  settings: MethodSettings;
  seeds: number[];
  run: (spec: RunSpec, seed: number, lr: number) => Promise<OneRun>;
  /** The task's metric of averaged probabilities (gold labels of validation and test). */
  scoring: ProbabilityScoring;
  onRunDone?: (label: string, run: SeedRun) => void;
}

/** The four rows above, mean ± standard error over the seeds, with what each cost to train. */
export async function ensembleAblation(e: EnsembleAblationOptions): Promise<AblationResult> {
  const { K } = e;
  const once = async (spec: RunSpec, seed: number) => {
    const r = await e.run(spec, seed, e.lr);
    e.onRunDone?.(spec.label, r.run);
    return r;
  };
  const perSeed = await Promise.all(e.seeds.map(async (s) => {
    const [together, apart] = await Promise.all([
      once({ label: `prompt ensemble K=${K}`, method: 'prompt', settings: e.settings, evalTest: true, ensemble: K, methodSeed: s * K }, s),
      Promise.all(Array.from({ length: K }, (_, j) => once({ label: `prompt ${j + 1}/${K}`, method: 'prompt', settings: e.settings, evalTest: true,
        methodSeed: s * K + j, keepProbabilities: true }, s))),
    ]);
    const members = together.members!;
    const bestMember = members[argmax(members.map((m) => m.validation))]!;
    const averaged = (split: 'validation' | 'test') => e.scoring.score(meanProbabilities(apart.map((r) => r.probabilities![split])), split).metric;
    const bestApart = apart[argmax(apart.map((r) => r.run.validation))]!;
    const apartCost = { trainable: apart.reduce((n, r) => n + r.trainable, 0), seconds: apart.reduce((t, r) => t + r.run.trainSeconds, 0), peakMB: Math.max(...apart.map((r) => r.peakMB)) };
    const togetherCost = { trainable: together.trainable, seconds: together.run.trainSeconds, peakMB: together.peakMB };
    return [
      { validation: together.run.validation, test: together.run.test, ...togetherCost },
      { validation: bestMember.validation, test: bestMember.test, ...togetherCost },
      { validation: averaged('validation'), test: averaged('test'), ...apartCost },
      { validation: bestApart.run.validation, test: bestApart.run.test, ...apartCost },
    ];
  }));
  const labels = [`ensemble of ${K} prompts, one batch`, `best of its ${K} prompts (validation)`, `${K} separate prompt runs, averaged`, `best of ${K} separate runs (validation)`];
  const rows = labels.map((label, i) => {
    const cells = perSeed.map((seed) => seed[i]!);
    const val = meanSe(cells.map((c) => c.validation));
    const test = meanSe(cells.map((c) => c.test));
    return {
      label, method: 'prompt', x: i, validation: val.mean, validationSe: val.se, test: test.mean, testSe: test.se, trainable: cells[0]!.trainable,
      trainSeconds: meanSe(cells.map((c) => c.seconds)).mean, peakMB: Math.max(...cells.map((c) => c.peakMB)),
    };
  });
  return { kind: 'ensemble', title: `Prompt ensembling: ${K} prompts in one batch vs the best one vs ${K} separate runs`, rows, k: K };
}
