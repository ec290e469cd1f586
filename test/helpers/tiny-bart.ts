/** A tiny f64 BART with weights of a trained model's size (~N(0, 0.4²), layer-norm gains ~1), so differences show. */
import type { BartConfig } from '../../src/io/bart-config.js';
import { Rng } from '../../src/kernels/rng.js';
import { Bart } from '../../src/models/bart.js';

export function randomBart(config: BartConfig, seed: number): Bart {
  const model = Bart.init(config, { seed, dtype: 'f64' });
  const rng = new Rng(seed + 100);
  for (const [name, t] of model.params) {
    const gain = /layer_?norm[^.]*\.weight$/.test(name) ? 1 : 0;
    model.params.assign(name, Array.from({ length: t.size }, () => gain + 0.4 * rng.normal()));
  }
  return model;
}
