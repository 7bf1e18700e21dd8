// Node only: the matmul autotune's persistent cache, one JSON file of tuned tiles per adapter name
// under $XDG_CACHE_HOME/whetstone (default ~/.cache/whetstone), and the environment switches:
//   WHETSTONE_AUTOTUNE=0|1        force the autotune off / on (default: on for real GPUs only)
//   WHETSTONE_AUTOTUNE_CACHE=0    keep tuned tiles in memory only
// A damaged or unwritable cache is ignored (tuning again is the cost), never an error.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { MatmulTile } from './matmul.ts';
import { configureMatmulAutotune, type TileStore } from './matmulAutotune.ts';

export function nodeTileStore(dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'whetstone')): TileStore {
  const file = join(dir, 'matmul-tiles.json');
  const readAll = (): Record<string, Record<string, MatmulTile>> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Record<string, MatmulTile>>) : {};
    } catch {
      return {};
    }
  };
  return {
    load: (adapter) => readAll()[adapter] ?? null,
    save: (adapter, tiles) => {
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, JSON.stringify({ ...readAll(), [adapter]: tiles }, null, 1));
      } catch {
        // read-only home or full disk: the tiles stay in memory for this process
      }
    },
  };
}

/** Applies WHETSTONE_AUTOTUNE / WHETSTONE_AUTOTUNE_CACHE (CLI and bench start-up). */
export function configureMatmulAutotuneFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const on = env.WHETSTONE_AUTOTUNE;
  configureMatmulAutotune({
    enabled: on === '1' ? true : on === '0' ? false : null,
    store: env.WHETSTONE_AUTOTUNE_CACHE === '0' ? null : nodeTileStore(),
  });
}
