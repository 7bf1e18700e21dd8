// Downloads the files a model needs from the Hugging Face hub (or any server that answers like
// it: hubUrl), by repo id + revision, with @huggingface/hub's listFiles/downloadFile, into a
// HubCache so the next load downloads nothing. Returns a FileSet for openCheckpoint().
// The access token goes only into request headers: never into the cache, a manifest or a message.
import { downloadFile, HubApiError, listFiles } from '@huggingface/hub';
import type { ByteSource } from './byteSource.ts';
import { CheckpointError } from './errors.ts';
import { FileSystemError } from './fsErrors.ts';
import type { FileSet } from './fileSet.ts';
import { checkRepoPath, MemoryHubCache, type HubCache, type HubFileEntry } from './hubCache.ts';

/** The files a model needs; anything else in the repo (onnx/, *.bin, images) is skipped. */
export const HUB_MODEL_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'model.safetensors.index.json',
];

export interface HubProgress {
  /** The file being downloaded. */
  file: string;
  fileBytesDone: number;
  fileBytesTotal: number;
  /** Over every file this call downloads (cached files count for nothing). */
  bytesDone: number;
  bytesTotal: number;
}

export interface HubDownloadOptions {
  /** "owner/name", e.g. "HuggingFaceTB/SmolLM2-135M". */
  repo: string;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** For gated or private repos ("hf_..."). Only sent in request headers. */
  accessToken?: string;
  /** Default https://huggingface.co; tests point it at a local server. */
  hubUrl?: string;
  fetch?: typeof fetch;
  /** Default: a MemoryHubCache (nothing persists). Node: NodeHubCache; browser: BrowserHubCache. */
  cache?: HubCache;
  onProgress?: (p: HubProgress) => void;
  /**
   * Use only the cache and make no request at all (HF_HUB_OFFLINE=1 in the Hugging Face tools);
   * fail if the files were never downloaded. Without it, a hub that cannot be reached still
   * serves a repo downloaded before from the cache.
   */
  offline?: boolean;
  /**
   * Fetch only these of the model's files (e.g. the tokenizer's, for a dataset check); the
   * returned FileSet lists only them. The cache keeps the repo's whole listing.
   */
  only?: (path: string) => boolean;
  signal?: AbortSignal;
}

export interface HubDownload {
  files: FileSet;
  /** Paths fetched by this call. */
  downloaded: string[];
  /** Paths served from the cache. */
  cached: string[];
}

/** Is this file one a model needs? Top-level files only. */
export function isModelFile(path: string): boolean {
  return !path.includes('/') && (HUB_MODEL_FILES.includes(path) || path.endsWith('.safetensors'));
}

/** Downloads (or finds in the cache) the model files of repo@revision. */
export async function downloadFromHub(opts: HubDownloadOptions): Promise<HubDownload> {
  const revision = opts.revision ?? 'main';
  const cache = opts.cache ?? new MemoryHubCache();
  const where = `${opts.repo}@${revision}`;
  if (!/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(opts.repo) || opts.repo.includes('..')) {
    throw new CheckpointError('', `"${opts.repo}" is not a hub model id`, 'A model id looks like owner/name, e.g. HuggingFaceTB/SmolLM2-135M.');
  }
  if (opts.accessToken !== undefined && !opts.accessToken.startsWith('hf_')) {
    throw new CheckpointError('', 'the access token does not start with "hf_"', 'Copy a token from huggingface.co → Settings → Access Tokens.');
  }
  const baseFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const fetchFn: typeof fetch = opts.signal ? (input, init) => baseFetch(input, { ...init, signal: opts.signal }) : baseFetch;
  const common = { repo: { type: 'model' as const, name: opts.repo }, revision, hubUrl: opts.hubUrl, accessToken: opts.accessToken, fetch: fetchFn };

  const manifest = await cache.readManifest(opts.repo, revision);
  let entries: HubFileEntry[];
  if (opts.offline || (manifest && /^[0-9a-f]{40}$/.test(revision))) {
    // A commit never changes: its manifest is final. Offline: the manifest is all there is.
    if (!manifest) {
      throw new CheckpointError('', `${where} is not in the cache (${cache.name})`, 'Load it once while online.');
    }
    entries = manifest;
  } else {
    try {
      // The tree route takes the revision as one path segment ("refs/pr/1" -> "refs%2Fpr%2F1");
      // downloadFile encodes it itself.
      entries = await listModelFiles({ ...common, revision: encodeURIComponent(revision) });
    } catch (e) {
      if (e instanceof HubApiError) throw hubError(e, where, opts.repo, !!opts.accessToken);
      if (manifest && !opts.signal?.aborted) entries = manifest; // offline: use what the last load got
      else throw networkError(e, where, opts.signal);
    }
  }
  const selected = selectModelFiles(entries, where);
  const wanted = opts.only ? selected.filter((f) => opts.only!(f.path)) : selected;

  const stale: HubFileEntry[] = [];
  const cached: string[] = [];
  for (const f of wanted) {
    const size = await cache.stat(opts.repo, revision, f.path);
    const known = manifest?.find((m) => m.path === f.path);
    const sameVersion = !known || !f.oid || !known.oid || known.oid === f.oid;
    if (size === f.size && (sameVersion || entries === manifest)) cached.push(f.path);
    else stale.push(f);
  }
  if (opts.offline && stale.length > 0) {
    throw new CheckpointError('', `${where} is only partly in the cache (missing ${stale.map((f) => f.path).join(', ')})`, 'Load it once while online.');
  }

  const bytesTotal = stale.reduce((s, f) => s + f.size, 0);
  let bytesDone = 0;
  for (const f of stale) {
    let blob: Blob | null;
    try {
      blob = await downloadFile({ ...common, path: f.path, xet: false });
    } catch (e) {
      if (e instanceof HubApiError) throw hubError(e, where, opts.repo, !!opts.accessToken);
      throw networkError(e, `${where}/${f.path}`, opts.signal);
    }
    if (!blob) throw new CheckpointError(f.path, `listed in ${where} but the hub has no such file`, 'The revision changed during the download; try again.');
    let fileBytesDone = 0;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        fileBytesDone += chunk.byteLength;
        bytesDone += chunk.byteLength;
        opts.onProgress?.({ file: f.path, fileBytesDone, fileBytesTotal: f.size, bytesDone, bytesTotal });
        ctl.enqueue(chunk);
      },
    });
    try {
      await cache.write(opts.repo, revision, f.path, blob.stream().pipeThrough(counter));
    } catch (e) {
      throw networkError(e, `${where}/${f.path}`, opts.signal);
    }
    const got = await cache.stat(opts.repo, revision, f.path);
    if (got !== f.size) {
      throw new CheckpointError(f.path, `downloaded ${got ?? 0} bytes of ${f.size} from ${where}`, 'The download was cut short; try again.');
    }
  }
  if (stale.length > 0 || !manifest) await cache.writeManifest(opts.repo, revision, selected);

  return { files: cacheFileSet(cache, opts.repo, revision, wanted), downloaded: stale.map((f) => f.path), cached };
}

