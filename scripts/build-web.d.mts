/** Types for scripts/build-web.mjs (imported by test/browser.test.ts). */
export function buildWeb(o?: { quiet?: boolean }): Promise<{ outfile: string; bytes: number }>;
