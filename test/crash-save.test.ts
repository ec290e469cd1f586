/**
 * A killed save never destroys a good adapter. The real command (`node bin/webpeft.mjs train --out DIR`) is killed
 * with SIGKILL at 10 random moments of its save over a DIR that holds a good adapter; after each kill DIR must load
 * and be byte-for-byte either the old adapter or the new one (old: 3 virtual tokens, new: 5 — a mix of the two is
 * the "shape [5, …], expected [3, …]" folder the issue found).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpu } from '../src/kernels/cpu/index.js';
import { baseOf } from '../src/peft/base.js';
import { loadAdapter } from '../src/train/adapter-dir.js';
import { loadBert } from '../src/train/model-dir.js';

const work = mkdtempSync(join(tmpdir(), 'webpeft-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const trainArgs = (virtualTokens: number, seed: number, out: string) => ['bin/webpeft.mjs', 'train', '--task', 'spam', '--method', 'ptuning',
  '--steps', '1', '--batch-size', '2', '--max-length', '12', '--virtual-tokens', String(virtualTokens), '--hidden', '128',
  '--eval-limit', '2', '--seed', String(seed), '--out', out];

/**
 * Runs the CLI; `killAfter(ms)` kills it that long after it prints its validation line (the save follows at once).
 * Resolves with the milliseconds from that line to the "saved" line (the save itself), and whether it was killed.
 */
function train(args: string[], killAfterMs: number | null): Promise<{ saveMs: number; killed: boolean; code: number | null; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lineAt = 0;
    let savedAt = 0;
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d; });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (!lineAt && /validation accuracy/.test(out)) {
        lineAt = performance.now();
        if (killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
      if (!savedAt && /\nsaved /.test(out)) savedAt = performance.now();
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => done({ saveMs: (savedAt || performance.now()) - lineAt, killed: signal === 'SIGKILL', code, err }));
  });
}

const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

beforeAll(() => {
  // the command runs the bundle in dist/: build it from these sources, so the test exercises this code
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  expect(built.status).toBe(0);
}, 120_000);

describe('SIGKILL during train --out DIR', () => {
  it('leaves DIR loadable and equal to the old or the new adapter, at 10 random moments of the save', async () => {
    const oldDir = join(work, 'old');
    const newDir = join(work, 'new');
    const first = await train(trainArgs(3, 1, oldDir), null);
    expect(first.code, first.err).toBe(0);
    // same seed (the new head and pooler are drawn from it, and an adapter must meet the base it was trained on)
    const reference = await train(trainArgs(5, 1, newDir), null);
    expect(reference.code, reference.err).toBe(0);
    const oldFiles = snapshot(oldDir);
    const newFiles = snapshot(newDir);
    expect(oldFiles['adapter_model.safetensors']).not.toEqual(newFiles['adapter_model.safetensors']);

    const { model } = await loadBert('bert-tiny', { backend: cpu, head: 'sequence-classification', numLabels: 2, seed: 1 });
    const base = baseOf(model);
    const outcomes: string[] = [];
    for (let trial = 0; trial < 10; trial++) {
      const parent = join(work, `trial-${trial}`);
      const dir = join(parent, 'adapter');
      cpSync(oldDir, dir, { recursive: true });
      const delay = Math.random() * 1.1 * reference.saveMs; // a random moment of the save (a few past its end)
      const run = await train(trainArgs(5, 1, dir), delay);
      const loaded = await loadAdapter(dir, base); // throws if DIR is half old, half new, or missing
      const files = snapshot(dir);
      const which = JSON.stringify(files) === JSON.stringify(oldFiles) ? 'old' : JSON.stringify(files) === JSON.stringify(newFiles) ? 'new' : 'mixed';
      expect(which, `trial ${trial}: killed ${run.killed} after ${delay.toFixed(0)} ms`).not.toBe('mixed');
      expect(loaded.state?.settings.virtualTokens).toBe(which === 'old' ? 3 : 5);
      outcomes.push(`${delay.toFixed(0)}ms:${run.killed ? 'killed' : 'finished'}:${which}`);
      // a second save over the same folder finishes cleanly after the kill (stale temporaries swept)
      if (trial === 9) {
        const again = await train(trainArgs(5, 1, dir), null);
        expect(again.code, again.err).toBe(0);
        expect(snapshot(dir)).toEqual(newFiles);
        expect(readdirSync(parent)).toEqual(['adapter']);
      }
    }
    console.log(`kill moments (save took ${reference.saveMs.toFixed(0)} ms uninterrupted): ${outcomes.join(', ')}`);
    expect(outcomes.filter((o) => o.includes('killed')).length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
