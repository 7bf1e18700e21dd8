// Vite builds the studio (index.html -> app/main.tsx) and the engine worker as ES modules.
// WGSL kernels are imported with `?raw` (built in); public/ (demo model and datasets) is copied
// to dist/ as is and served statically.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Engine errors are named by their class (`new.target.name`: WebGpuUnavailable, GpuOutOfMemory,
// ...) and the studio branches on that name, so the worker's minified bundle must keep
// class names (the page's bundle does not need them).
const keepNames = { output: { keepNames: true } };

export default defineConfig({
  plugins: [react()],
  publicDir: 'public',
  worker: {
    // `new Worker(new URL(...), { type: 'module' })` in app/engineClient.ts.
    format: 'es',
    rolldownOptions: keepNames,
  },
  build: {
    target: 'es2022',
    outDir: 'dist',
    // No source maps in the shipped studio (the server refuses to serve them too).
    sourcemap: false,
    // Model weights in public/ are large by nature; only warn about code chunks over 1 MB.
    chunkSizeWarningLimit: 1024,
  },
  server: { host: 'localhost', port: 5173 },
  preview: { host: 'localhost', port: 5173 },
});
