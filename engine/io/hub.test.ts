// Hub download against a local server that answers like huggingface.co (testing.ts);
// never the real network.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from './checkpoint.ts';
import { f32ToBytes } from './dtype.ts';
import { CheckpointError } from './errors.ts';
import { downloadFromHub, type HubProgress } from './hub.ts';
import { BrowserHubCache } from './hubCacheBrowser.ts';
import { NodeHubCache } from './hubCacheNode.ts';
import { startLocalHub, type LocalHub } from './testing.ts';
import { writeSafetensors } from './safetensors.ts';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const SHA = 'a'.repeat(40);
const TOKEN = 'hf_goodtoken123';

function modelFiles(normValues = [1, 2, 3, 4]): Record<string, Uint8Array> {
  const norm = { name: 'model.norm.weight', dtype: 'F32' as const, shape: [4], data: f32ToBytes(new Float32Array(normValues), 'F32') };
  // A weight big enough that the download arrives in several chunks (progress is reported per chunk).
  const embed = { name: 'model.embed_tokens.weight', dtype: 'BF16' as const, shape: [300, 1024], data: f32ToBytes(new Float32Array(300 * 1024).fill(0.5), 'BF16') };
  return {
    'config.json': enc({ model_type: 'llama', hidden_size: 4 }),
    'generation_config.json': enc({ eos_token_id: 2 }),
    'tokenizer.json': enc({ version: '1.0' }),
    'tokenizer_config.json': enc({ eos_token: '</s>' }),
    'special_tokens_map.json': enc({ eos_token: '</s>' }),
    'model-00001-of-00002.safetensors': writeSafetensors([embed]),
    'model-00002-of-00002.safetensors': writeSafetensors([norm]),
    'model.safetensors.index.json': enc({
      weight_map: { [embed.name]: 'model-00001-of-00002.safetensors', [norm.name]: 'model-00002-of-00002.safetensors' },
    }),
    'README.md': enc('not needed'),
    'pytorch_model.bin': new Uint8Array(1000),
    'onnx/model.onnx': new Uint8Array(10),
  };
}
const NEEDED = Object.keys(modelFiles()).filter((f) => !['README.md', 'pytorch_model.bin', 'onnx/model.onnx'].includes(f)).sort();

let hub: LocalHub;
let root: string;
const fileRequests = () => hub.requests.filter((r) => r.path.includes('/resolve/'));

beforeAll(async () => {
  hub = await startLocalHub({
    'tiny/model': { files: modelFiles(), revisions: ['main', SHA, 'refs/pr/1'] },
    'org/private': { files: modelFiles(), tokens: [TOKEN] },
    'org/gated': { files: modelFiles(), tokens: [TOKEN, 'hf_notaccepted'], notAccepted: ['hf_notaccepted'] },
    'org/no-config': { files: { 'model.safetensors': writeSafetensors([]) } },
  });
  root = await mkdtemp(join(tmpdir(), 'whetstone-hub-'));
});

afterAll(async () => {
  await hub.close();
  await rm(root, { recursive: true, force: true });
});

async function expectError(p: Promise<unknown>, pattern: RegExp, hint?: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as Error).message).toMatch(pattern);
  if (hint) expect((err as CheckpointError).hint).toMatch(hint);
}

