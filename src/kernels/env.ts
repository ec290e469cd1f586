/** An environment variable where the host has them (Node); undefined in a browser. Browser-safe: no Node types. */
export function envVar(name: string): string | undefined {
  const host = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return host?.env?.[name];
}
