// Small display helpers for the studio. Byte sizes are the engine's (engine/errors.ts is pure),
// so the memory estimate and the studio print them alike.

export { formatBytes } from '../engine/errors.ts';

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The message as a sentence: a final period unless it already ends with one (or ?, !). */
export function asSentence(message: string): string {
  const m = message.trim();
  return /[.!?]\)?$/.test(m) ? m : `${m}.`;
}
