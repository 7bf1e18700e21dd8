#!/usr/bin/env node
// `whetstone` — runs the TypeScript CLI directly (no build step), so `npx whetstone` works right
// after `npm install`. Quiet by default: the CLI runs as a child whose stderr drops the GPU
// library's own warnings (cli/quiet.mjs); `--verbose` or WHETSTONE_VERBOSE=1 shows them.
import { fileURLToPath } from 'node:url';
import { runFiltered, runsDirectly } from './quiet.mjs';

if (runsDirectly()) {
  process.argv = process.argv.filter((a) => a !== '--verbose');
  await import('./register.mjs');
  await import('./main.ts');
} else {
  process.exitCode = await runFiltered(fileURLToPath(import.meta.url));
}
