// Stop signals during `whetstone train` (cli/stopSignals.ts): before training starts there is
// nothing to save, so a signal exits at once (128 + its number; the folder's lock goes with the
// process); once training runs, the first signal stops after the current step, which saves a
// checkpoint and the adapter, and a second one aborts without saving.
import type { Reporter } from './progress.ts';
import { watchStopSignals, type StopSignal, type StopSignals } from './stopSignals.ts';

export interface TrainingStops extends StopSignals {
  /** From now on a signal stops the run after its step instead of exiting at once. */
  training(): void;
}

const again = (s: StopSignal) => (s === 'SIGINT' ? 'Ctrl-C again' : `${s} again`);

export function watchTrainingStops(out: Reporter): TrainingStops {
  let running = false;
  const stop = watchStopSignals({
    watchParent: process.env.WHETSTONE_CLI_CHILD === '1',
    onFirst: (s) => {
      if (!running) {
        out.line(`${s}: stopped before training started; nothing to save`);
        process.exit(stop.exitCode ?? 1);
      }
      out.line(`${s}: stopping after this step, saving a checkpoint and the adapter (${again(s)} aborts without saving)...`);
    },
    onAbort: (s, code) => {
      out.line(`${s}: aborted; steps since the last checkpoint are not saved`);
      process.exit(code);
    },
  });
  return Object.assign(stop, {
    training: () => {
      running = true;
    },
  });
}
