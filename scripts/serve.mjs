// Serves the built studio (dist/) on http://localhost:5173, or $PORT. A plain static server:
// correct MIME types (module workers and WASM are refused under the wrong ones), long caching
// for hashed assets, no caching for index.html, and index.html for any other path without a
// file extension (client-side routes). It listens on the loopback interface only: WebGPU needs
// a secure context, which http://localhost is, and nothing here is meant for the network.
//
// Robust and closed: every file is opened once and streamed from that handle (a rebuild that
// deletes it meanwhile gives 404, a failure mid-way closes the connection, the process never
// dies); a path whose real location (symbolic links resolved) is outside dist/ is never served;
// source maps are not served; every response carries a Content-Security-Policy (scripts and
// workers only from this origin, network only to the Hugging Face hub, no framing),
// Cross-Origin-Opener/Embedder-Policy (cross-origin isolation), and Referrer-Policy no-referrer.
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
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

const REAL_ROOT = await realpath(ROOT).catch(() => ROOT);

const HUB = 'https://huggingface.co https://*.huggingface.co https://hf.co https://*.hf.co';
const SECURITY_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${HUB}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
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

/**
 * Opens the file a path names, if it is a regular file whose real path is inside dist/.
 * Returns {handle, size} or null (missing, a folder, or leading outside).
 */
async function openInside(path) {
  let real;
  try {
    real = await realpath(path);
  } catch {
    return null;
  }
  if (real !== REAL_ROOT && !real.startsWith(REAL_ROOT + sep)) return null;
  let handle;
  try {
    // O_NONBLOCK: a named pipe planted in dist/ must not block the open (it is refused below).
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = await handle.stat();
    if (st.isFile()) return { handle, size: st.size };
  } catch {
    // vanished between realpath and open, or unreadable: as missing
  }
  await handle?.close().catch(() => {});
  return null;
}

function reply(res, status, text) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
}

function send(req, res, path, file, status = 200) {
  const type = MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const hashed = path.startsWith(join(ROOT, 'assets') + sep);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': file.size,
    'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (req.method === 'HEAD' || file.size === 0) {
    file.handle.close().catch(() => {});
    res.end();
    return;
  }
  // Streamed from the handle opened above: the bytes are those of the file that was checked (a
  // rebuild that deletes it meanwhile does not matter). If it shrinks meanwhile (rewritten in
  // place) or a read fails, the response is cut and the connection closed.
  const stream = file.handle.createReadStream({ start: 0, end: file.size - 1 });
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

async function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...SECURITY_HEADERS, Allow: 'GET, HEAD' }).end();
    return;
  }
  const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
  const path = fileFor(urlPath.endsWith('/') ? `${urlPath}index.html` : urlPath);
  if (!path) {
    reply(res, 400, 'bad path');
    return;
  }
  // Source maps are not shipped (the build makes none); never serve one left in the folder.
  const found = extname(path).toLowerCase() === '.map' ? null : await openInside(path);
  if (found) {
    send(req, res, path, found);
    return;
  }
  // Client-side route (no extension): the app. A missing asset (has an extension): 404.
  if (!extname(urlPath)) {
    const index = join(ROOT, 'index.html');
    const indexFile = await openInside(index);
    if (indexFile) {
      send(req, res, index, indexFile);
      return;
    }
  }
  reply(res, 404, `not found: ${urlPath}`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(`error serving ${req.url}: ${e?.message ?? e}`);
    reply(res, 500, 'internal server error');
  });
});
server.on('clientError', (_e, socket) => socket.destroy());

const indexFile = await openInside(join(ROOT, 'index.html'));
await indexFile?.handle.close();
if (!indexFile) {
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
