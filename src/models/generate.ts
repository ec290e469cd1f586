/**
 * GPT-2 generation with a KV cache, as HF's `generate` does it: prompts are left-padded into one batch, position
 * ids come from the attention mask (cumsum − 1, padding at 1, after any kv-hook prefix), and each step feeds
 * only the new token. Next tokens are chosen greedily or sampled after HF's warpers in HF's order
 * (temperature, top-k, top-p), from a seeded generator. A row that emits a stop token is finished; it is
 * padded with `padTokenId` until every row is finished or `maxNewTokens` are made.
 */
import { tensor } from '../autograd/create.js';
import { narrow } from '../autograd/functions.js';
import { noGrad } from '../autograd/op.js';
import { tidy, type Tensor } from '../autograd/tensor.js';
import { Rng } from '../kernels/rng.js';
import { KvCache } from './cache.js';
import type { Gpt2 } from './gpt2.js';
import type { ModelHooks } from './hooks.js';
import { ModelInputError } from './common.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Argmax decoding; default true unless temperature, topK or topP is given. */
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stopTokens?: number[];
  /** Left padding and the filler after a row stops; default the first stop token, else eos_token_id, else 0. */
  padTokenId?: number;
  hooks?: ModelHooks;
  /** Keep the logits each token was chosen from (tests compare them with a full forward). */
  returnLogits?: boolean;
}

export interface GenerateResult {
  /** Per row: the new tokens, up to and including a stop token. */
  tokens: number[][];
  /** Per row: the left-padded prompt followed by every step's token (padding after a stop), as HF returns. */
  sequences: number[][];
  /** 1 = real or generated token, 0 = left padding, aligned with `sequences`. */
  attentionMask: number[][];
  /** With returnLogits: stepLogits[step][row] = the (V) logits of that step (before warpers). */
  stepLogits?: Float64Array[][];
  /** Why generation stopped before maxNewTokens with rows unfinished (the position table ran out); what was made is kept. */
  stopped?: string;
}

/** HF's position ids for a padded batch: offset + cumsum(mask) − 1 at real tokens, 1 at padding. */
export function positionIdsFromMask(mask: number[][], offset = 0): number[][] {
  return mask.map((row) => {
    let seen = 0;
    return row.map((m) => (m ? offset + seen++ : 1));
  });
}

/** Prompts left-padded to one length, with their mask. */
export function leftPad(prompts: number[][], pad: number): { ids: number[][]; mask: number[][] } {
  const L = Math.max(...prompts.map((p) => p.length));
  return {
    ids: prompts.map((p) => [...new Array<number>(L - p.length).fill(pad), ...p]),
    mask: prompts.map((p) => [...new Array<number>(L - p.length).fill(0), ...new Array<number>(p.length).fill(1)]),
  };
}

export async function generate(model: Gpt2, prompts: number[][], o: GenerateOptions): Promise<GenerateResult> {
  const V = model.config.vocabSize;
  if (prompts.length === 0) throw new ModelInputError('generate: no prompts');
  prompts.forEach((p, b) => {
    if (p.length === 0) throw new ModelInputError(`generate: prompt ${b} is empty (start it with a token such as bos)`);
    const bad = p.find((id) => !(Number.isInteger(id) && id >= 0 && id < V));
    if (bad !== undefined) throw new ModelInputError(`generate: prompt ${b} has token ${bad} outside the vocabulary [0, ${V})`);
  });
  const pad = o.padTokenId ?? o.stopTokens?.[0] ?? model.config.eosTokenId ?? 0;
  const stops = new Set(o.stopTokens ?? []);
  const greedy = o.greedy ?? (o.temperature === undefined && o.topK === undefined && o.topP === undefined);
  const rng = new Rng(o.seed ?? 0);
  const B = prompts.length;
  const { ids: sequences, mask } = leftPad(prompts, pad);
  const offset = o.hooks?.kvPrefixLength?.() ?? 0;
  const where = { backend: model.backend };
  const tokens: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  const stepLogits: Float64Array[][] = [];
  const cache = new KvCache(model.config.nLayer);
  let stopped: string | undefined;
  try {
    let stepIds = sequences;
    let stepMask = mask;
    for (let step = 0; step < o.maxNewTokens; step++) {
      const T = stepIds[0].length;
      // after the first pass the cache holds the input hook's virtual tokens too: later positions come after them
      const shift = step === 0 ? offset : offset + (o.hooks?.inputPrefixLength?.() ?? 0);
      const positions = positionIdsFromMask(mask, shift).map((row) => row.slice(row.length - T));
      const forward = () => noGrad(() => tidy(() => {
        const out = model.forward({
          ids: tensor(stepIds.flat(), [B, T], { ...where, dtype: 'i32' }),
          attentionMask: tensor(stepMask.flat(), [B, T], { ...where, dtype: model.dtype }),
          positionIds: tensor(positions.flat(), [B, T], { ...where, dtype: 'i32' }),
          hooks: o.hooks,
          cache,
        });
        const S = out.logits.shape[1];
        return narrow(out.logits, 1, S - 1, 1); // (B, 1, V)
      }));
      let last: Tensor;
      try {
        last = forward();
      } catch (e) {
        // past the position table: keep what was made so far and say why it stopped
        if (step > 0 && e instanceof ModelInputError && e.input === 'positionIds') { stopped = e.message; break; }
        throw e;
      }
      const data = await last.data();
      last.dispose();
      const rows = prompts.map((_, b) => Float64Array.from(data.subarray(b * V, (b + 1) * V)));
      if (o.returnLogits) stepLogits.push(rows);
      const next = rows.map((logits, b) => {
        if (done[b]) return pad;
        const token = greedy ? argmax(logits) : sample(logits, o, rng);
        tokens[b].push(token);
        if (stops.has(token)) done[b] = true;
        return token;
      });
      next.forEach((t, b) => { sequences[b].push(t); mask[b].push(1); });
      if (done.every(Boolean)) break;
      stepIds = next.map((t) => [t]);
      stepMask = next.map(() => [1]);
    }
  } finally {
    cache.dispose();
  }
  return { tokens, sequences, attentionMask: mask, ...(o.returnLogits ? { stepLogits } : {}), ...(stopped ? { stopped } : {}) };
}

/** The first index of the largest value (torch.argmax). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** HF's sampling: logits / temperature → top-k → top-p → softmax → one draw. */
export function sample(logits: Float64Array, o: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP'>, rng: Rng): number {
  const V = logits.length;
  const scores = Float64Array.from(logits, (x) => x / (o.temperature ?? 1));
  if (o.topK !== undefined && o.topK > 0 && o.topK < V) {
    // keep scores ≥ the k-th largest (ties at the threshold are kept, as HF)
    const kth = Float64Array.from(scores).sort()[V - o.topK];
    for (let i = 0; i < V; i++) if (scores[i] < kth) scores[i] = -Infinity;
  }
  if (o.topP !== undefined && o.topP < 1) {
    // ascending order; drop the tokens whose cumulative probability stays ≤ 1 − top_p, always keeping the best
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
    const probs = softmax(Float64Array.from(order, (i) => scores[i]));
    let cumulative = 0;
    for (let r = 0; r < V - 1; r++) {
      cumulative += probs[r];
      if (cumulative <= 1 - o.topP) scores[order[r]] = -Infinity;
    }
  }
  const probs = softmax(scores);
  const u = rng.next();
  let acc = 0;
  for (let i = 0; i < V; i++) {
    acc += probs[i];
    if (u < acc) return i;
  }
  return argmax(probs);
}

function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  const e = Float64Array.from(x, (v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}
