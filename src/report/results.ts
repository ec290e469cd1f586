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
  /** Further metrics (e.g. macro-F1, loss, ROUGE-L). */
  extra: Record<string, number>;
  trainSeconds: number;
  /** Peak bytes held by tensors/array buffers during training, in MB. */
  peakMB: number;
  /** Training loss per step. */
  losses: number[];
}

export interface BiasDeltaRow { layer: string; type: string; norm: number }

export interface AblationResult {
  kind: 'prompt-length' | 'reparam';
  title: string;
  /** x: the swept value (prompt length) or an index; label names the variant. */
  rows: { label: string; method: string; x: number; validation: number }[];
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
}
