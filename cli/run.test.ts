// reportError: user errors are one line (and a hint), raw filesystem errors too; only bugs keep a stack.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reportError } from './run.ts';

afterEach(() => vi.restoreAllMocks());

function report(e: unknown): { code: number; text: string } {
  let text = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  const code = reportError(e);
  vi.restoreAllMocks();
  return { code, text };
}

describe('reportError', () => {
  it('prints a filesystem error nobody wrapped as one line naming the path', () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, write '/runs/x/training_args.json'"), { code: 'ENOSPC', syscall: 'write', path: '/runs/x/training_args.json' });
    const { code, text } = report(e);
    expect(code).toBe(1);
    expect(text).toBe('error: /runs/x/training_args.json: cannot write: no space left on the device\nhint: Free some disk space (or pick a folder on another disk) and run again.\n');
  });

  it('keeps the stack only for real bugs', () => {
    const { code, text } = report(new TypeError('x is undefined'));
    expect(code).toBe(2);
    expect(text).toMatch(/^internal error \(please report\): TypeError: x is undefined\n\s+at /);
  });
});
