// FolderRunStore's guarantees, on real folders: one run per output folder (lock, stale locks taken
// over), no silent reuse of a folder holding a run, checkpoints and the final adapter replaced
// whole, a full disk (a small tmpfs where we may mount one, else an injected ENOSPC) reported as
// one line with what was saved before intact, metrics.jsonl one row per step across a resume, and
// temporaries of killed runs cleaned up.
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSystemError } from '../io/fsErrors.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import { LOCK_FILE, OutputDirLocked } from './outputLock.ts';
import { FolderRunStore, OutputDirHoldsRun, readCheckpointFolder, writeFileSynced, type FileWriter } from './runStoreNode.ts';
import { TRAINER_STATE } from './runStore.ts';

const dirs: string[] = [];
const mounts: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'whetstone-store-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const m of mounts) spawnSync('umount', [m]);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A small tmpfs (root only); null where mounting is not allowed. */
async function tmpfs(options: string): Promise<string | null> {
  const d = await tempDir();
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', d]).status !== 0) return null;
  mounts.push(d);
  return d;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const adapter = (tag: string, size = 16) => ({ [ADAPTER_CONFIG]: bytes(`{"r": 8, "tag": "${tag}"}`), [ADAPTER_WEIGHTS]: new Uint8Array(size).fill(tag.charCodeAt(0)) });
const checkpoint = (step: number) => ({ ...adapter(`ck${step}`), [TRAINER_STATE]: bytes(JSON.stringify({ global_step: step })) });
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

async function freshStore(dir?: string): Promise<FolderRunStore> {
  const store = new FolderRunStore(dir ?? (await tempDir()));
  await store.init({});
  return store;
}

describe('FolderRunStore: one run per output folder', () => {
  it('a second run on the same folder is refused while the first holds it, and gets it after', async () => {
    const dir = await tempDir();
    const first = await freshStore(dir);
    const second = new FolderRunStore(dir);
    await expect(second.init({})).rejects.toThrow(OutputDirLocked);
    await expect(second.init({})).rejects.toThrow(`${dir} is in use by another training run (process ${process.pid}`);
    await first.close();
    await second.init({});
    await second.close();
  });

  it('a lock of a live process on this host is honoured; a dead process\u2019s lock is taken over', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: hostname(), started: 'x' }));
    await expect(new FolderRunStore(dir).init({})).rejects.toThrow(`process ${process.ppid} on ${hostname()}`);
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), started: 'x' }));
    const store = await freshStore(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await store.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a folder holding another run unless overwrite or resume is asked', async () => {
    const dir = await tempDir();
    const old = await freshStore(dir);
    await old.saveCheckpoint(10, checkpoint(10));
    await old.appendMetrics({ step: 10, loss: 1 });
    await old.saveFinal(adapter('old'));
    await writeFile(join(dir, 'notes.txt'), 'mine');

    const again = new FolderRunStore(dir);
    const err = await again.init({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputDirHoldsRun);
    expect((err as Error).message).toBe(`${dir} already holds a training run (adapter_config.json, adapter_model.safetensors, checkpoint-10, metrics.jsonl)`);
    expect((err as OutputDirHoldsRun).hint).toBe(`Pass --overwrite_output_dir to replace it, --resume_from_checkpoint ${join(dir, 'checkpoint-10')} to continue it, or pick another --output_dir.`);
    expect((await readdir(dir)).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoint-10', 'metrics.jsonl', 'notes.txt']);

    const resumed = new FolderRunStore(dir);
    await resumed.init({ resume: { step: 10 } });
    expect((await readdir(dir)).sort()).toContain('checkpoint-10');
    await resumed.close();

    const overwritten = new FolderRunStore(dir);
    await overwritten.init({ overwrite: true });
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, 'notes.txt']);
    await overwritten.close();
  });
});

