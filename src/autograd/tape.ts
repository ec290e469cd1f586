import { anomalyDetection, checkFinite, within } from './anomaly.js';
import { keep, Tensor, tidy } from './tensor.js';
import { noGrad } from './op.js';
import { fmt, sameShape } from './shape.js';
import { add, onesLike } from './functions.js';

export interface BackwardOptions {
  /** Gradient of the output (default: ones; required shape = output shape). */
  grad?: Tensor;
  /** Keep the tape so backward can run again (default: the tape is freed). */
  retainGraph?: boolean;
}

/**
 * Reverse-mode sweep from `output`: visits the tape in reverse topological order, asks each op for the
 * gradients of the inputs that need one, and accumulates (+=) them into leaves' `.grad`.
 * Intermediate gradients are disposed as soon as they are consumed; leaf gradients outlive `tidy` scopes.
 */
export function backward(output: Tensor, opts: BackwardOptions = {}): void {
  if (!output.requiresGrad) {
    throw new Error(`backward: ${output.describe()} does not require grad (no trainable tensor reaches it)`);
  }
  if (opts.grad && !sameShape(opts.grad.shape, output.shape)) {
    throw new Error(`backward: gradient shape ${fmt(opts.grad.shape)} != output shape ${fmt(output.shape)}`);
  }
  const order = topoOrder(output);
  noGrad(() => {
    // every gradient in `grads` is owned by this sweep (ops return fresh tensors or views), except the caller's
    const grads = new Map<Tensor, Tensor>();
    grads.set(output, opts.grad ?? onesLike(output));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const node = t.node!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      // the op's temporaries are freed here; only the input gradients it returns survive
      const inGrads = within(`backward of ${node.op.name}`,
        () => tidy(() => node.op.backward!({ inputs: node.inputs, output: t, attrs: node.attrs, saved: node.saved, needs: node.needs }, g)));
      if (g !== opts.grad) g.dispose();
      node.inputs.forEach((inp, k) => {
        let gi = inGrads[k];
        if (!gi) return;
        if (!node.needs[k]) { gi.dispose(); return; }
        if (anomalyDetection()) checkFinite(() => `backward of ${node.op.name} (gradient of input ${k}, ${fmt(inp.shape)})`, gi);
        if (!sameShape(gi.shape, inp.shape)) { // compared, not formatted: this runs for every gradient of every step
          throw new Error(`backward of ${node.op.name}: gradient ${fmt(gi.shape)} for input ${k} of shape ${fmt(inp.shape)}`);
        }
        if (inp.node === null) {
          // a leaf: its hook first (a PEFT mask), then accumulate into .grad, which outlives scopes
          if (inp.gradHook) {
            const hooked = inp.gradHook(gi);
            if (hooked !== gi) gi.dispose();
            gi = hooked;
          }
          if (inp.grad) {
            const sum = add(inp.grad, gi);
            inp.grad.dispose();
            gi.dispose();
            inp.grad = keep(sum);
          } else {
            inp.grad = keep(gi);
          }
          return;
        }
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else {
          grads.set(inp, gi);
        }
      });
      if (!opts.retainGraph) {
        for (const s of node.saved) s.dispose();
        t.node = null;
      }
    }
  });
}

/** Tensors with a tape entry reachable from `root`, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, k] = top;
    if (k === 0) {
      if (seen.has(t)) { stack.pop(); continue; }
      seen.add(t);
    }
    const inputs = t.node?.inputs ?? [];
    if (k < inputs.length) {
      top[1]++;
      const inp = inputs[k];
      if (inp.node && !seen.has(inp)) stack.push([inp, 0]);
    } else {
      stack.pop();
      if (t.node) order.push(t);
    }
  }
  return order;
}