describe('downloadFromHub', () => {
  it('downloads only the model files, reports progress, and caches them in a folder', async () => {
    const cache = new NodeHubCache(join(root, 'a'));
    const progress: HubProgress[] = [];
    hub.requests.length = 0;
    const dl = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache, onProgress: (p) => progress.push({ ...p }) });
    expect(dl.downloaded.sort()).toEqual(NEEDED);
    expect(dl.cached).toEqual([]);
    expect(dl.files.list()).toEqual(NEEDED);
    const requested = new Set(fileRequests().map((r) => r.path.split('/resolve/main/')[1]));
    expect([...requested].sort()).toEqual(NEEDED);
    expect(hub.requests[0].path).toBe('/api/models/tiny/model/tree/main');

    const files = modelFiles();
    const total = NEEDED.reduce((s, f) => s + files[f].length, 0);
    expect(progress.length).toBeGreaterThan(NEEDED.length); // the big shard came in several chunks
    for (let i = 1; i < progress.length; i++) expect(progress[i].bytesDone).toBeGreaterThan(progress[i - 1].bytesDone);
    const last = progress[progress.length - 1];
    expect(last.bytesDone).toBe(total);
    expect(last.bytesTotal).toBe(total);
    for (const f of NEEDED) {
      const lastOfFile = progress.filter((p) => p.file === f).pop()!;
      expect(lastOfFile.fileBytesDone).toBe(files[f].length);
      expect(lastOfFile.fileBytesTotal).toBe(files[f].length);
    }

    // The cache folder: ~/.cache/whetstone/hub/<owner>/<name>/<revision>/<file>, no temp files left.
    const dir = join(root, 'a', 'tiny', 'model', 'main');
    expect((await readdir(dir)).sort()).toEqual(['.whetstone-manifest.json', ...NEEDED].sort());
    expect(new Uint8Array(await readFile(join(dir, 'config.json')))).toEqual(files['config.json']);

    const ck = await openCheckpoint(dl.files);
    expect(ck.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(Array.from(await ck.readTensorF32('model.norm.weight'))).toEqual([1, 2, 3, 4]);
  });

  it('a second load makes no file requests; offline and pinned-commit loads make none at all', async () => {
    const cache = new NodeHubCache(join(root, 'b'));
    await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    await downloadFromHub({ repo: 'tiny/model', revision: SHA, hubUrl: hub.url, cache });

    hub.requests.length = 0;
    const progress: HubProgress[] = [];
    const again = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache, onProgress: (p) => progress.push(p) });
    expect(fileRequests()).toEqual([]);
    expect(hub.requests.map((r) => r.path)).toEqual(['/api/models/tiny/model/tree/main']); // only the listing
    expect(again.downloaded).toEqual([]);
    expect(again.cached.sort()).toEqual(NEEDED);
    expect(progress).toEqual([]);
    expect((await openCheckpoint(again.files)).tensors.size).toBe(2);

    hub.requests.length = 0;
    await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache, offline: true });
    await downloadFromHub({ repo: 'tiny/model', revision: SHA, hubUrl: hub.url, cache });
    expect(hub.requests).toEqual([]);
  });

  it('`only` fetches a subset (the tokenizer); an offline full load then names the missing weights', async () => {
    const cache = new NodeHubCache(join(root, 'only'));
    const tokenizerFiles = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
    hub.requests.length = 0;
    const dl = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache, only: (p) => tokenizerFiles.includes(p) });
    expect(dl.files.list()).toEqual(tokenizerFiles);
    expect([...new Set(fileRequests().map((r) => r.path.split('/resolve/main/')[1]))].sort()).toEqual(tokenizerFiles);
    hub.requests.length = 0;
    const again = await downloadFromHub({ repo: 'tiny/model', cache, offline: true, only: (p) => tokenizerFiles.includes(p) });
    expect([again.cached.sort(), hub.requests]).toEqual([tokenizerFiles, []]);
    await expectError(downloadFromHub({ repo: 'tiny/model', cache, offline: true }), /tiny\/model@main is only partly in the cache \(missing .*model-00001-of-00002\.safetensors/);
    const full = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    expect(full.cached.sort()).toEqual(tokenizerFiles);
    expect(full.files.list()).toEqual(NEEDED);
  });

  it('handles a revision with slashes (refs/pr/1)', async () => {
    const cache = new NodeHubCache(join(root, 'g'));
    hub.requests.length = 0;
    const dl = await downloadFromHub({ repo: 'tiny/model', revision: 'refs/pr/1', hubUrl: hub.url, cache });
    expect(dl.downloaded.length).toBe(NEEDED.length);
    expect(hub.requests[0].path).toBe('/api/models/tiny/model/tree/refs%2Fpr%2F1');
    expect(await readdir(join(root, 'g', 'tiny', 'model'))).toEqual(['refs%2Fpr%2F1']);
  });

  it('downloads again only the file that changed on the hub', async () => {
    const cache = new NodeHubCache(join(root, 'c'));
    await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    const repo = hub.repos['tiny/model'];
    const before = repo.files['model-00002-of-00002.safetensors'];
    repo.files['model-00002-of-00002.safetensors'] = modelFiles([5, 6, 7, 8])['model-00002-of-00002.safetensors'];
    try {
      hub.requests.length = 0;
      const dl = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
      expect(dl.downloaded).toEqual(['model-00002-of-00002.safetensors']);
      const ck = await openCheckpoint(dl.files);
      expect(Array.from(await ck.readTensorF32('model.norm.weight'))).toEqual([5, 6, 7, 8]);
    } finally {
      repo.files['model-00002-of-00002.safetensors'] = before;
    }
  });

  it('uses the cache when the hub cannot be reached', async () => {
    const cache = new NodeHubCache(join(root, 'd'));
    await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    const dl = await downloadFromHub({ repo: 'tiny/model', hubUrl: 'http://127.0.0.1:9', cache });
    expect(dl.downloaded).toEqual([]);
    await expectError(downloadFromHub({ repo: 'tiny/other', hubUrl: 'http://127.0.0.1:9', cache }), /could not download tiny\/other@main/, /network/);
    await expectError(downloadFromHub({ repo: 'tiny/other', cache, offline: true }), /not in the cache/);
  });

  it('stops on abort, leaving no partial file in the cache', async () => {
    const cache = new NodeHubCache(join(root, 'f'));
    const ctl = new AbortController();
    const err = await downloadFromHub({
      repo: 'tiny/model',
      hubUrl: hub.url,
      cache,
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.file === 'model-00001-of-00002.safetensors') ctl.abort();
      },
    }).then(() => null, (e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const left = await readdir(join(root, 'f', 'tiny', 'model', 'main'));
    expect(left.some((f) => f.startsWith('model-00001') || f.includes('.tmp-'))).toBe(false);
    expect(left).not.toContain('.whetstone-manifest.json');
  });

  it('sends the access token for private and gated repos, and never stores it', async () => {
    const cache = new NodeHubCache(join(root, 'e'));
    hub.requests.length = 0;
    const dl = await downloadFromHub({ repo: 'org/private', hubUrl: hub.url, cache, accessToken: TOKEN });
    expect(dl.downloaded.length).toBe(NEEDED.length);
    expect(hub.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
    const all = await readdir(join(root, 'e'), { recursive: true, withFileTypes: true });
    for (const f of all.filter((e) => e.isFile())) {
      const text = (await readFile(join(f.parentPath, f.name))).toString('latin1');
      expect(text.includes(TOKEN)).toBe(false);
    }
  });

  it('a 401 says to pass a token (or that it was rejected); a 403 says to accept the license', async () => {
    await expectError(downloadFromHub({ repo: 'org/private', hubUrl: hub.url }), /refused org\/private@main \(401 unauthorized\)/, /pass an access token/);
    await expectError(downloadFromHub({ repo: 'org/private', hubUrl: hub.url, accessToken: 'hf_wrong' }), /401/, /token was rejected/);
    await expectError(
      downloadFromHub({ repo: 'org/gated', hubUrl: hub.url, accessToken: 'hf_notaccepted' }),
      /org\/gated@main is restricted \(403 forbidden\)/,
      /accept its license at https:\/\/huggingface\.co\/org\/gated/,
    );
    await expectError(downloadFromHub({ repo: 'org/gated', hubUrl: hub.url, accessToken: 'nope' }), /does not start with "hf_"/);
  });

  it('a missing repo or revision (404) and a repo that is not a model get clear errors', async () => {
    await expectError(downloadFromHub({ repo: 'nobody/nothing', hubUrl: hub.url }), /nobody\/nothing@main was not found on the hub \(404\)/, /model id/);
    await expectError(downloadFromHub({ repo: 'tiny/model', revision: 'v9', hubUrl: hub.url }), /tiny\/model@v9 was not found/, /revision/);
    await expectError(downloadFromHub({ repo: 'org/no-config', hubUrl: hub.url }), /has no config\.json/);
    await expectError(downloadFromHub({ repo: '../etc', hubUrl: hub.url }), /not a hub model id/);
  });
});

