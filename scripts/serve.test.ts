// scripts/serve.mjs as a real process over HTTP: MIME types the browser insists on (module
// workers, WASM), the SPA fallback, 404 for missing assets, and no way out of the served folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  return { status: res.status, type: res.headers.get('content-type'), cache: res.headers.get('cache-control'), body: await res.text() };
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
});
