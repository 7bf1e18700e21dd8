// Stop requests from outside: Ctrl-C (SIGINT), closing the terminal (SIGHUP), `timeout`,
// `docker stop`, systemd and Kubernetes (SIGTERM) all mean "stop soon, keep the work". The first
// one asks the command to stop after the current step (it saves a checkpoint and the adapter);
// a second one aborts at once. The command then exits with 128 + the signal number (130, 129,
// 143), as a shell expects of a process ended by a signal.
//
// Wiring (train): `const stop = watchStopSignals(...)`; beforeStep returns 'stop' once
// stop.requested; after trainer.run() and the saves, `stop.dispose()` and exit with
// stop.exitCode when it is not null.
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export interface StopSignals {
  /** The first stop signal received, or null. */
  readonly signal: StopSignal | null;
  readonly requested: boolean;
  /** 128 + signal number once a signal arrived (130 SIGINT, 143 SIGTERM, 129 SIGHUP), else null. */
  readonly exitCode: number | null;
  /** Stops listening (the default handlers come back). */
  dispose(): void;
}

export interface WatchOptions {
  /** Called on the first signal (e.g. print "stopping after this step..."). */
  onFirst?(signal: StopSignal): void;
  /** Called on a second signal, before the process exits with its code (default: process.exit). */
  onAbort?(signal: StopSignal, exitCode: number): void;
}

export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

export function watchStopSignals(options: WatchOptions = {}): StopSignals {
  let first: StopSignal | null = null;
  const handlers = new Map<StopSignal, () => void>();
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
    dispose() {
      for (const [sig, h] of handlers) process.off(sig, h);
      handlers.clear();
    },
  };
  for (const sig of STOP_SIGNALS) {
    const handler = () => {
      if (first === null) {
        first = sig;
        options.onFirst?.(sig);
        return;
      }
      const code = signalExitCode(sig);
      if (options.onAbort) options.onAbort(sig, code);
      else process.exit(code);
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
  return state;
}
