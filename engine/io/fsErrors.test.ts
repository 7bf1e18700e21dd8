// Filesystem failures become one line naming the path: the mapping itself, and the Node writers
// that use it (hub cache, merged export) on a really full disk (a 64 KiB tmpfs, where this user
// may mount one). FolderRunStore's cases are in engine/train/runStoreNode.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeMergedExport } from '../lora/exportNode.ts';
import type { MergedExport } from '../lora/export.ts';
import { FileSystemError, fsError } from './fsErrors.ts';
import { NodeHubCache } from './hubCacheNode.ts';

const dirs: string[] = [];
const mounts: string[] = [];
afterAll(async () => {
  for (const m of mounts) spawnSync('umount', [m]);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function fullDisk(): Promise<string | null> {
  const d = await mkdtemp(join(tmpdir(), 'whetstone-full-'));
  dirs.push(d);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d]).status !== 0) return null;
  mounts.push(d);
  return d;
}
const big = () => new Uint8Array(300_000).fill(7);

describe('fsError', () => {
  it('maps errno codes to one line naming the path, and leaves other errors alone', () => {
    const e = fsError(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }), '/runs/a', 'save the checkpoint');
    expect(e).toBeInstanceOf(FileSystemError);
    expect((e as Error).message).toBe('/runs/a: cannot save the checkpoint: no space left on the device');
    expect((fsError(Object.assign(new Error('x'), { code: 'EROFS' }), '/p', 'write') as Error).message).toBe('/p: cannot write: the file system is read-only');
    expect((fsError(Object.assign(new Error('weird'), { code: 'EWEIRD' }), '/p', 'write') as Error).message).toBe('/p: cannot write: EWEIRD: weird');
    const plain = new TypeError('a bug');
    expect(fsError(plain, '/p', 'write')).toBe(plain);
  });
});

describe('Node writers on a full disk', () => {
  it('the hub cache: one line naming the cached file, no temporary left', async (t) => {
    const dir = await fullDisk();
    if (!dir) return t.skip();
    const cache = new NodeHubCache(dir);
    const err = await cache.write('org/model', 'main', 'model.safetensors', new Blob([big()]).stream()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileSystemError);
    expect((err as Error).message).toBe(`${join(dir, 'org', 'model', 'main', 'model.safetensors')}: cannot write to the hub cache: no space left on the device`);
    expect(await readdir(join(dir, 'org', 'model', 'main'))).toEqual([]);
  });

  it('the merged export: one line naming the output folder, no temporary left', async (t) => {
    const dir = await fullDisk();
    if (!dir) return t.skip();
    const bytes = big();
    const exp: MergedExport = {
      files: [{ name: 'model.safetensors', size: bytes.length, chunks: async function* () { yield bytes; } }],
      merged: [],
      dequantized: [],
      copied: 0,
      scale: 1,
      totalBytes: bytes.length,
    };
    const out = join(dir, 'merged');
    await expect(writeMergedExport(exp, out)).rejects.toThrow(`${out}: cannot write the merged model: no space left on the device`);
    expect(await readdir(out)).toEqual([]);
  });
});
