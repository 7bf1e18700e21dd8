// What is in a run's output folder (Node): the files of a run (adapter, checkpoint-N/,
// metrics.jsonl), our temporaries left by a killed run, and reading a checkpoint folder back with
// one clear line for every way the path can be wrong.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../errors.ts';
import { CheckpointError } from '../io/errors.ts';
import { withFsErrors } from '../io/fsErrors.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import { processAlive } from './outputLock.ts';
import { TRAINER_STATE, type FileMap } from './runStore.ts';

export const METRICS_FILE = 'metrics.jsonl';
const CHECKPOINT_RE = /^checkpoint-(\d+)$/;
/** Our temporaries: `.checkpoint-N.tmp-PID`, `.checkpoint-N.old-PID`, `.final.tmp-PID`, `.<file>.tmp-PID`. */
const TEMP_RE = /^\.(?:checkpoint-\d+\.(?:tmp|old)|final\.tmp|[\w.-]+\.tmp)-(\d+)$/;

export class OutputDirHoldsRun extends WhetstoneError {
  readonly found: string[];
  constructor(dir: string, found: string[], latestCheckpoint: number | null) {
    const resume = latestCheckpoint === null ? '' : `, --resume_from_checkpoint ${join(dir, `checkpoint-${latestCheckpoint}`)} to continue it`;
    super(
      `${dir} already holds a training run (${found.slice(0, 4).join(', ')}${found.length > 4 ? ', ...' : ''})`,
      `Pass --overwrite_output_dir to replace it${resume}, or pick another --output_dir.`,
    );
    this.found = found;
  }
}

/** Steps of the checkpoint-N folders in `dir`, ascending. */
export async function checkpointSteps(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && CHECKPOINT_RE.test(e.name))
    .map((e) => Number(CHECKPOINT_RE.exec(e.name)![1]))
    .sort((a, b) => a - b);
}

/** The newest checkpoint folder of a run (HF's get_last_checkpoint), or null. */
export async function findLatestCheckpoint(dir: string): Promise<string | null> {
  const steps = await checkpointSteps(dir);
  return steps.length ? join(dir, `checkpoint-${steps[steps.length - 1]}`) : null;
}

/** Names in `dir` that belong to a run: adapter files, checkpoint-N/, a non-empty metrics.jsonl. */
export async function runArtifacts(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name === ADAPTER_CONFIG || e.name === ADAPTER_WEIGHTS) found.push(e.name);
    else if (e.isDirectory() && CHECKPOINT_RE.test(e.name)) found.push(e.name);
    else if (e.name === METRICS_FILE && (await stat(join(dir, e.name))).size > 0) found.push(e.name);
  }
  return found.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Removes temporaries a killed run left (only our own names, only when the process named in them
 * is gone or is this one). The caller holds the folder's lock, so no live run is writing them.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && processAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * metrics.jsonl rows up to `step` (inclusive), as text: a resumed run logs the steps after its
 * checkpoint again, so the rows a killed run wrote after the checkpoint go (and a torn last line).
 */
export function metricsUpTo(text: string, step: number): string {
  const keep: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      continue; // torn by a kill mid-append
    }
    const s = (row as { step?: unknown })?.step;
    if (typeof s === 'number' && s <= step) keep.push(line);
  }
  return keep.map((l) => l + '\n').join('');
}

/**
 * Reads every file of a checkpoint folder. A path that is missing, a file, or a run folder (one
 * holding checkpoint-N/ folders) is a CheckpointError saying what to pass instead.
 */
export async function readCheckpointFolder(dir: string): Promise<FileMap> {
  const st = await stat(dir).catch(() => null);
  const hint = 'Pass a checkpoint-N folder written by whetstone train (e.g. runs/sft/checkpoint-50).';
  if (!st) throw new CheckpointError(dir, 'does not exist', hint);
  if (!st.isDirectory()) throw new CheckpointError(dir, 'is a file, not a checkpoint folder', hint);
  const entries = await withFsErrors(dir, 'list the checkpoint folder', () => readdir(dir, { withFileTypes: true }));
  if (!entries.some((e) => e.name === TRAINER_STATE)) {
    const latest = await findLatestCheckpoint(dir);
    if (latest) throw new CheckpointError(dir, 'is a run folder, not a checkpoint', `Pass one of its checkpoint-N folders, e.g. ${latest}.`);
  }
  const out: FileMap = {};
  for (const e of entries) {
    if (!e.isFile()) continue; // subfolders are not part of a checkpoint
    const path = join(dir, e.name);
    out[e.name] = new Uint8Array(await withFsErrors(path, 'read the checkpoint file', () => readFile(path)));
  }
  return out;
}
