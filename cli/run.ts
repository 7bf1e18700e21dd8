// Runs a commander program so that user errors print one clear line (and a hint) and exit
// non-zero, never a stack trace. Unexpected errors keep their stack for bug reports.
import type { Command } from 'commander';
import { WhetstoneError } from '../engine/errors.ts';
import { fsError, fsErrorCode } from '../engine/io/fsErrors.ts';

export async function runCli(program: Command, argv: string[]): Promise<void> {
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });
  keepRunningWithoutOutput();
  try {
    await program.parseAsync(argv);
    // A command may set its own code (a training run stopped by a signal exits 128 + its number).
    process.exit(Number(process.exitCode ?? 0));
  } catch (e) {
    process.exit(reportError(e));
  }
}

/**
 * A closed terminal or a reader that went away (EPIPE, EIO) must not end a command that is still
 * saving its work: write errors on stdout/stderr are dropped, the command goes on without output.
 */
export function keepRunningWithoutOutput(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

export function reportError(e: unknown): number {
  const err = e as { code?: string; exitCode?: number };
  if (typeof err?.code === 'string' && err.code.startsWith('commander.')) {
    // commander already printed usage/help/version text.
    return err.exitCode ?? 1;
  }
  // A filesystem error that no command wrapped (a full disk, a read-only folder): still one line
  // naming the path, never a stack trace.
  const path = (e as { path?: unknown })?.path;
  if (!(e instanceof WhetstoneError) && fsErrorCode(e) && typeof path === 'string') {
    const syscall = (e as { syscall?: unknown }).syscall;
    e = fsError(e, path, typeof syscall === 'string' ? syscall : 'access it');
  }
  if (e instanceof WhetstoneError) {
    process.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
    return 1;
  }
  process.stderr.write(`internal error (please report): ${(e as Error)?.stack ?? String(e)}\n`);
  return 2;
}
