/** Types for scripts/make-gpt2-tokenizer.mjs (imported by test/io-tokenizer.test.ts). */
export function buildGpt2TokenizerJson(encoder: Record<string, number>, vocabBpe: string): string;
export function buildGpt2TokenizerConfig(): Record<string, unknown>;
export function readGpt3EncoderFiles(): { encoder: Record<string, number>; vocabBpe: string };
