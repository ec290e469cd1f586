/**
 * Verbalizers (P-tuning's and PET's reading of a classification task as a cloze): each class is one word of the
 * model's vocabulary, and the class scores are the LM head's logits of those words at the template's slot — the
 * [MASK] position of a masked LM, or for a causal LM the position before the slot, whose next-token prediction is
 * the word that fills it. No new head: the pretrained LM head reads the class, so a frozen body plus a trained prompt
 * is the whole model (P-tuning, "GPT Understands, Too", §3–4).
 */
import { tensor } from '../autograd/create.js';
import { concat, embedding, narrow, reshape } from '../autograd/functions.js';
import type { Tensor } from '../autograd/tensor.js';
import type { TextTokenizer } from '../io/tokenizer.js';

/**
 * The token id of each verbalizer word in `tok` (no special tokens added). A word must be exactly one token there —
 * " spam" with its leading space, as the word appears after the text before the slot; one line naming it otherwise.
 */
export function verbalizerIds(tok: Pick<TextTokenizer, 'encode'>, words: readonly string[], model = 'the tokenizer'): number[] {
  if (words.length < 2) throw new Error(`verbalizer: expected a word per class (at least 2), got ${words.length}`);
  const ids = words.map((w) => {
    const t = tok.encode(w, { addSpecialTokens: false });
    if (t.length !== 1) throw new Error(`verbalizer: ${JSON.stringify(w)} is ${t.length} tokens in ${model} (${t.join(', ')}), not one`);
    return t[0]!;
  });
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new Error(`verbalizer: two classes have the same token ${twice} in ${model}`);
  return ids;
}

/** Where the class is read in each row: the slot itself (masked LM), or the position before it (causal LM). */
export function readPositions(slotPositions: Int32Array, causal: boolean): Int32Array {
  return Int32Array.from(slotPositions, (p, b) => {
    if (p < (causal ? 1 : 0)) throw new Error(`verbalizer: row ${b} has its slot at ${p}${causal ? ', and a causal LM needs a position before it' : ''}`);
    return causal ? p - 1 : p;
  });
}

/**
 * Class scores (B, C) from LM-head logits (B, T, V): scores[b, c] = logits[b, at[b], ids[c]]. Differentiable in the
 * logits (a row gather, then one column per class), so the loss is the cross-entropy over the C words only.
 */
export function verbalizerScores(logits: Tensor, at: Int32Array, ids: readonly number[]): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  if (logits.shape.length !== 3) throw new Error(`verbalizer: expected (B, T, V) logits, got (${logits.shape.join(', ')})`);
  if (at.length !== B) throw new Error(`verbalizer: ${at.length} read positions for ${B} rows`);
  const rows = Int32Array.from(at, (t, b) => {
    if (t < 0 || t >= T) throw new Error(`verbalizer: read position ${t} of row ${b} is outside 0…${T - 1}`);
    return b * T + t;
  });
  for (const id of ids) if (!(id >= 0 && id < V)) throw new Error(`verbalizer: token ${id} is outside the vocabulary (${V})`);
  const picked = embedding(reshape(logits, [B * T, V]), tensor(rows, [B], { backend: logits.backend, dtype: 'i32' })); // (B, V)
  return concat(ids.map((id) => narrow(picked, 1, id, 1)), 1);
}
