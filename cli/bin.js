#!/usr/bin/env node
// `whetstone` — runs the TypeScript CLI directly (no build step), so `npx whetstone` works right
// after `npm install`.
import './register.mjs';

await import('./main.ts');
