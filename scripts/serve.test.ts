// scripts/serve.mjs as a real process over HTTP: MIME types the browser insists on (module
// workers, WASM), the SPA fallback, 404 for missing assets, no way out of the served folder (by
// path or by symbolic link), security headers on every answer, no source maps, and files that
// vanish while being served answered 404 instead of killing the server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: ChildProcess;
let base = '';
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'whetstone-serve-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(join(dir, 'assets', 'engine.worker-abc.js'), 'export {};');
  writeFileSync(join(dir, 'kernel.wasm'), new Uint8Array([0, 97, 115, 109]));
  writeFileSync(join(dir, 'model.safetensors'), new Uint8Array(16));
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'matmul.wgsl'), '@compute @workgroup_size(1) fn main() {}');
  writeFileSync(join(dir, 'assets', 'app.js.map'), '{"version":3}');
  writeFileSync(join(dir, 'empty.txt'), '');
  symlinkSync(join(process.cwd(), 'package.json'), join(dir, 'leak.json'));
  symlinkSync(process.cwd(), join(dir, 'repo'));
  symlinkSync('config.json', join(dir, 'alias.json'));
  spawnSync('mkfifo', [join(dir, 'pipe.txt')]);
  server = spawn(process.execPath, ['scripts/serve.mjs'], { env: { ...process.env, PORT: '0', WHETSTONE_DIST: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    server.on('exit', (code) => reject(new Error(`serve.mjs exited with ${code}`)));
  });
});

afterAll(() => {
  server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string) {
  const res = await fetch(base + path);
  return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), headers: res.headers, body: await res.text() };
}

describe('scripts/serve.mjs', () => {
  it('serves files with the MIME types browsers require', async () => {
    expect((await get('/assets/engine.worker-abc.js')).type).toBe('text/javascript; charset=utf-8');
    expect((await get('/kernel.wasm')).type).toBe('application/wasm');
    expect((await get('/config.json')).type).toBe('application/json; charset=utf-8');
    expect((await get('/model.safetensors')).type).toBe('application/octet-stream');
    expect((await get('/matmul.wgsl')).type).toBe('text/wgsl; charset=utf-8');
  });

  it('caches hashed assets for good and index.html never', async () => {
    expect((await get('/assets/engine.worker-abc.js')).cache).toContain('immutable');
    expect((await get('/')).cache).toBe('no-cache');
  });

  it('falls back to index.html for app routes, 404 for missing files', async () => {
    const route = await get('/runs/some-run');
    expect(route.status).toBe(200);
    expect(route.body).toContain('<title>studio</title>');
    expect((await get('/assets/missing.js')).status).toBe(404);
  });

  it('never serves files outside its folder', async () => {
    for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await get(path);
      expect(res.status, path).not.toBe(200);
      expect(res.body).not.toContain('"name"');
    }
  });

  it('never follows symbolic links out of its folder (links inside it are fine)', async () => {
    for (const path of ['/leak.json', '/repo/package.json']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('"name"');
    }
    expect((await get('/alias.json')).body).toBe('{}');
  });

  it('sends CSP (no framing, network only to the hub), COOP/COEP and Referrer-Policy on every answer', async () => {
    for (const path of ['/', '/assets/engine.worker-abc.js', '/assets/missing.js']) {
      const h = (await get(path)).headers;
      const csp = h.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain('connect-src \'self\' https://huggingface.co');
      expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(h.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(h.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('serves no source maps, empty files, and never hangs on a named pipe', async () => {
    expect((await get('/assets/app.js.map')).status).toBe(404);
    const empty = await get('/empty.txt');
    expect([empty.status, empty.body]).toEqual([200, '']);
    expect((await get('/pipe.txt')).status).toBe(404);
  });

  it('answers 200 or 404 while a file is deleted and rewritten under it (a rebuild), and keeps running', async () => {
    const path = join(dir, 'churn.txt');
    const body = 'x'.repeat(10_000);
    // Another process deletes and rewrites the file as fast as it can, so requests land between
    // the server's look at the file and its read (the old server died there).
    const churn = spawn(process.execPath, ['-e', `const fs = require('fs'); for (;;) { try { fs.unlinkSync(${JSON.stringify(path)}); } catch {} fs.writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(body)}); }`]);
    try {
      const statuses = new Set<number>();
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => fetch(`${base}/churn.txt`).then(async (r) => ({ status: r.status, text: await r.text() }), () => ({ status: 0, text: '' }))),
        );
        for (const a of answers) {
          statuses.add(a.status);
          // What was in the file when the server opened it (it may have been mid-write).
          if (a.status === 200) expect(a.text).toBe(body.slice(0, a.text.length));
        }
      }
      expect([...statuses].every((s) => s === 200 || s === 404), [...statuses].join(',')).toBe(true);
    } finally {
      churn.kill();
    }
    expect((await get('/config.json')).status).toBe(200);
  });
});
