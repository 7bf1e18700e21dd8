// Browser HubCache on the Cache Storage API (persists across reloads, works in workers).
// Each file is a Response under a synthetic https URL; its size is kept in a header so stat()
// does not read the body. Reads go through Response.blob(), which browsers keep on disk.
import { BlobSource, type ByteSource } from './byteSource.ts';
import { CheckpointError } from './errors.ts';
import { checkRepoPath, type HubCache, type HubFileEntry } from './hubCache.ts';

const SIZE_HEADER = 'x-whetstone-size';
const BASE = 'https://whetstone.cache/hub/';

export class BrowserHubCache implements HubCache {
  readonly name: string;
  private readonly cacheName: string;
  private readonly storage: CacheStorage;
  constructor(cacheName = 'whetstone-hub', storage: CacheStorage = globalThis.caches) {
    this.cacheName = cacheName;
    this.name = `Cache Storage "${cacheName}"`;
    this.storage = storage;
  }

  private key(repo: string, revision: string, path: string): string {
    checkRepoPath(repo);
    checkRepoPath(path);
    return `${BASE}${repo}/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
  }

  private manifestKey(repo: string, revision: string): string {
    checkRepoPath(repo);
    return `${BASE}${repo}/${encodeURIComponent(revision)}?manifest`;
  }

  async readManifest(repo: string, revision: string): Promise<HubFileEntry[] | null> {
    const cache = await this.storage.open(this.cacheName);
    const res = await cache.match(this.manifestKey(repo, revision));
    if (!res) return null;
    const v = (await res.json().catch(() => null)) as unknown;
    return Array.isArray(v) ? (v as HubFileEntry[]) : null;
  }

  async writeManifest(repo: string, revision: string, entries: HubFileEntry[]): Promise<void> {
    const cache = await this.storage.open(this.cacheName);
    await cache.put(this.manifestKey(repo, revision), new Response(JSON.stringify(entries), { headers: { 'content-type': 'application/json' } }));
  }

  async stat(repo: string, revision: string, path: string): Promise<number | null> {
    const cache = await this.storage.open(this.cacheName);
    const res = await cache.match(this.key(repo, revision, path));
    const size = res?.headers.get(SIZE_HEADER);
    return size == null ? null : Number(size);
  }

  /** cache.put stores nothing unless the whole body arrives, so a failed download leaves no entry. */
  async write(repo: string, revision: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
    const cache = await this.storage.open(this.cacheName);
    // The size header must be known before the body is stored: count it while buffering to a Blob.
    const blob = await new Response(body).blob();
    await cache.put(this.key(repo, revision, path), new Response(blob, { headers: { [SIZE_HEADER]: String(blob.size) } }));
  }

  open(repo: string, revision: string, path: string, size: number): ByteSource {
    const key = this.key(repo, revision, path);
    let blob: Promise<Blob> | null = null;
    const load = (): Promise<Blob> =>
      (blob ??= this.storage
        .open(this.cacheName)
        .then((c) => c.match(key))
        .then((res) => {
          if (!res) throw new CheckpointError(path, `is no longer in ${this.name} (the browser evicted it)`, 'Load the model again (it downloads the evicted files).');
          return res.blob();
        }));
    return {
      name: path,
      size,
      async read(offset: number, length: number): Promise<Uint8Array> {
        return new BlobSource(path, await load()).read(offset, length);
      },
    };
  }
}
