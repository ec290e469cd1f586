/**
 * Runs the fuzz cases of every target and collects failures (instead of stopping at the first), so one run reports
 * all it found: the case count per target, and each failure with its mutation and what went wrong.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { judgeRejection, makeTargets, writeCase } from './targets.js';

export interface FuzzReport { cases: number; accepted: number; rejected: number; failures: string[]; perTarget: string[] }

/** The slowest a single case may take before it counts as a hang. */
const HANG_MS = 5000;

export async function runFuzz(casesPerTarget: number, seed: number): Promise<FuzzReport> {
  const work = mkdtempSync(join(tmpdir(), 'webpeft-fuzz-'));
  const report: FuzzReport = { cases: 0, accepted: 0, rejected: 0, failures: [], perTarget: [] };
  try {
    const targets = await makeTargets(join(work, 'sources'));
    for (const target of targets) {
      const dir = join(work, 'case');
      let accepted = 0;
      let rejected = 0;
      const seen = new Set<string>();
      await fc.assert(fc.asyncProperty(target.mutation, async ({ file, bytes, label, valuesOnly }) => {
        writeCase(dir, target, file, bytes);
        if (process.env.FUZZ_TRACE) console.error(`${target.name} | ${file} | ${label}`);
        const started = performance.now();
        let problem: string | null = null;
        try {
          await target.load(dir, valuesOnly ?? false);
          accepted++;
        } catch (error) {
          rejected++;
          const verdict = judgeRejection(error);
          if (!verdict.ok) problem = verdict.problem;
        }
        const ms = performance.now() - started;
        if (ms > HANG_MS) problem = `took ${ms.toFixed(0)} ms (a hang?)`;
        if (problem !== null) {
          const key = `${target.name} | ${file}: ${problem.replaceAll(dir, 'DIR').replace(/\d+/g, 'N')}`;
          if (!seen.has(key)) report.failures.push(`${target.name} | ${file} | ${label} → ${problem.replaceAll(dir, 'DIR')}`);
          seen.add(key);
        }
        return true;
      }), { numRuns: casesPerTarget, seed, endOnFailure: true });
      report.cases += casesPerTarget;
      report.accepted += accepted;
      report.rejected += rejected;
      report.perTarget.push(`${target.name}: ${casesPerTarget} cases, ${rejected} rejected, ${accepted} accepted`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return report;
}
