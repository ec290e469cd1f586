#!/usr/bin/env python3
"""A PyTorch replica of bert-tiny's masked-LM pretraining, to tell the engine's behaviour from the recipe's.

Not part of webpeft or its tests (webpeft does not depend on Python). It rebuilds the same model as an independent
60-line PyTorch program -- BertForMaskedLM's post-LN layers at bert-tiny's sizes (4 layers, 4 heads, width 64, 4,096
ids, tied decoder), HF's normal(0, initializer_range) init, 15 % masking (80/10/10) with the loss at the masked rows,
AdamW without decay on biases/LayerNorm, linear warm-up/decay, clipping at 1, dropout 0.1 -- on the same token
sequences, and prints held-out masked-LM accuracy, NLL and the spread of the last layer's [CLS] vector across inputs.

    npm run pretrain -- --write-sequences /tmp/bert-seqs.json
    python3 scripts/torch-mlm-replica.py /tmp/bert-seqs.json lr=5e-3 logprior=0 steps=600   # collapses (spread ~1e-5)
    python3 scripts/torch-mlm-replica.py /tmp/bert-seqs.json lr=2e-3 logprior=1 steps=600   # leaves the unigram plateau

Needs torch (Debian: apt install python3-torch). Results are in assets/models/README.md.
"""
import json, math, random, sys, time
import torch, torch.nn as nn

torch.set_num_threads(1)
data = json.load(open(sys.argv[1]))
args = dict(a.split('=') for a in sys.argv[2:])
std, lr, steps = float(args.get('std', 0.02)), float(args.get('lr', 2e-3)), int(args.get('steps', 600))
B, drop, seed, every = int(args.get('batch', 8)), float(args.get('dropout', 0.1)), int(args.get('seed', 0)), int(args.get('every', 150))
logprior = int(args.get('logprior', 1))
torch.manual_seed(seed); random.seed(seed)
V, D, H, L, I, P = data['vocabSize'], 64, 4, 4, 256, 128
MASK, FIRST = data['ids']['mask'], max(data['ids'].values()) + 1  # ids below FIRST are special tokens
train, held = data['train'], data['heldout']


class Layer(nn.Module):
    def __init__(s):
        super().__init__()
        s.q, s.k, s.v, s.o = (nn.Linear(D, D) for _ in range(4))
        s.f1, s.f2 = nn.Linear(D, I), nn.Linear(I, D)
        s.ln1, s.ln2, s.dr = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12), nn.Dropout(drop)

    def forward(s, h, mask):
        b, t, _ = h.shape
        heads = lambda x: x.view(b, t, H, D // H).transpose(1, 2)
        scores = heads(s.q(h)) @ heads(s.k(h)).transpose(-1, -2) / math.sqrt(D // H) + (1 - mask[:, None, None, :]) * -1e9
        a = (s.dr(torch.softmax(scores, -1)) @ heads(s.v(h))).transpose(1, 2).reshape(b, t, D)
        h = s.ln1(h + s.dr(s.o(a)))
        return s.ln2(h + s.dr(s.f2(nn.functional.gelu(s.f1(h)))))


class Bert(nn.Module):
    def __init__(s):
        super().__init__()
        s.word, s.pos, s.segment = nn.Embedding(V, D), nn.Embedding(P, D), nn.Embedding(2, D)
        s.ln, s.dr = nn.LayerNorm(D, eps=1e-12), nn.Dropout(drop)
        s.layers = nn.ModuleList(Layer() for _ in range(L))
        s.transform, s.transform_ln, s.bias = nn.Linear(D, D), nn.LayerNorm(D, eps=1e-12), nn.Parameter(torch.zeros(V))

    def hidden(s, ids, mask):
        pos = torch.arange(ids.shape[1])[None].expand_as(ids)
        h = s.dr(s.ln(s.word(ids) + s.pos(pos) + s.segment(torch.zeros_like(ids))))
        for layer in s.layers:
            h = layer(h, mask)
        return h

    def logits(s, h):
        return s.transform_ln(nn.functional.gelu(s.transform(h))) @ s.word.weight.T + s.bias


def masked(seqs, g):
    T = max(len(x) for x in seqs)
    ids, mask = torch.zeros(len(seqs), T, dtype=torch.long), torch.zeros(len(seqs), T)
    for b, x in enumerate(seqs):
        ids[b, :len(x)], mask[b, :len(x)] = torch.tensor(x), 1
    sel = (torch.rand(ids.shape, generator=g) < 0.15) & (ids >= FIRST)
    labels = torch.where(sel, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=g)
    ids = ids.clone()
    ids[sel & (r < 0.8)] = MASK
    rand = sel & (r >= 0.8) & (r < 0.9)
    ids[rand] = torch.randint(FIRST, V, (int(rand.sum()),), generator=g)
    return ids, mask, labels


m = Bert()
for mod in m.modules():
    if isinstance(mod, (nn.Linear, nn.Embedding)):
        nn.init.normal_(mod.weight, 0, std)
    if isinstance(mod, nn.Linear):
        nn.init.zeros_(mod.bias)
counts = torch.zeros(V)
for x in train:
    for t in x:
        if t >= FIRST:
            counts[t] += 1
majority = int(counts.argmax())
if logprior:
    with torch.no_grad():
        m.bias.copy_(torch.log((counts + 1) / (counts + 1).sum()))

no_decay = lambda n: n.endswith('bias') or 'ln' in n
opt = torch.optim.AdamW([
    {'params': [p for n, p in m.named_parameters() if not no_decay(n)], 'weight_decay': 0.01},
    {'params': [p for n, p in m.named_parameters() if no_decay(n)], 'weight_decay': 0.0}], lr=lr)
warm = max(1, round(0.06 * steps))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))


def evaluate():
    m.eval()
    g = torch.Generator().manual_seed(123)
    right = major = n = 0
    nll, cls = 0.0, []
    with torch.no_grad():
        for i in range(0, len(held), 32):
            ids, mask, labels = masked(held[i:i + 32], g)
            h = m.hidden(ids, mask)
            sel = labels != -100
            lg, y = m.logits(h[sel]), labels[sel]
            right += (lg.argmax(-1) == y).sum().item(); major += (y == majority).sum().item(); n += len(y)
            nll += nn.functional.cross_entropy(lg, y, reduction='sum').item()
            cls.append(h[:, 0])
    m.train()
    spread = torch.cat(cls).std(0).mean().item()
    return f'held-out accuracy {right / n:.4f} (majority {major / n:.4f})  NLL {nll / n:.3f}  [CLS] spread {spread:.2e}'


g, order, t0 = torch.Generator().manual_seed(seed), [], time.time()
print(f'lr {lr} init std {std} log prior {logprior} batch {B} steps {steps}; before training: {evaluate()}', flush=True)
for step in range(steps):
    if len(order) < B:
        order += random.sample(range(len(train)), len(train))
    ids, mask, labels = masked([train[order.pop()] for _ in range(B)], g)
    sel = labels != -100
    loss = nn.functional.cross_entropy(m.logits(m.hidden(ids, mask)[sel]), labels[sel])
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); sched.step()
    if (step + 1) % every == 0 or step + 1 == steps:
        print(f'step {step + 1}: train loss {loss.item():.3f}; {evaluate()}; {time.time() - t0:.0f} s', flush=True)
