// Stop requests from outside: Ctrl-C (SIGINT), closing the terminal (SIGHUP), `timeout`,
// `docker stop`, systemd and Kubernetes (SIGTERM) all mean "stop soon, keep the work". The first
// one asks the command to stop after the current step (it saves a checkpoint and the adapter);
// a second one aborts at once. The command then exits with 128 + the signal number (130, 129,
// 143), as a shell expects of a process ended by a signal.
//
// Behind cli/bin.js the CLI is a child whose parent forwards the signals it gets (cli/quiet.mjs).
// A process manager that signals every process of the group (systemd's default) then reaches the
// CLI twice, directly and forwarded, within milliseconds: a repeat of the first signal that soon
// is the same request, not an abort. And when the parent is gone (killed, its terminal closed),
// nobody is left to ask, so the child stops as for SIGHUP.
//
// Wiring (train): `const stop = watchStopSignals(...)`; beforeStep returns 'stop' once
// stop.requested; after trainer.run() and the saves, `stop.dispose()` and exit with
// stop.exitCode when the run was cut short.
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** A repeat of the first signal within this many milliseconds is the same request (forwarded + direct). */
export const REPEAT_WINDOW_MS = 200;

export interface StopSignals {
  /** The first stop signal received, or null. */
  readonly signal: StopSignal | null;
  readonly requested: boolean;
  /** 128 + signal number once a signal arrived (130 SIGINT, 143 SIGTERM, 129 SIGHUP), else null. */
  readonly exitCode: number | null;
  /** Acts as if `signal` arrived (a first request, or an abort when one came before). */
  request(signal: StopSignal): void;
  /** Stops listening (the default handlers come back). */
  dispose(): void;
}

export interface WatchOptions {
  /** Called on the first signal (e.g. print "stopping after this step..."). */
  onFirst?(signal: StopSignal): void;
  /** Called on a second signal, before the process exits with its code (default: process.exit). */
  onAbort?(signal: StopSignal, exitCode: number): void;
  /** Treat the parent process going away as SIGHUP (checked every second); for the CLI child of cli/bin.js. */
  watchParent?: boolean;
}

export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

export function watchStopSignals(options: WatchOptions = {}): StopSignals {
  let first: StopSignal | null = null;
  let firstAt = 0;
  const handlers = new Map<StopSignal, () => void>();
  let parentTimer: ReturnType<typeof setInterval> | null = null;
  const receive = (sig: StopSignal) => {
    if (first === null) {
      first = sig;
      firstAt = Date.now();
      options.onFirst?.(sig);
      return;
    }
    if (sig === first && Date.now() - firstAt < REPEAT_WINDOW_MS) return; // the same request, twice delivered
    const code = signalExitCode(sig);
    if (options.onAbort) options.onAbort(sig, code);
    else process.exit(code);
  };
  const state: StopSignals = {
    get signal() {
      return first;
    },
    get requested() {
      return first !== null;
    },
    get exitCode() {
      return first === null ? null : signalExitCode(first);
    },
    request: receive,
    dispose() {
      for (const [sig, h] of handlers) process.off(sig, h);
      handlers.clear();
      if (parentTimer) clearInterval(parentTimer);
      parentTimer = null;
    },
  };
  for (const sig of STOP_SIGNALS) {
    const handler = () => receive(sig);
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
  if (options.watchParent) {
    const parent = process.ppid;
    parentTimer = setInterval(() => {
      if (process.ppid === parent || first !== null) return;
      clearInterval(parentTimer!);
      parentTimer = null;
      receive('SIGHUP');
    }, 1000);
    parentTimer.unref();
  }
  return state;
}
