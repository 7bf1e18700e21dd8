// Small display helpers for the studio (the engine has its own; app/ does not import engine code).

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The message as a sentence: a final period unless it already ends with one (or ?, !). */
export function asSentence(message: string): string {
  const m = message.trim();
  return /[.!?]\)?$/.test(m) ? m : `${m}.`;
}
