import { describe, expect, it } from 'vitest';
import { tensor, zeros } from '../src/autograd/create.js';
import { add, crossEntropy, matmul, mul, sum, tanh } from '../src/autograd/functions.js';
import { backward } from '../src/autograd/tape.js';
import { noGrad } from '../src/autograd/op.js';
import { tidy } from '../src/autograd/tensor.js';
import { AdamW, SGD, clipGradNorm, linearSchedule } from '../src/autograd/optim.js';
import { cpu } from '../src/kernels/cpu/index.js';
import { Rng } from '../src/kernels/rng.js';
import { randn } from '../src/autograd/create.js';

const f64 = { dtype: 'f64' as const };

describe('tape', () => {
  it('accumulates the gradient of a tensor used twice', () => {
    const x = tensor([1, 2, 3], [3], { ...f64, requiresGrad: true });
    backward(sum(mul(x, x))); // d/dx Σx² = 2x
    expect([...x.grad!.dataSync()]).toEqual([2, 4, 6]);
    backward(sum(x)); // a second backward adds into .grad
    expect([...x.grad!.dataSync()]).toEqual([3, 5, 7]);
  });

  it('records nothing under noGrad and cuts at detach', () => {
    const x = tensor([0.5], [1], { ...f64, requiresGrad: true });
    expect(noGrad(() => tanh(x)).requiresGrad).toBe(false);
    const y = add(mul(x.detach(), x), 0);
    backward(sum(y));
    expect(x.grad!.dataSync()[0]).toBeCloseTo(0.5, 15); // only the non-detached factor
  });

  it('refuses backward from a tensor no parameter reaches', () => {
    expect(() => backward(tensor([1], [1]))).toThrow(/does not require grad/);
  });

  it('disposes temporaries at the end of tidy but keeps what it returns', () => {
    const x = tensor([1, 2], [2]);
    let inner: ReturnType<typeof mul> | undefined;
    const out = tidy(() => { inner = mul(x, x); return add(inner, 1); });
    expect(inner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect([...out.dataSync()]).toEqual([2, 5]);
  });
});

describe('frozen parameters', () => {
  function step(trainW: boolean) {
    const rng = new Rng(3);
    const x = randn([4, 5], rng, { requiresGrad: true });
    const w = randn([5, 6], rng, { requiresGrad: trainW });
    const b = randn([6], rng, { requiresGrad: true });
    const before = cpu.stats.launches.get('matmul') ?? 0;
    const loss = sum(tanh(add(matmul(x, w), b)));
    const forward = (cpu.stats.launches.get('matmul') ?? 0) - before;
    backward(loss);
    const backwardLaunches = (cpu.stats.launches.get('matmul') ?? 0) - before - forward;
    return { x, w, b, backwardLaunches };
  }

  it('get no dW matmul: backward launches one matmul (dX) when W is frozen, two when it trains', () => {
    expect(step(false).backwardLaunches).toBe(1);
    expect(step(true).backwardLaunches).toBe(2);
  });

  it('get no gradient, no optimizer state, and stay bit-identical through training', () => {
    const rng = new Rng(5);
    const w = randn([3, 4], rng); // frozen
    const b = zeros([4], { requiresGrad: true });
    const before = w.dataSync().slice();
    const opt = new AdamW([w, b], { lr: 0.1 });
    for (let i = 0; i < 5; i++) {
      opt.zeroGrad();
      const x = randn([2, 3], rng);
      backward(sum(tanh(add(matmul(x, w), b))));
      opt.step();
    }
    expect(w.grad).toBeNull();
    expect(opt.params).toEqual([b]);
    expect(opt.stateSize()).toEqual({ tensors: 1, elements: 8 });
    expect(Buffer.from(w.dataSync().buffer).equals(Buffer.from(before.buffer))).toBe(true);
    expect([...b.dataSync()].some((v) => v !== 0)).toBe(true);
  });
});

describe('optimizers', () => {
  it('AdamW matches the torch.optim.AdamW update, written out by hand', () => {
    const p = tensor([1, -2], [2], { ...f64, requiresGrad: true });
    const opt = new AdamW([p], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    const ref = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    for (let t = 1; t <= 3; t++) {
      opt.zeroGrad();
      backward(sum(mul(mul(p, p), p))); // g = 3p²
      const g = ref.map((x) => 3 * x * x);
      for (let i = 0; i < 2; i++) {
        ref[i] -= 0.1 * 0.01 * ref[i];
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        ref[i] -= (0.1 * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
      }
      opt.step();
    }
    const got = p.dataSync();
    ref.forEach((r, i) => expect(got[i]).toBeCloseTo(r, 12));
  });

  it('SGD with momentum matches torch.optim.SGD', () => {
    const p = tensor([1], [1], { ...f64, requiresGrad: true });
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
    let ref = 1;
    let buf = 0;
    for (let t = 1; t <= 3; t++) {
      opt.zeroGrad();
      backward(sum(mul(p, p)));
      const g = 2 * ref;
      buf = t === 1 ? g : 0.9 * buf + 0.5 * g;
      ref -= 0.1 * buf;
      opt.step();
    }
    expect(p.dataSync()[0]).toBeCloseTo(ref, 12);
  });

  it('clipGradNorm scales gradients to the max norm and returns the norm before', () => {
    const a = tensor([3], [1], { ...f64, requiresGrad: true });
    const b = tensor([4], [1], { ...f64, requiresGrad: true });
    backward(add(sum(mul(a, a)), sum(mul(b, b)))); // grads 6, 8 → norm 10
    const norm = clipGradNorm([a, b], 5)!;
    expect(norm.dataSync()[0]).toBeCloseTo(10, 12);
    expect(a.grad!.dataSync()[0]).toBeCloseTo(3, 5);
    expect(b.grad!.dataSync()[0]).toBeCloseTo(4, 5);
  });

  it('linear schedule warms up then decays to zero', () => {
    const s = linearSchedule(2, 10);
    expect([0, 1, 2, 6, 10].map(s)).toEqual([0.5, 1, 1, 0.5, 0]);
  });
});

describe('cross-entropy', () => {
  it('ignores -100 targets and averages over the rest (as PyTorch)', () => {
    const logits = tensor([0, 0, Math.log(3), 0, 5, 5], [3, 2], f64);
    const targets = tensor([0, 1, -100], [3], { dtype: 'i32' });
    // rows: ln 2, ln(1 + 3)... row 1: −log(1/(3+1)) = ln 4
    expect(crossEntropy(logits, targets).dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(4)) / 2, 12);
  });
});
