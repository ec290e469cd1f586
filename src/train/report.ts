// placeholder until the report generator lands (being written now)
import type { CompareResult } from './results.js';
export function renderReport(r: CompareResult): string { return `<!doctype html><html><body><pre>${JSON.stringify(r.methods.map((m) => m.label))}</pre></body></html>`; }
