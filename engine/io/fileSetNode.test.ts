// openNodeFolder on a Hugging Face cache snapshot (every file a symlink into ../../blobs) and on
// folders whose links lead elsewhere: followed inside the model's real tree, never outside it.
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from './checkpoint.ts';
import { readText } from './byteSource.ts';
import { CheckpointError } from './errors.ts';
import { openNodeFolder } from './fileSetNode.ts';

const TINY = new URL('../model/fixtures/tiny-llama/', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** ~/.cache/huggingface/hub/models--whetstone--tiny/{blobs/<n>, snapshots/abc123/<file> -> ../../blobs/<n>} */
async function hfSnapshot(): Promise<{ hub: string; snapshot: string }> {
  const hub = await mkdtemp(join(tmpdir(), 'whetstone-hfcache-'));
  dirs.push(hub);
  const repo = join(hub, 'models--whetstone--tiny');
  const snapshot = join(repo, 'snapshots', 'abc123');
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await mkdir(snapshot, { recursive: true });
  for (const [i, name] of (await readdir(TINY)).entries()) {
    await copyFile(join(TINY, name), join(repo, 'blobs', `blob${i}`));
    await symlink(`../../blobs/blob${i}`, join(snapshot, name));
  }
  return { hub, snapshot };
}

describe('openNodeFolder: symbolic links', () => {
  it('loads a Hugging Face cache snapshot folder (every file a link into ../../blobs)', async () => {
    const { snapshot } = await hfSnapshot();
    const files = await openNodeFolder(snapshot);
    expect(files.list()).toEqual((await readdir(TINY)).sort());
    const ck = await openCheckpoint(files);
    expect(ck.config.model_type).toBe('llama');
    expect(ck.tensors.size).toBeGreaterThan(10);
    expect(files.open('config.json').name).toBe(join(snapshot, 'config.json'));
  });

  it('follows links inside the folder, never to files outside its tree', async () => {
    const { hub, snapshot } = await hfSnapshot();
    const secret = join(hub, 'secret.txt');
    await writeFile(secret, 'not yours');
    // A harmless extra file that links outside is left out...
    await symlink(secret, join(snapshot, 'README.md'));
    // ...a link inside the folder is followed, and a link loop does not hang.
    await mkdir(join(snapshot, 'sub'));
    await symlink('../config.json', join(snapshot, 'sub', 'config-copy.json'));
    await symlink('..', join(snapshot, 'sub', 'loop'));
    const files = await openNodeFolder(snapshot);
    expect(files.list()).not.toContain('README.md');
    expect(files.list()).toContain('sub/config-copy.json');
    expect(await readText(files.open('sub/config-copy.json'))).toContain('llama');
    expect(() => files.open('README.md')).toThrow(CheckpointError);

    // A file we would load that links outside is refused by name.
    await rm(join(snapshot, 'config.json'));
    await symlink(secret, join(snapshot, 'config.json'));
    const err = await openNodeFolder(snapshot).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(`${join(snapshot, 'config.json')}: is a symbolic link to ${secret}, outside the model folder; refusing to follow it`);
  });

  it('a plain folder allows only its own tree; a broken link to a model file is named', async () => {
    const base = await mkdtemp(join(tmpdir(), 'whetstone-links-'));
    dirs.push(base);
    const model = join(base, 'model');
    await mkdir(model);
    await copyFile(join(TINY, 'config.json'), join(base, 'outside-config.json'));
    await symlink('../outside-config.json', join(model, 'config.json'));
    await expect(openNodeFolder(model)).rejects.toThrow('outside the model folder');
    await rm(join(model, 'config.json'));
    await symlink('missing.json', join(model, 'config.json'));
    await expect(openNodeFolder(model)).rejects.toThrow(`${join(model, 'config.json')}: is a broken symbolic link (an incomplete download?)`);
  });
});
