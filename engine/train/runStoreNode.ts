// RunStore in a Node folder, laid out like the HF Trainer's output_dir:
//   output_dir/adapter_config.json, adapter_model.safetensors, metrics.jsonl, checkpoint-N/...
// Guarantees:
// - one run per folder: a lock file (outputLock.ts), and a folder already holding a run is refused
//   unless the run is resumed or overwrite is asked (--resume_from_checkpoint / --overwrite_output_dir);
// - a checkpoint is written to a temporary folder (files synced) and renamed whole; an older
//   checkpoint-N of the same step is swapped out only once the new one is complete;
// - the final adapter is written whole to a temporary folder first, then moved in with
//   adapter_config.json last (the old config removed first), so the folder never pairs a config
//   with weights of another save; checkpoints are never deleted by the store;
// - resuming drops metrics.jsonl rows after the resumed step, so each step has one row;
// - temporaries of killed runs are removed at init; every filesystem error is one line naming the
//   path (a full disk included), and what was saved before is left as it was.
import { appendFile, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileSystemError, fsError, fsErrorCode, withFsErrors } from '../io/fsErrors.ts';
import { ADAPTER_CONFIG } from '../lora/peft.ts';
import { acquireOutputLock, type OutputLock } from './outputLock.ts';
import { METRICS_FILE, OutputDirHoldsRun, checkpointSteps, metricsUpTo, removeStaleTemporaries, runArtifacts } from './runFolder.ts';
import type { FileMap, RunStore } from './runStore.ts';

export { readCheckpointFolder, findLatestCheckpoint, OutputDirHoldsRun } from './runFolder.ts';

export interface FolderRunStoreInit {
  /** Continue the run in this folder; with a step, metrics rows after it are dropped. */
  resume?: boolean | { step: number };
  /** Replace a run already in the folder (TRL's overwrite_output_dir): its checkpoints, adapter and metrics are removed. */
  overwrite?: boolean;
}

/** Writes one file completely and syncs it (injectable so tests can fail a write). */
export type FileWriter = (path: string, data: Uint8Array) => Promise<void>;

export const writeFileSynced: FileWriter = async (path, data) => {
  const fh = await open(path, 'w');
  try {
    let done = 0;
    while (done < data.byteLength) done += (await fh.write(data, done, data.byteLength - done)).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
};

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir says ENOENT where the parent is
 * read-only (EROFS) or not writable, so the last level is made on its own first.
 */
async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = fsErrorCode(e);
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw e;
    await mkdir(dirname(dir), { recursive: true });
    await mkdir(dir).catch((e2: unknown) => {
      if (fsErrorCode(e2) !== 'EEXIST') throw e2;
    });
  }
}

export class FolderRunStore implements RunStore {
  private lock: OutputLock | null = null;
  private lastCheckpoint: number | null = null;
  private readonly writeFile: FileWriter;

  constructor(
    readonly dir: string,
    options: { writeFile?: FileWriter } = {},
  ) {
    this.writeFile = options.writeFile ?? writeFileSynced;
  }

  /** Creates/locks the folder and checks what it holds. `true`/`false` = resume or not (no metrics trimming). */
  async init(options: boolean | FolderRunStoreInit = {}): Promise<void> {
    const opts: FolderRunStoreInit = typeof options === 'boolean' ? { resume: options } : options;
    const dir = this.dir;
    const st = await stat(dir).catch(() => null);
    if (st && !st.isDirectory()) throw new FileSystemError(dir, 'ENOTDIR', `${dir}: is a file, not a folder`, 'Pass a folder path for --output_dir.');
    await withFsErrors(dir, 'create the output folder', () => makeFolder(dir));
    this.lock = await acquireOutputLock(dir);
    try {
      await withFsErrors(dir, 'clean up temporary files', () => removeStaleTemporaries(dir));
      if (!opts.resume) {
        const found = await runArtifacts(dir);
        if (found.length && !opts.overwrite) {
          const steps = await checkpointSteps(dir);
          throw new OutputDirHoldsRun(dir, found, steps.length ? steps[steps.length - 1] : null);
        }
        for (const name of found) await withFsErrors(join(dir, name), 'remove the old run', () => rm(join(dir, name), { recursive: true, force: true }));
      } else if (typeof opts.resume === 'object') {
        await this.trimMetrics(opts.resume.step);
      }
      const steps = await checkpointSteps(dir);
      this.lastCheckpoint = steps.length ? steps[steps.length - 1] : null;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** Releases the folder's lock (also done by saveFinal, and at process exit). */
  async close(): Promise<void> {
    await this.lock?.release();
    this.lock = null;
  }

  async saveCheckpoint(step: number, files: FileMap): Promise<void> {
    const final = join(this.dir, `checkpoint-${step}`);
    const tmp = join(this.dir, `.checkpoint-${step}.tmp-${process.pid}`);
    const old = join(this.dir, `.checkpoint-${step}.old-${process.pid}`);
    try {
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const [name, data] of Object.entries(files)) await this.writeFile(join(tmp, name), data);
      const replacing = await stat(final).then(() => true, () => false);
      if (replacing) await rename(final, old);
      await rename(tmp, final);
      if (replacing) await rm(old, { recursive: true, force: true });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw fsError(e, final, 'save the checkpoint', `${this.keptHint()} Free some disk space, then resume.`);
    }
    this.lastCheckpoint = step;
  }

  async saveFinal(files: FileMap): Promise<void> {
    const tmp = join(this.dir, `.final.tmp-${process.pid}`);
    // adapter_config.json goes last: a loader finds a config only beside the weights it describes.
    const names = Object.keys(files).sort((a, b) => Number(a === ADAPTER_CONFIG) - Number(b === ADAPTER_CONFIG));
    try {
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const name of names) await this.writeFile(join(tmp, name), files[name]);
      if (files[ADAPTER_CONFIG]) await rm(join(this.dir, ADAPTER_CONFIG), { force: true });
      for (const name of names) await rename(join(tmp, name), join(this.dir, name));
      await rm(tmp, { recursive: true, force: true });
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw fsError(e, this.dir, 'save the final adapter', `${this.keptHint()} Free some disk space, then resume.`);
    }
    await this.close();
  }

  async appendMetrics(row: Record<string, number | string>): Promise<void> {
    const path = join(this.dir, METRICS_FILE);
    await withFsErrors(path, 'append to', () => appendFile(path, JSON.stringify(row) + '\n'), `${this.keptHint()} Free some disk space, then resume.`);
  }

  /** A small file of the run (training_args.json), replaced atomically. */
  async writeRunFile(name: string, data: Uint8Array): Promise<void> {
    const path = join(this.dir, name);
    const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
    try {
      await this.writeFile(tmp, data);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw fsError(e, path, 'write');
    }
  }

  private async trimMetrics(step: number): Promise<void> {
    const path = join(this.dir, METRICS_FILE);
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) return;
    const kept = metricsUpTo(text, step);
    if (kept !== text) await this.writeRunFile(METRICS_FILE, new TextEncoder().encode(kept));
  }

  private keptHint(): string {
    return this.lastCheckpoint === null
      ? 'Nothing saved before was changed.'
      : `${join(this.dir, `checkpoint-${this.lastCheckpoint}`)} is intact (--resume_from_checkpoint it).`;
  }
}
