/** Types for scripts/build-web.mjs (imported by test/browser.test.ts). */
/** outfile: web/dist/main.js (web/dist/worker.js beside it); bytes: both bundles together. */
export function buildWeb(o?: { quiet?: boolean }): Promise<{ outfile: string; bytes: number }>;