describe('FolderRunStore: whole saves, full disks', () => {
  it('replaces checkpoint-N and the final adapter whole, leaving no temporaries', async () => {
    const dir = await tempDir();
    const store = await freshStore(dir);
    await store.saveCheckpoint(5, checkpoint(5));
    await store.saveCheckpoint(5, { ...checkpoint(5), [TRAINER_STATE]: bytes('{"global_step": 5, "again": true}') });
    expect(new TextDecoder().decode((await readCheckpointFolder(join(dir, 'checkpoint-5')))[TRAINER_STATE])).toContain('again');
    await store.saveFinal(adapter('a'));
    expect((await readdir(dir)).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoint-5']);
  });

  it('a failed final save (injected ENOSPC on the weights) is one line; the old adapter and checkpoints are untouched', async () => {
    const dir = await tempDir();
    const good = await freshStore(dir);
    await good.saveCheckpoint(3, checkpoint(3));
    await good.saveFinal(adapter('o'));
    let fail = false;
    const writer: FileWriter = async (path, data) => {
      if (fail && path.endsWith(ADAPTER_WEIGHTS)) throw enospc();
      await writeFileSynced(path, data);
    };
    const store = new FolderRunStore(dir, { writeFile: writer });
    await store.init({ resume: true });
    await store.saveCheckpoint(6, checkpoint(6));
    fail = true;
    const err = await store.saveFinal(adapter('n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileSystemError);
    expect((err as Error).message).toBe(`${dir}: cannot save the final adapter: no space left on the device`);
    expect((err as FileSystemError).hint).toBe(`${join(dir, 'checkpoint-6')} is intact (--resume_from_checkpoint it). Free some disk space, then resume.`);
    expect(await readFile(join(dir, ADAPTER_CONFIG), 'utf8')).toContain('"tag": "o"');
    expect((await readFile(join(dir, ADAPTER_WEIGHTS)))[0]).toBe('o'.charCodeAt(0));
    expect((await readdir(dir)).filter((n) => n.startsWith('.') && n !== LOCK_FILE)).toEqual([]);
    expect(Object.keys(await readCheckpointFolder(join(dir, 'checkpoint-6'))).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, TRAINER_STATE]);
    await store.close();
  });

  it('a really full disk (64 KiB tmpfs, where mounting is allowed) fails checkpoint and final saves cleanly', async (t) => {
    const dir = await tmpfs('size=64k');
    if (!dir) return t.skip();
    const store = await freshStore(dir);
    await store.saveCheckpoint(1, checkpoint(1));
    await store.saveFinal(adapter('k'));
    const again = new FolderRunStore(dir);
    await again.init({ resume: true });
    await expect(again.saveCheckpoint(2, { ...checkpoint(2), [ADAPTER_WEIGHTS]: new Uint8Array(200_000) })).rejects.toThrow(`${join(dir, 'checkpoint-2')}: cannot save the checkpoint: no space left on the device`);
    await expect(again.saveFinal(adapter('z', 200_000))).rejects.toThrow(`${dir}: cannot save the final adapter: no space left on the device`);
    expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoint-1'].sort());
    expect(await readFile(join(dir, ADAPTER_CONFIG), 'utf8')).toContain('"tag": "k"');
    expect(Object.keys(await readCheckpointFolder(join(dir, 'checkpoint-1')))).toHaveLength(3);
    await again.close();
  });

  it('an output_dir that is a file or read-only is one line naming it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'out');
    await writeFile(file, 'x');
    await expect(new FolderRunStore(file).init({})).rejects.toThrow(`${file}: is a file, not a folder`);
    await expect(new FolderRunStore(join(file, 'sub')).init({})).rejects.toThrow(FileSystemError);
    const ro = process.getuid?.() === 0 ? await tmpfs('ro,size=64k') : dir;
    if (!ro) return;
    if (ro === dir) await chmod(dir, 0o500);
    const err = await new FolderRunStore(join(ro, 'run')).init({}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileSystemError);
    expect((err as Error).message).toMatch(new RegExp(`^${join(ro, 'run')}: cannot create the output folder: (the file system is read-only|permission denied)$`));
    if (ro === dir) await chmod(dir, 0o700);
  });
});

describe('FolderRunStore: metrics and temporaries across kills and resumes', () => {
  it('metrics.jsonl has one row per step after a kill and a resume (rows after the checkpoint dropped)', async () => {
    const dir = await tempDir();
    const first = await freshStore(dir);
    for (let s = 1; s <= 7; s++) await first.appendMetrics({ step: s, loss: s });
    await writeFile(join(dir, 'metrics.jsonl'), (await readFile(join(dir, 'metrics.jsonl'), 'utf8')) + '{"step": 8, "lo'); // torn by kill -9
    await first.close();
    const resumed = new FolderRunStore(dir);
    await resumed.init({ resume: { step: 5 } });
    for (let s = 6; s <= 10; s++) await resumed.appendMetrics({ step: s, loss: s * 10 });
    const rows = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rows[6].loss).toBe(70);
    await resumed.close();
  });

  it('removes temporaries of dead runs at init, never those of a live process or other files', async () => {
    const dir = await tempDir();
    const dead = deadPid();
    for (const name of [`.checkpoint-3.tmp-${dead}`, `.final.tmp-${dead}`, `.checkpoint-4.tmp-${process.ppid}`, '.checkpoint-9.tmp-x', 'my.tmp-1']) {
      await mkdir(join(dir, name));
    }
    await writeFile(join(dir, `.adapter_model.safetensors.tmp-${dead}`), 'x');
    const store = await freshStore(dir);
    expect((await readdir(dir)).sort()).toEqual([`.checkpoint-4.tmp-${process.ppid}`, '.checkpoint-9.tmp-x', LOCK_FILE, 'my.tmp-1'].sort());
    await store.close();
  });
});

describe('readCheckpointFolder: a wrong resume path is one clear line', () => {
  it('missing, a file, or a run folder (suggesting its latest checkpoint); subfolders are ignored', async () => {
    const dir = await tempDir();
    await expect(readCheckpointFolder(join(dir, 'nope'))).rejects.toThrow(`${join(dir, 'nope')}: does not exist`);
    await writeFile(join(dir, 'f'), 'x');
    await expect(readCheckpointFolder(join(dir, 'f'))).rejects.toThrow('is a file, not a checkpoint folder');
    await mkdir(join(dir, 'checkpoint-2'));
    await mkdir(join(dir, 'checkpoint-10'));
    const err = await readCheckpointFolder(dir).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${dir}: is a run folder, not a checkpoint`);
    expect((err as { hint: string }).hint).toContain(join(dir, 'checkpoint-10'));
    await writeFile(join(dir, 'checkpoint-10', TRAINER_STATE), '{}');
    await mkdir(join(dir, 'checkpoint-10', 'extra'));
    expect(Object.keys(await readCheckpointFolder(join(dir, 'checkpoint-10')))).toEqual([TRAINER_STATE]);
  });
});
