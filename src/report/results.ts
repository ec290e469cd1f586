/** What `webpeft compare` measures, as written to --json and read by the HTML report. */

export interface MethodResult {
  /** Method name as the CLI takes it ('frozen', 'full', 'bitfit', 'prefix', 'prompt', 'ptuning', 'ptuning-v2'). */
  method: string;
  /** Display label (may carry a variant, e.g. "prompt P=20"). */
  label: string;
  trainable: number;
  /** Trainable share of the base model, in percent. */
  percent: number;
  /** The task's headline metric (higher is better) on the validation and test splits. */
  validation: number;
  test: number;
  /** Further metrics (e.g. macro-F1, loss, ROUGE-L): the mean over the seeds, keys 'validation …' / 'test …'. */
  extra: Record<string, number>;
  /** The standard errors of `extra` over the seeds (NaN with one seed; absent in results written before it existed). */
  extraSe?: Record<string, number>;
  trainSeconds: number;
  /** Peak bytes held by tensors/array buffers during training, in MB. */
  peakMB: number;
  /** Training loss per step (of the first seed's run). */
  losses: number[];
  /** Standard errors of `validation` / `test` over the seeds (NaN with one seed). */
  validationSe?: number;
  testSe?: number;
  /** The learning rate used (the method's default, `--lr`, or the one chosen on validation by `--grid`). */
  lr?: number;
  /** Mean number of steps kept by early stopping over the seeds. */
  stepsKept?: number;
  /** One entry per seed. */
  runs?: SeedRun[];
  /** `--grid`: each learning rate tried (first seed) and its best validation metric. */
  grid?: { lr: number; validation: number }[];
}

/** One seed's run of a method: the checkpoint kept by early stopping on validation and its test metric. */
export interface SeedRun {
  seed: number;
  validation: number;
  test: number;
  /** steps trained before stopping / the step whose weights were kept */
  stepsRun: number;
  stepsKept: number;
  /** validation metric at each check: [steps done, metric] */
  curve: [number, number][];
  trainSeconds: number;
}

/** Every setting of a compare run: `webpeft compare --rerun results.json` repeats the run from these. */
export interface CompareSettings {
  task: string;
  model: string;
  /** sha256 of the model's model.safetensors */
  modelSha256: string;
  methods: string[];
  backend: string;
  /** max steps per run; early stopping checks validation every `evalEvery` steps, stops after `patience` checks without a gain */
  steps: number;
  evalEvery: number;
  patience: number;
  /** no early stop before this step (absent in runs written before it existed: 0) */
  minSteps?: number;
  seeds: number[];
  batchSize: number;
  maxLength: number;
  virtualTokens?: number;
  hidden?: number;
  encoder?: 'lstm' | 'mlp';
  /** --template: P-tuning's template on spam (absent: its virtual tokens go in front, as HF PEFT puts them) */
  template?: string;
  biasTypes?: string[];
  /** learning rate per method as used (after --lr / --grid) */
  lr: Record<string, number>;
  grid: boolean;
  evalLimit?: number;
  ablations: string[];
  /** --ablation ensemble: prompts per ensemble (--ensemble-k) */
  ensembleK?: number;
  /** --ablation data-size: training subset sizes as asked (--data-sizes; 'all' = the whole split) */
  dataSizes?: (number | 'all')[];
  /** --ablation multitask: the tasks the shared prompt is pretrained on (--tasks) and the pretraining steps (--pretrain-steps) */
  tasks?: string[];
  pretrainSteps?: number;
  /** --ablation gpt-vs-bert: each trained row's learning rate by label (so --rerun repeats a --grid choice) */
  rowLr?: Record<string, number>;
  quick: boolean;
}

/** One bias's change in BitFit: mean |Δb| per element (the paper's measure), ‖Δb‖₂, element count. */
export interface BiasDeltaRow { layer: string; type: string; meanAbs: number; norm: number; size: number }

