// Progress output for long commands: a redrawn bar on a terminal, plain lines otherwise (CI logs,
// pipes), always on stderr so stdout stays machine-readable (--json).
export interface Reporter {
  update(fraction: number, label: string): void;
  line(text: string): void;
  done(): void;
}

export function createReporter(stream: NodeJS.WriteStream = process.stderr): Reporter {
  // Behind cli/quiet.mjs's filter stderr is a pipe to a terminal: the parent says so.
  const viaFilter = stream === process.stderr && process.env.WHETSTONE_STDERR_TTY === '1';
  const tty = Boolean(stream.isTTY) || viaFilter;
  const columns = () => stream.columns ?? (viaFilter ? Number(process.env.WHETSTONE_STDERR_COLUMNS) || 100 : 100);
  let last = '';
  let lastPlain = 0;
  return {
    update(fraction, label) {
      const pct = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 24;
        const filled = Math.round(pct * width);
        last = `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label}`;
        stream.write(last.padEnd(columns() - 1).slice(0, columns() - 1));
      } else if (Date.now() - lastPlain > 2000 || pct >= 1) {
        lastPlain = Date.now();
        stream.write(`${label}\n`);
      }
    },
    line(text) {
      if (tty && last) stream.write('\r\x1b[K');
      stream.write(text + '\n');
      if (tty && last) stream.write(last);
    },
    done() {
      if (tty && last) stream.write('\n');
      last = '';
    },
  };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** An ETA for a progress line: "estimating…" until the engine's estimate exists (engine/util/eta.ts). */
export function formatEta(seconds: number | null): string {
  return seconds === null ? 'estimating…' : formatDuration(seconds);
}
