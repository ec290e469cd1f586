/**
 * The bench: every row is our computation timed next to the same computation in a peer (tfjs-backend-cpu for our
 * CPU backend, tfjs-backend-webgpu on the same kind of Dawn adapter for our WebGPU backend), in this process, after
 * warm-up, as the median of ≥ 5 interleaved runs with the readback inside the timed region.
 *
 *   npm run bench [-- --filter X] [--json] [--backend cpu|webgpu] [--threads N] [--runs N] [--no-peer]
 *
 * --json prints one object per row {name, shape, backend, ours_ms, peer, peer_ms, ratio, gflops}; ratio is
 * peer_ms / ours_ms (how many times faster ours is). Results go to bench/results/<date>[-<filter>].json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/autograd/backend.js';
import { cpu, cpuThreads, setCpuThreads } from '../src/kernels/cpu/index.js';
import { cpuPoolInfo } from '../src/kernels/cpu/pool.js';
import type { BenchCase, Row } from './case.js';
import { kernelCases } from './kernel-cases.js';
import { fullStepOf, modelCases } from './model-cases.js';
import { loadTf, useTfBackend } from './peers.js';
import { timePair } from './timing.js';

interface Options { filter: string[]; json: boolean; noPeer: boolean; backends: ('cpu' | 'webgpu')[]; threads: number | null; runs: number }

function parseArgs(args: string[]): Options {
  const o: Options = { filter: [], json: false, noPeer: false, backends: ['cpu', 'webgpu'], threads: null, runs: 5 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`bench: ${a} needs a value`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--no-peer') o.noPeer = true;
    else if (a === '--filter') o.filter = value().toLowerCase().split(',').filter(Boolean);
    else if (a === '--backend') {
      const v = value();
      if (v !== 'cpu' && v !== 'webgpu') throw new Error(`bench: --backend must be cpu or webgpu, got '${v}'`);
      o.backends = [v];
    } else if (a === '--threads') o.threads = positive(value(), a);
    else if (a === '--runs') o.runs = Math.max(5, positive(value(), a));
    else throw new Error(`bench: unknown option '${a}' (options: --filter X, --json, --no-peer, --backend cpu|webgpu, --threads N, --runs N)`);
  }
  return o;
}

function positive(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${name} must be a positive integer, got '${v}'`);
  return n;
}

async function ourBackend(kind: 'cpu' | 'webgpu'): Promise<Backend | null> {
  if (kind === 'cpu') return cpu;
  try {
    const { WebGpuBackend } = await import('../src/kernels/wgsl/index.js');
    return await WebGpuBackend.create({});
  } catch (e) {
    console.error(`bench: no WebGPU backend here (${e instanceof Error ? e.message : e}); WebGPU rows skipped`);
    return null;
  }
}

export async function main(args: string[]): Promise<number> {
  let o: Options;
  try { o = parseArgs(args); } catch (e) { console.error((e as Error).message); return 2; }
  if (o.threads !== null) setCpuThreads(o.threads);
  const cases = [...kernelCases(), ...modelCases()].filter((c) => o.filter.length === 0 || o.filter.some((f) => `${c.name} ${c.shape}`.toLowerCase().includes(f)));
  if (cases.length === 0) { console.error(`bench: no row matches --filter ${o.filter.join(',')}`); return 2; }
  const tf = await loadTf();
  const rows: Row[] = [];
  const adapters: Record<string, string> = {};
  const loadBefore = loadavg();
  for (const kind of o.backends) {
    const backend = await ourBackend(kind);
    if (!backend) continue;
    adapters[kind] = backend.describe();
    const peerName = `tfjs-${kind}`;
    const peerOk = await useTfBackend(tf, kind);
    if (!peerOk) console.error(`bench: ${peerName} did not start; rows without a peer`);
    for (const c of cases) {
      if (c.backends && !c.backends.includes(kind)) continue;
      const row = await runCase(c, backend, kind, peerOk ? peerName : null, o);
      if (!row) continue;
      const full = fullStepOf(row.name);
      const fullRow = full ? rows.find((r) => r.name === full && r.backend === kind) : undefined;
      if (fullRow) Object.assign(row, { peer: `ours ${full}`, peer_ms: fullRow.ours_ms, ratio: fullRow.ours_ms / row.ours_ms });
      rows.push(row);
      writeReport(rows, adapters, loadBefore, o); // after every row, so a long run that is stopped keeps what it measured
      if (o.json) console.log(JSON.stringify(row));
      else console.log(formatRow(row));
    }
    if (backend !== cpu) (backend as { destroy?: () => void }).destroy?.();
  }
  const file = writeReport(rows, adapters, loadBefore, o);
  if (!o.json) console.log(`load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} → ${loadavg().map((x) => x.toFixed(2)).join(' ')}; cpu threads ${cpuThreads()}; wrote ${file}`);
  return 0;
}

const startedAt = new Date().toISOString();

/** bench/results/<start time>[-<filter>][-t<threads>].json: machine, load, adapters and the rows so far. */
function writeReport(rows: Row[], adapters: Record<string, string>, loadBefore: number[], o: Options): string {
  const report = {
    date: startedAt, updated: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, load_before: loadBefore, load_now: loadavg() },
    cpu_threads: cpuThreads(), cpu_pool: cpuPoolInfo(), adapters, node: process.version, rows,
  };
  // this module runs from its bundle in node_modules/.cache/webpeft/ (see bench.mjs)
  const root = join(dirname(fileURLToPath(import.meta.url)), '../../../bench/results');
  const stamp = startedAt.slice(0, 16).replace(':', '');
  const file = join(root, `${stamp}${o.filter.length ? `-${o.filter.join('+').replace(/[^a-z0-9+.-]+/g, '_')}` : ''}${o.threads ? `-t${o.threads}` : ''}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

async function runCase(c: BenchCase, backend: Backend, kind: string, peer: string | null, o: Options): Promise<Row | null> {
  const ours = await c.ours(backend);
  const tf = peer ? await loadTf() : null;
  const theirs = tf && c.peer && !o.noPeer && !c.noPeerOn?.includes(kind as 'cpu') ? await c.peer(tf) : null;
  try {
    const t = await timePair(() => ours.run(), theirs ? () => theirs.run() : null, { warmup: 1, runs: Math.max(o.runs, c.runs ?? 5) });
    return {
      name: c.name, shape: c.shape, backend: kind, ours_ms: t.oursMs,
      peer: theirs ? peer : null, peer_ms: t.peerMs, ratio: t.peerMs === null ? null : t.peerMs / t.oursMs,
      gflops: c.flops ? c.flops / t.oursMs / 1e6 : null,
    };
  } catch (e) {
    console.error(`bench: ${c.name} ${c.shape} on ${kind} failed: ${e instanceof Error ? e.message : e}`);
    return null;
  } finally {
    ours.dispose();
    theirs?.dispose();
  }
}

function formatRow(r: Row): string {
  const f = (x: number | null, d = 1) => (x === null ? '—' : x.toFixed(d));
  return `${r.name.padEnd(26)} ${r.shape.padEnd(16)} ${r.backend.padEnd(7)} ours ${f(r.ours_ms).padStart(9)} ms` +
    `  ${(r.peer ?? '').padEnd(24)} ${f(r.peer_ms).padStart(9)} ms  ×${f(r.ratio, 2).padStart(6)}  ${r.gflops === null ? '' : `${f(r.gflops, 2)} GFLOP/s`}`;
}
