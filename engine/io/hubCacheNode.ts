// Node-only HubCache in a folder: <root>/<owner>/<name>/<revision>/<path>, default root
// ~/.cache/whetstone/hub. Files are written to a temporary name and renamed, so a crash never
// leaves a partial file under the real name.
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ByteSource } from './byteSource.ts';
import { NodeFileSource } from './byteSourceNode.ts';
import { fsError, withFsErrors } from './fsErrors.ts';
import { checkRepoPath, type HubCache, type HubFileEntry } from './hubCache.ts';

const CACHE_HINT = 'Free some disk space (or point the cache elsewhere), then load the model again; files already cached are kept.';

export const DEFAULT_HUB_CACHE = join(homedir(), '.cache', 'whetstone', 'hub');
const MANIFEST = '.whetstone-manifest.json';

export class NodeHubCache implements HubCache {
  readonly name: string;
  readonly root: string;
  constructor(root: string = DEFAULT_HUB_CACHE) {
    this.root = root;
    this.name = root;
  }

  /** The folder holding repo@revision (revision URL-encoded: "refs/pr/1" -> "refs%2Fpr%2F1"). */
  dir(repo: string, revision: string): string {
    checkRepoPath(repo);
    return join(this.root, ...repo.split('/'), encodeURIComponent(revision));
  }

  private file(repo: string, revision: string, path: string): string {
    checkRepoPath(path);
    return join(this.dir(repo, revision), ...path.split('/'));
  }

  async readManifest(repo: string, revision: string): Promise<HubFileEntry[] | null> {
    try {
      const v = JSON.parse(await readFile(join(this.dir(repo, revision), MANIFEST), 'utf8')) as unknown;
      return Array.isArray(v) ? (v as HubFileEntry[]) : null;
    } catch {
      return null;
    }
  }

  async writeManifest(repo: string, revision: string, entries: HubFileEntry[]): Promise<void> {
    const final = join(this.dir(repo, revision), MANIFEST);
    await withFsErrors(
      final,
      'write the hub cache manifest',
      async () => {
        await mkdir(dirname(final), { recursive: true });
        const tmp = tempName(final);
        await writeFile(tmp, JSON.stringify(entries, null, 1)).catch(async (e: unknown) => {
          await unlink(tmp).catch(() => undefined);
          throw e;
        });
        await rename(tmp, final);
      },
      CACHE_HINT,
    );
  }

  async stat(repo: string, revision: string, path: string): Promise<number | null> {
    const st = await stat(this.file(repo, revision, path)).catch(() => null);
    return st && st.isFile() ? st.size : null;
  }

  async write(repo: string, revision: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
    const final = this.file(repo, revision, path);
    await withFsErrors(dirname(final), 'create the hub cache folder', () => mkdir(dirname(final), { recursive: true }), CACHE_HINT);
    const tmp = tempName(final);
    const fh = await withFsErrors(final, 'write to the hub cache', () => open(tmp, 'w'), CACHE_HINT);
    try {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let off = 0;
        while (off < value.byteLength) off += (await fh.write(value, off, value.byteLength - off)).bytesWritten;
      }
      await fh.close();
      await rename(tmp, final);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw fsError(e, final, 'write to the hub cache', CACHE_HINT);
    }
  }

  open(repo: string, revision: string, path: string, size: number): ByteSource {
    return new NodeFileSource(this.file(repo, revision, path), size, path);
  }
}

function tempName(final: string): string {
  return `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}
