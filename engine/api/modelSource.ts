// EngineApi.loadModel: a ModelSource (the demo shipped in public/models/demo, a hub repo, or a
// dropped folder) -> a FileSet in memory or in the hub cache -> the model on the GPU.
// Progress: phase "download" in bytes over the network, then "upload" in bytes to the GPU.
import { CheckpointError } from '../io/errors.ts';
import { memoryFileSet, type FileSet } from '../io/fileSet.ts';
import { downloadFromHub } from '../io/hub.ts';
import { MemoryHubCache, type HubCache } from '../io/hubCache.ts';
import { BrowserHubCache } from '../io/hubCacheBrowser.ts';
import type { ModelInfo, ModelSource } from './contract.ts';
import { TrainingInProgress, type EngineRuntime } from './runtime.ts';
import type { ProgressCallback } from './types.ts';

export interface DemoManifest {
  name?: string;
  files: { path: string; size: number }[];
}

export async function loadModelFromSource(runtime: EngineRuntime, source: ModelSource, onProgress: ProgressCallback): Promise<ModelInfo> {
  if (runtime.training) throw new TrainingInProgress('loading another model');
  const { files, name } = await resolveSource(runtime, source, onProgress);
  return runtime.setModel(files, name, onProgress);
}

async function resolveSource(runtime: EngineRuntime, source: ModelSource, onProgress: ProgressCallback): Promise<{ files: FileSet; name: string }> {
  const fetchFn = runtime.options.fetch ?? globalThis.fetch.bind(globalThis);
  switch (source.kind) {
    case 'demo':
      return fetchDemo(demoUrl(runtime.options.demoModelUrl), fetchFn, onProgress);
    case 'hub': {
      const revision = source.revision || 'main';
      const { files } = await downloadFromHub({
        repo: source.repo.trim(),
        revision,
        accessToken: source.token || undefined, // used for this download only, never kept
        hubUrl: runtime.options.hubUrl,
        fetch: fetchFn,
        cache: hubCache(),
        onProgress: (p) => onProgress({ phase: 'download', done: p.bytesDone, total: p.bytesTotal }),
      });
      return { files, name: revision === 'main' ? source.repo.trim() : `${source.repo.trim()}@${revision}` };
    }
    case 'files':
      return { files: folderFileSet(source.name, source.files), name: source.name };
  }
}

/** The demo folder: options.demoModelUrl, else models/demo/ under Vite's base URL, relative to the worker's page. */
function demoUrl(override: string | undefined): URL {
  if (override) return new URL(override.endsWith('/') ? override : `${override}/`, globalThis.location?.href);
  const env = (import.meta as { env?: { BASE_URL?: string } }).env;
  const base = env?.BASE_URL ?? '/';
  const here = globalThis.location?.href;
  if (!here) throw new CheckpointError('demo model', 'has no URL outside a browser', 'Pass demoModelUrl to EngineApi, or load the model from a folder.');
  return new URL(`${base.endsWith('/') ? base : `${base}/`}models/demo/`, here);
}

async function fetchDemo(base: URL, fetchFn: typeof fetch, onProgress: ProgressCallback): Promise<{ files: FileSet; name: string }> {
  const manifestUrl = new URL('manifest.json', base);
  const res = await fetchFn(manifestUrl);
  if (!res.ok) throw demoMissing(`${manifestUrl.pathname} answered ${res.status}`);
  const manifest = (await res.json()) as DemoManifest;
  if (!Array.isArray(manifest.files) || manifest.files.length === 0) throw demoMissing('manifest.json lists no files');
  const total = manifest.files.reduce((s, f) => s + (f.size || 0), 0);
  let done = 0;
  onProgress({ phase: 'download', done, total });
  const out: Record<string, Uint8Array> = {};
  for (const f of manifest.files) {
    if (f.path.includes('..') || f.path.startsWith('/')) throw demoMissing(`manifest.json names a bad path ${JSON.stringify(f.path)}`);
    const r = await fetchFn(new URL(f.path, base));
    if (!r.ok || !r.body) throw demoMissing(`${f.path} answered ${r.status}`);
    const parts: Uint8Array[] = [];
    const reader = r.body.getReader();
    for (;;) {
      const { done: end, value } = await reader.read();
      if (end) break;
      parts.push(value);
      done += value.byteLength;
      onProgress({ phase: 'download', done, total: Math.max(total, done) });
    }
    out[f.path] = concat(parts);
  }
  return { files: memoryFileSet('the demo model', out), name: manifest.name ?? 'Whetstone demo' };
}

function demoMissing(detail: string): CheckpointError {
  return new CheckpointError('demo model', `could not be fetched: ${detail}`, 'Reload the page; if the studio was built without public/models/demo, load a model from the hub or a folder.');
}

function hubCache(): HubCache {
  return typeof globalThis.caches !== 'undefined' ? new BrowserHubCache() : new MemoryHubCache();
}

/** A dropped folder: paths relative to it (a single common top folder is stripped). */
export function folderFileSet(name: string, files: { path: string; data: ArrayBuffer }[]): FileSet {
  const paths = files.map((f) => f.path.replace(/^\.?\//, ''));
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  const strip = tops.size === 1 && !tops.has('') ? `${[...tops][0]}/` : '';
  const map: Record<string, Uint8Array> = {};
  files.forEach((f, i) => (map[paths[i].slice(strip.length)] = new Uint8Array(f.data)));
  return memoryFileSet(`folder ${name}`, map);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
