/** Warm-up, then the median of `runs` timings of ours and the peer, interleaved so load drifts hit both alike. */
export interface Timed { oursMs: number; peerMs: number | null }

export async function timePair(ours: () => Promise<void>, peer: (() => Promise<void>) | null, o: { warmup: number; runs: number }): Promise<Timed> {
  for (let i = 0; i < o.warmup; i++) { await ours(); if (peer) await peer(); }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    a.push(await elapsed(ours));
    if (peer) b.push(await elapsed(peer));
  }
  return { oursMs: median(a), peerMs: peer ? median(b) : null };
}

async function elapsed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
