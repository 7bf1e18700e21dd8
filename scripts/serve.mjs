// Serves the built studio (dist/) on http://localhost:5173, or $PORT. A plain static server:
// correct MIME types (module workers and WASM are refused under the wrong ones), long caching
// for hashed assets, no caching for index.html, and index.html for any other path without a
// file extension (client-side routes). It listens on the loopback interface only: WebGPU needs
// a secure context, which http://localhost is, and nothing here is meant for the network.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// WHETSTONE_DIST: another folder to serve (tests).
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)), process.env.WHETSTONE_DIST ?? 'dist');
const PORT = Number(process.env.PORT ?? 5173);
const HOST = process.env.HOST ?? '127.0.0.1';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.wgsl': 'text/wgsl; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.gguf': 'application/octet-stream',
  '.parquet': 'application/vnd.apache.parquet',
  '.jsonl': 'application/jsonl; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
};

/** The file under ROOT a URL path names, or null if it escapes ROOT. */
function fileFor(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const full = normalize(join(ROOT, decoded));
  return full === ROOT || full.startsWith(ROOT + sep) ? full : null;
}

async function fileStat(path) {
  try {
    const s = await stat(path);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

function send(req, res, path, size, status = 200) {
  const type = MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const hashed = path.startsWith(join(ROOT, 'assets') + sep);
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': size,
    'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(path).pipe(res);
}

const server = createServer(async (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
  const path = fileFor(urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath);
  if (!path) {
    res.writeHead(400).end('bad path');
    return;
  }
  const found = await fileStat(path);
  if (found) {
    send(req, res, path, found.size);
    return;
  }
  // Client-side route (no extension): the app. A missing asset (has an extension): 404.
  if (!extname(urlPath)) {
    const index = join(ROOT, 'index.html');
    const indexStat = await fileStat(index);
    if (indexStat) {
      send(req, res, index, indexStat.size);
      return;
    }
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${urlPath}`);
});

const indexStat = await fileStat(join(ROOT, 'index.html'));
if (!indexStat) {
  console.error(`No built studio in ${ROOT}: run \`npm run build\` (or \`npm start\`) first.`);
  process.exit(1);
}

server.on('error', (e) => {
  console.error(e.code === 'EADDRINUSE' ? `Port ${PORT} is in use: set PORT to another port.` : `Server error: ${e.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  const shown = HOST === '127.0.0.1' || HOST === '::1' ? 'localhost' : HOST;
  const { port } = server.address(); // PORT=0 picks a free port
  console.log(`Whetstone studio: http://${shown}:${port}  (serving ${ROOT}; Ctrl+C to stop)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
