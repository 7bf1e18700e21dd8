// Where hub downloads are kept so a second load does not download again. Keyed by repo id,
// revision and file path. Implementations: MemoryHubCache (here), NodeHubCache
// (hubCacheNode.ts, a folder), BrowserHubCache (hubCacheBrowser.ts, Cache Storage).
// Access tokens never reach a cache: only file bytes and the file list are stored.
import { MemorySource, type ByteSource } from './byteSource.ts';
import { CheckpointError } from './errors.ts';

/** One file of a repo as listed by the hub. `oid` (git or LFS sha) tells when a cached file is stale. */
export interface HubFileEntry {
  path: string;
  size: number;
  oid: string | null;
}

export interface HubCache {
  /** For messages, e.g. the cache folder. */
  readonly name: string;
  /** The file list of repo@revision as last listed, or null (stat tells which files are cached). */
  readManifest(repo: string, revision: string): Promise<HubFileEntry[] | null>;
  writeManifest(repo: string, revision: string, entries: HubFileEntry[]): Promise<void>;
  /** Size in bytes of the cached file, null when absent. */
  stat(repo: string, revision: string, path: string): Promise<number | null>;
  /** Stores a file; a failed or interrupted write leaves no file under `path`. */
  write(repo: string, revision: string, path: string, body: ReadableStream<Uint8Array>): Promise<void>;
  /** Reads a cached file (size as from stat/manifest). */
  open(repo: string, revision: string, path: string, size: number): ByteSource;
}

/** A cache in memory: downloads live as long as the object (tests; pages that must not persist). */
export class MemoryHubCache implements HubCache {
  readonly name = 'memory';
  private readonly files = new Map<string, Uint8Array>();
  private readonly manifests = new Map<string, HubFileEntry[]>();

  async readManifest(repo: string, revision: string): Promise<HubFileEntry[] | null> {
    return this.manifests.get(`${repo}@${revision}`) ?? null;
  }
  async writeManifest(repo: string, revision: string, entries: HubFileEntry[]): Promise<void> {
    this.manifests.set(`${repo}@${revision}`, entries.map((e) => ({ ...e })));
  }
  async stat(repo: string, revision: string, path: string): Promise<number | null> {
    return this.files.get(`${repo}@${revision}/${path}`)?.byteLength ?? null;
  }
  async write(repo: string, revision: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    this.files.set(`${repo}@${revision}/${path}`, bytes);
  }
  open(repo: string, revision: string, path: string): ByteSource {
    const bytes = this.files.get(`${repo}@${revision}/${path}`);
    if (!bytes) throw new Error(`MemoryHubCache: ${repo}@${revision}/${path} is not cached`);
    return new MemorySource(path, bytes);
  }
}

/** Rejects file paths that could escape a cache folder ("..", absolute, backslashes, empty segments). */
export function checkRepoPath(path: string): void {
  const parts = path.split('/');
  if (path.startsWith('/') || path.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new CheckpointError('', `unsafe file path from the hub: ${JSON.stringify(path)}`, 'The hub listed a file path that could escape the cache folder; this repo cannot be downloaded safely.');
  }
}