async function listModelFiles(p: Parameters<typeof listFiles>[0]): Promise<HubFileEntry[]> {
  const out: HubFileEntry[] = [];
  for await (const e of listFiles({ ...p, recursive: false })) {
    if (e.type === 'file' && isModelFile(e.path)) {
      checkRepoPath(e.path);
      out.push({ path: e.path, size: e.lfs?.size ?? e.size, oid: e.lfs?.oid ?? e.oid ?? null });
    }
  }
  return out;
}

/** A single model.safetensors wins over shards (as in transformers); a repo with no config or weights fails here. */
function selectModelFiles(entries: HubFileEntry[], where: string): HubFileEntry[] {
  const paths = new Set(entries.map((e) => e.path));
  if (!paths.has('config.json')) {
    throw new CheckpointError('', `${where} has no config.json`, 'This is not a transformers model repo; pick a model such as HuggingFaceTB/SmolLM2-135M.');
  }
  if (![...paths].some((p) => p.endsWith('.safetensors'))) {
    throw new CheckpointError('', `${where} has no .safetensors weights`, 'Whetstone reads only safetensors; pick a revision or a copy of the model that has them.');
  }
  const single = paths.has('model.safetensors');
  return entries.filter((e) => !single || !(e.path.endsWith('.safetensors') || e.path === 'model.safetensors.index.json') || e.path === 'model.safetensors');
}

function cacheFileSet(cache: HubCache, repo: string, revision: string, entries: HubFileEntry[]): FileSet {
  const sizes = new Map(entries.map((e) => [e.path, e.size]));
  return {
    name: `hub ${repo}@${revision}`,
    list: () => [...sizes.keys()].sort(),
    open(file: string): ByteSource {
      const size = sizes.get(file);
      if (size === undefined) throw new CheckpointError('', `hub ${repo}@${revision} has no ${file}`, 'The repo does not contain this file.');
      return cache.open(repo, revision, file, size);
    },
  };
}

function hubError(e: HubApiError, where: string, repo: string, hadToken: boolean): CheckpointError {
  const s = e.statusCode;
  if (s === 401) {
    return new CheckpointError(
      '',
      `the hub refused ${where} (401 unauthorized)`,
      hadToken
        ? 'The access token was rejected: check it at huggingface.co → Settings → Access Tokens, and that it may read this repo.'
        : `The repo is private or gated, or does not exist: check the id, and for a gated model accept its license at https://huggingface.co/${repo} and pass an access token (hf_...).`,
    );
  }
  if (s === 403) {
    return new CheckpointError(
      '',
      `access to ${where} is restricted (403 forbidden)`,
      `This is a gated model: accept its license at https://huggingface.co/${repo} with the account of your access token, then try again.`,
    );
  }
  if (s === 404) {
    return new CheckpointError('', `${where} was not found on the hub (404)`, 'Check the model id (owner/name) and the revision (a branch, tag or commit).');
  }
  return new CheckpointError('', `the hub answered ${s} for ${where}: ${e.message.split('. URL:')[0]}`, 'Try again later; if it persists, check https://status.huggingface.co.');
}

/** Wraps a network failure; a cancelled download rethrows the AbortError itself so callers can tell. */
function networkError(e: unknown, what: string, signal?: AbortSignal): unknown {
  if (e instanceof CheckpointError || e instanceof FileSystemError || signal?.aborted) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CheckpointError('', `could not download ${what}: ${msg}`, 'Check the network connection and try again (a model downloaded once before loads from the cache when the hub cannot be reached).');
}
