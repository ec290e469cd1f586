/** Types for scripts/serve-web.mjs (imported by the browser tests). */
import type { Server } from 'node:http';
export const ISOLATION_HEADERS: Record<string, string>;
export function fileFor(urlPath: string): string | null;
export function serveWeb(o?: { port?: number; host?: string }): Promise<{ server: Server; url: string }>;
