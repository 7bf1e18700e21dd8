// Lets plain Node run the TypeScript sources directly: tsx for .ts, our hooks for `?raw` WGSL.
// Used by cli/bin.js and `npm run bench` (node --import ./cli/register.mjs ...).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./wgsl-hooks.mjs', import.meta.url);
