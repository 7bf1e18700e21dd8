// Typed errors that reach the user. Each says what went wrong and what to do about it; the CLI
// prints `message` and `hint` (never a stack trace) and the worker turns them into plain ApiError
// objects (engine/api/errors.ts). Every engine folder may import this file; it imports nothing.
// The subclasses live with their concern: GPU errors in gpu/errors.ts, file errors in io/errors.ts,
// dataset errors in data/validate.ts, recipe errors in recipe/schema.ts.

export class WhetstoneError extends Error {
  /** What the user can do about it, in one sentence. */
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** 1536 -> "1.5 KiB" (binary units, like the memory estimate and the studio show them). */
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
