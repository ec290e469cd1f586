/**
 * The tensors of webpeft's resumable training state (training_state.safetensors), browser-safe: every tensor the
 * method owns (`method.<name>`), the base tensors it trains (`base.<name>`: heads, BitFit's biases) and AdamW's
 * moments of each (`adam_m.<key>`, `adam_v.<key>`). saveAdapter (adapter-dir.ts) writes them to a folder; the web
 * page puts the same bytes in a zip, so `webpeft eval`/`train --resume` read both alike.
 */
import type { AdamW } from '../autograd/optim.js';
import type { Tensor } from '../autograd/tensor.js';
import type { BaseModel, PeftMethod } from '../peft/method.js';

export type StateTensors = Map<string, { shape: number[]; data: Float32Array }>;

export async function stateTensors(base: BaseModel, method: PeftMethod, opt: AdamW | null): Promise<StateTensors> {
  const tensors: StateTensors = new Map();
  const keyOf = new Map<Tensor, string>();
  const add = async (key: string, t: Tensor) => {
    tensors.set(key, { shape: [...t.shape], data: Float32Array.from(await t.data()) });
    keyOf.set(t, key);
  };
  for (const [name, t] of method.params) await add(`method.${name}`, t);
  // the base tensors the method trains — the same rule loadAdapter checks, whatever requiresGrad says now
  for (const [name, t] of base.params) if (method.trainsBase?.(name)) await add(`base.${name}`, t);
  if (opt) {
    const { moments } = await opt.exportState();
    for (const [t, { m, v }] of moments) {
      const key = keyOf.get(t);
      if (!key) continue;
      tensors.set(`adam_m.${key}`, { shape: [...t.shape], data: Float32Array.from(m) });
      tensors.set(`adam_v.${key}`, { shape: [...t.shape], data: Float32Array.from(v) });
    }
  }
  return tensors;
}
