/**
 * Fuzzing the files users bring and the files this project writes (test/fuzz/): every mutated config.json,
 * model.safetensors, tokenizer.json, adapter and training state is either rejected with a typed one-line error or
 * loads into something that works; never a raw TypeError/RangeError, never a hang, never accepted garbage.
 * `npm test` runs a fast set; `npm run fuzz` (FUZZ_CASES per target) runs ≥ 10,000 cases and prints the counts.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz/run.js';

const perTarget = Number(process.env.FUZZ_CASES ?? 40);
const seed = Number(process.env.FUZZ_SEED ?? 20261202);

describe('fuzzed files', () => {
  it('every mutation is a typed one-line rejection or a folder that works', async () => {
    const report = await runFuzz(perTarget, seed);
    console.log([`fuzz: ${report.cases} cases (seed ${seed}), ${report.rejected} rejected, ${report.accepted} accepted, ${report.failures.length} distinct failures`,
      ...report.perTarget.map((line) => `  ${line}`), ...report.failures.map((f) => `  FAIL ${f}`)].join('\n'));
    expect(report.failures).toEqual([]);
  }, 3_600_000);
});
