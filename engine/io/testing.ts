// Test-only (Node): the fake hub: a local HTTP server on 127.0.0.1 that answers the routes
// @huggingface/hub calls, like huggingface.co does:
//   GET /api/models/<owner>/<name>/tree/<rev>?recursive=..&expand=..   -> JSON list of entries
//   GET /<owner>/<name>/resolve/<rev>/<path>  (Range: bytes=a-b -> 206 + Content-Range, else 200)
// Auth as on the hub: a private repo without a valid token -> 401; a gated repo whose license the
// token's user has not accepted -> 403; unknown repo -> 404 RepoNotFound; unknown file -> 404
// EntryNotFound. Every request is recorded so tests can count downloads.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalRepo {
  files: Record<string, Uint8Array>;
  /** Revisions served (default ["main"]). */
  revisions?: string[];
  /** Private or gated: requests need `Authorization: Bearer <token>` with one of these. */
  tokens?: string[];
  /** Gated: tokens that have NOT accepted the license get 403. */
  notAccepted?: string[];
}

export interface LocalHub {
  url: string;
  requests: { path: string; auth: string | null; range: string | null }[];
  repos: Record<string, LocalRepo>;
  close(): Promise<void>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function startLocalHub(repos: Record<string, LocalRepo>): Promise<LocalHub> {
  const requests: LocalHub['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const auth = req.headers.authorization ?? null;
    requests.push({ path: url.pathname, auth, range: (req.headers.range as string | undefined) ?? null });
    try {
      handle(repos, req, res, url, auth);
    } catch (e) {
      json(res, 500, { error: String(e) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    repos,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown, errorCode?: string): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(errorCode ? { 'x-error-code': errorCode } : {}) });
  res.end(JSON.stringify(body));
}

function handle(repos: Record<string, LocalRepo>, req: IncomingMessage, res: ServerResponse, url: URL, auth: string | null): void {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let repoId: string;
  let rev: string;
  let path: string | null;
  if (parts[0] === 'api' && parts[1] === 'models' && parts[4] === 'tree') {
    repoId = `${parts[2]}/${parts[3]}`;
    rev = parts[5] ?? 'main';
    path = null;
  } else if (parts[2] === 'resolve') {
    repoId = `${parts[0]}/${parts[1]}`;
    rev = parts[3];
    path = parts.slice(4).join('/');
  } else {
    return json(res, 404, { error: 'Not found' });
  }
  const repo = repos[repoId];
  if (!repo) return json(res, 404, { error: 'Repository not found' }, 'RepoNotFound');
  if (repo.tokens) {
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : null;
    if (!token || !repo.tokens.includes(token)) {
      return json(res, 401, { error: token ? 'Invalid credentials in Authorization header' : 'Access to this repo is restricted. You must be authenticated.' });
    }
    if (repo.notAccepted?.includes(token)) {
      return json(res, 403, { error: `Access to model ${repoId} is restricted and you are not in the authorized list.` }, 'GatedRepo');
    }
  }
  if (!(repo.revisions ?? ['main']).includes(rev)) return json(res, 404, { error: `Invalid rev id: ${rev}` }, 'RevisionNotFound');

  if (path === null) {
    const entries: unknown[] = [{ type: 'directory', oid: 'd'.repeat(40), size: 0, path: 'onnx' }];
    for (const [p, bytes] of Object.entries(repo.files)) {
      if (p.includes('/')) continue; // recursive=false
      const lfs = p.endsWith('.safetensors') ? { oid: sha(bytes), size: bytes.length, pointerSize: 134 } : undefined;
      entries.push({ type: 'file', oid: sha(bytes).slice(0, 40), size: bytes.length, path: p, ...(lfs ? { lfs } : {}) });
    }
    return json(res, 200, entries);
  }
  const bytes = repo.files[path];
  if (!bytes) return json(res, 404, { error: 'Entry not found' }, 'EntryNotFound');
  const etag = `"${sha(bytes)}"`;
  const range = /^bytes=(\d+)-(\d*)$/.exec((req.headers.range as string | undefined) ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
    res.writeHead(206, {
      'content-type': 'application/octet-stream',
      'content-range': `bytes ${start}-${end}/${bytes.length}`,
      'content-length': String(end - start + 1),
      etag,
    });
    return void res.end(Buffer.from(bytes.subarray(start, end + 1)));
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), etag });
  res.end(Buffer.from(bytes));
}