/**
 * 'prefix-placement' runs on --task subject-seq2seq only (src/train/seq2seq-compare.ts); 'ensemble' (prompt
 * ensembling, src/train/compare-ensemble.ts) on a task scored from class probabilities (spam); 'data-size' (BitFit
 * vs full fine-tuning on nested training subsets) on the other tasks; 'multitask' (P-tuning v2's multi-task prompt
 * pretraining, src/train/compare-multitask.ts) on the BERT tasks; 'position' (prefix vs infix vs embedding-only
 * virtual tokens, Prefix-Tuning §7.2) on --task subject (GPT-2) and subject-seq2seq (BART); 'gpt-vs-bert' (P-tuned gpt2-tiny vs bert-tiny read
 * through their LM heads by a verbalizer) on spam.
 */
export type AblationKind = 'prompt-length' | 'reparam' | 'bitfit-subset' | 'prefix-placement' | 'ensemble' | 'data-size' | 'multitask' | 'position' | 'gpt-vs-bert';

/** One variant of an ablation, mean ± standard error over the seeds. */
export interface AblationRow {
  label: string;
  method: string;
  /** the swept value (prompt length, training examples) or an index */
  x: number;
  validation: number;
  validationSe?: number;
  test?: number;
  testSe?: number;
  trainable?: number;
  /**
   * 'ensemble', 'multitask': what training the row took — seconds (mean over seeds; K separate runs summed; both
   * stages of a pretrained prompt) and peak MB
   */
  trainSeconds?: number;
  peakMB?: number;
  /** 'multitask', 'gpt-vs-bert': the row's learning rate (absent where nothing trains) and mean steps kept by early stopping */
  lr?: number;
  stepsKept?: number;
  /** 'position': the further metrics (ROUGE-1/2, target loss; 'validation …' / 'test …') as MethodResult.extra, and their SEs */
  extra?: Record<string, number>;
  extraSe?: Record<string, number>;
  /** 'gpt-vs-bert': the row's model and how the class is read */
  model?: string;
  readout?: 'lm-head' | 'mlm-head' | 'classifier';
}

export interface AblationResult {
  kind: AblationKind;
  title: string;
  rows: AblationRow[];
  /** 'ensemble': the number of prompts K */
  k?: number;
  /** 'data-size': the training split's full size (the largest x when 'all' was asked) */
  trainSize?: number;
  /** 'multitask': the tasks the shared prompt was pretrained on, and for how many steps */
  tasks?: string[];
  pretrainSteps?: number;
  /** 'position': the virtual tokens of every variant, and the prefix/infix MLP's hidden size (0: both trained directly) */
  virtualTokens?: number;
  mlpHidden?: number;
  /** 'position': the model family the variants ran on (absent in results written before BART had it: GPT-2) */
  family?: 'gpt2' | 'bart';
  /** 'gpt-vs-bert': the class words and their token id in each model's vocabulary, and the two templates */
  verbalizer?: { classes: string[]; words: string[]; ids: Record<string, number[]>; templates: { ptuning: string; manual: string } };
  /** 'gpt-vs-bert': the training split's majority class, and its share of the validation and test mails scored */
  majority?: { label: string; validation: number; test: number };
}

export interface CompareResult {
  task: string;
  taskDescription: string;
  metric: string;
  model: string;
  backend: string;
  device: string;
  steps: number;
  seed: number;
  baseParams: number;
  methods: MethodResult[];
  bitfitDeltas?: BiasDeltaRow[];
  ablations: AblationResult[];
  totalSeconds: number;
  date: string;
  /** Everything needed to repeat the run (absent in results written before it existed). */
  settings?: CompareSettings;
  /** examples scored per split */
  evalSizes?: { validation: number; test: number };
  /** a --quick smoke run: too short to read anything into */
  quick?: boolean;
  /** why this backend ran (compare --backend auto) */
  backendReason?: string;
  /** runs executed at once (worker threads on the CPU backend); 1 = one after another in one thread */
  workers?: number;
}