/** The Cache Storage API in memory (Node has none): just what BrowserHubCache calls. */
class MemoryCacheStorage {
  readonly caches = new Map<string, Map<string, { body: ArrayBuffer; headers: [string, string][] }>>();
  async open(name: string) {
    const store = this.caches.get(name) ?? new Map();
    this.caches.set(name, store);
    return {
      async match(key: string) {
        const e = store.get(key);
        return e ? new Response(e.body.slice(0), { headers: e.headers }) : undefined;
      },
      async put(key: string, res: Response) {
        store.set(key, { body: await res.arrayBuffer(), headers: [...res.headers] });
      },
    };
  }
}

describe('BrowserHubCache (Cache Storage)', () => {
  it('caches a download so the second load makes no file requests', async () => {
    const storage = new MemoryCacheStorage();
    const cache = new BrowserHubCache('test-hub', storage as unknown as CacheStorage);
    const first = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    expect(first.downloaded.sort()).toEqual(NEEDED);
    hub.requests.length = 0;
    const second = await downloadFromHub({ repo: 'tiny/model', hubUrl: hub.url, cache });
    expect(fileRequests()).toEqual([]);
    expect(second.cached.sort()).toEqual(NEEDED);
    const ck = await openCheckpoint(second.files);
    expect(Array.from(await ck.readTensorF32('model.norm.weight'))).toEqual([1, 2, 3, 4]);
    expect([...storage.caches.get('test-hub')!.keys()].some((k) => k.includes(TOKEN))).toBe(false);
  });
});
