/** A plain-text table with aligned columns (numbers right-aligned). */
export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^[-+]?[\d.,e%-]+$/.test(String(r[c]))));
  const line = (r: string[]) => r.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** A progress bar on stderr (only when it is a terminal, or forced); `done()` clears it. */
export class Progress {
  private last = 0;
  constructor(private readonly label: string, private readonly total: number, private readonly enabled = Boolean(process.stderr.isTTY)) {}
  tick(i: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 80 && i < this.total) return;
    this.last = now;
    const width = 24;
    const filled = Math.round((width * i) / Math.max(1, this.total));
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${i}/${this.total} ${extra}\x1b[K`);
  }
  done(): void { if (this.enabled) process.stderr.write('\r\x1b[K'); }
}
