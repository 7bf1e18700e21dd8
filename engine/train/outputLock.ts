// One run per output folder: `<output_dir>/.whetstone.lock` holds {pid, host, started} of the run
// that owns the folder, created with O_EXCL so two runs starting at once cannot both get it. A
// lock whose process is gone (same host, pid no longer alive: a kill -9, a crash) is stale and
// taken over; a lock from another host cannot be checked and counts as held. The lock is
// released by release(), and at process exit as a last resort. Node only.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { open, readFile, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { WhetstoneError } from '../errors.ts';
import { fsError, fsErrorCode } from '../io/fsErrors.ts';

export const LOCK_FILE = '.whetstone.lock';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
}

export class OutputDirLocked extends WhetstoneError {
  readonly owner: LockOwner | null;
  constructor(dir: string, owner: LockOwner | null) {
    const who = owner ? `process ${owner.pid} on ${owner.host}, started ${owner.started}` : 'another run';
    super(
      `${dir} is in use by another training run (${who})`,
      `Wait for that run to finish or stop it, or pick another --output_dir. If no such run exists any more, delete ${join(dir, LOCK_FILE)}.`,
    );
    this.owner = owner;
  }
}

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return fsErrorCode(e) === 'EPERM';
  }
}

/** Locks held by this process, by lock path: a second store on the same folder in-process is refused too. */
const held = new Set<string>();

export interface OutputLock {
  readonly path: string;
  release(): Promise<void>;
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, started: String(v.started ?? '?') };
  } catch {
    // unreadable or half-written (the owner died between create and write): judged below
  }
  return null;
}

/** Whether the lock at `path` belongs to a run that is still alive (ours in this process included). */
export async function lockIsLive(path: string): Promise<boolean> {
  if (held.has(path)) return true;
  const owner = await readOwner(path);
  if (!owner) return false;
  if (owner.host !== hostname()) return true;
  return owner.pid !== process.pid && processAlive(owner.pid);
}

/** Takes the folder's lock (the folder must exist). Throws OutputDirLocked when a live run holds it. */
export async function acquireOutputLock(dir: string): Promise<OutputLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (held.has(path)) throw new OutputDirLocked(dir, { pid: process.pid, host: hostname(), started: 'in this process' });
    let fh;
    try {
      fh = await open(path, 'wx');
    } catch (e) {
      if (fsErrorCode(e) !== 'EEXIST') throw fsError(e, dir, 'create the run lock file');
      if (await lockIsLive(path)) throw new OutputDirLocked(dir, await readOwner(path));
      // Stale: its process is gone. Remove it and try again (another starter may win the race).
      await rm(path, { force: true });
      continue;
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    try {
      await fh.writeFile(JSON.stringify(owner) + '\n');
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(path, { force: true });
      throw fsError(e, dir, 'write the run lock file');
    }
    await fh.close();
    held.add(path);
    const onExit = () => {
      if (held.has(path)) rmSync(path, { force: true });
    };
    process.once('exit', onExit);
    return {
      path,
      async release() {
        if (!held.delete(path)) return;
        process.off('exit', onExit);
        await rm(path, { force: true });
      },
    };
  }
  throw new OutputDirLocked(dir, await readOwner(path));
}
