// Matmul tile autotune, per adapter, on the shapes a run actually uses:
//   1. while enabled, matmulSpec asks `tunedMatmulTile` for every call; a miss on a shape worth
//      tuning (>= MIN_TUNE_FLOP) is remembered as pending and the default tile is used;
//   2. `autotunePendingMatmuls(ctx)` (the trainer calls it after its first step) times a few tile
//      configs on each pending shape and keeps the fastest (GPU time from timestamp queries, else
//      wall time), in memory per adapter name and, when a store is configured (Node:
//      matmulTileCacheNode.ts, ~/.cache/whetstone), on disk.
// Off on CPU adapters unless configured (tests compile only what they always compiled). Tiles change
// speed, not results: every tile sums each output over k in the same increasing order, so a tuned
// run is bitwise the run with default tiles (the resume guarantee holds across a tune).
import type { GpuContext } from '../gpu/context.ts';
import { GpuProfiler } from '../gpu/profiler.ts';
// A module cycle with matmul.ts (which asks tunedMatmulTile); neither uses the other at load time.
import { matmul, matmulKBlock, matmulTile, type MatmulTile } from './matmul.ts';
import { usesSubgroupMatmul, type PlainMatmulArgs } from './matmulSubgroup.ts';

/** Default of Settings.minFlop. */
export const MIN_TUNE_FLOP = 2 ** 24;

export interface TileStore {
  load(adapter: string): Record<string, MatmulTile> | null;
  save(adapter: string, tiles: Record<string, MatmulTile>): void;
}

interface Settings {
  /** null: on for real GPUs, off for CPU adapters. */
  enabled: boolean | null;
  store: TileStore | null;
  /** Timed dispatches per candidate (median kept). */
  repeats: number;
  maxCandidates: number;
  /** Shapes with fewer FLOP are dispatch-bound (the tile does not matter) and are not tuned. */
  minFlop: number;
}

const settings: Settings = { enabled: null, store: null, repeats: 5, maxCandidates: 6, minFlop: MIN_TUNE_FLOP };
/** adapter name -> shape key -> best tile. */
const tuned = new Map<string, Map<string, MatmulTile>>();
/** adapter name -> shape key -> the args of a call of that shape (to replay when tuning). */
const pending = new Map<string, Map<string, PlainMatmulArgs>>();

export function configureMatmulAutotune(s: Partial<Settings>): void {
  Object.assign(settings, s);
}

export function matmulAutotuneEnabled(ctx: GpuContext): boolean {
  return settings.enabled ?? !ctx.caps.isCpu;
}

/** What decides the tile: the output rows, the product's shape, layout and storage types. */
export function matmulShapeKey(args: PlainMatmulArgs): string {
  return [args.M, args.N, args.K, args.batch ?? 1, args.transA ? 'tA' : '', args.transB ? 'tB' : '', args.aType ?? 'f32', args.bType ?? 'f32'].join('|');
}

function adapterTiles(ctx: GpuContext): Map<string, MatmulTile> {
  const name = ctx.caps.adapterName;
  let tiles = tuned.get(name);
  if (!tiles) {
    // A stored tile is used only if it still fits this device (a hand-edited cache cannot break a kernel).
    tiles = new Map(Object.entries(settings.store?.load(name) ?? {}).filter(([, t]) => tileFits(ctx, t, Infinity)));
    tuned.set(name, tiles);
  }
  return tiles;
}

/** The tuned tile of this shape, or undefined (then the default; the shape may become pending). */
export function tunedMatmulTile(ctx: GpuContext, args: PlainMatmulArgs): MatmulTile | undefined {
  if (!matmulAutotuneEnabled(ctx)) return undefined;
  const key = matmulShapeKey(args);
  const tile = adapterTiles(ctx).get(key);
  if (tile || 2 * args.M * args.N * args.K * (args.batch ?? 1) < settings.minFlop) return tile;
  const name = ctx.caps.adapterName;
  if (!pending.has(name)) pending.set(name, new Map());
  pending.get(name)!.set(key, { ...args });
  return undefined;
}

/**
 * Tile configs to try for M output rows within the device's limits (at most `maxCandidates`): the
 * default for M first, then the other K block depth, narrower and wider tiles, 4-row invocations,
 * and a taller tile (WG_X x WG_Y invocations of RM rows x 4 columns, K blocks of TK).
 */
export function tileCandidates(ctx: GpuContext, M: number, d: MatmulTile): MatmulTile[] {
  const TM = d.WG_Y * d.RM;
  const all: MatmulTile[] = [
    d,
    { ...d, TK: d.TK === 32 ? 16 : 32 },
    { ...d, WG_X: 8 },
    { ...d, WG_X: 32, TK: 16 },
    { WG_X: d.WG_X, WG_Y: TM / 4, RM: 4, TK: d.TK },
    { WG_X: 16, WG_Y: (2 * TM) / 8, RM: 8, TK: 16 },
  ];
  const maxRows = Math.max(TM, 2 ** Math.ceil(Math.log2(Math.max(M, 4))));
  const seen = new Set<string>();
  return all
    .filter((t) => {
      const key = JSON.stringify(t);
      const ok = !seen.has(key) && tileFits(ctx, t, maxRows);
      seen.add(key);
      return ok;
    })
    .slice(0, settings.maxCandidates);
}

/** A tile matmul.wgsl can run on this device: RM in 1..8 (MAX_RM), vec4-able rows, K blocks of 4s. */
export function tileFits(ctx: GpuContext, t: MatmulTile, maxRows: number): boolean {
  const ints = [t.WG_X, t.WG_Y, t.RM, t.TK].every((v) => Number.isInteger(v) && v > 0);
  if (!ints || ![1, 2, 4, 8].includes(t.RM) || t.TK % 4 !== 0) return false;
  const TM = t.WG_Y * t.RM;
  const bytes = 4 * t.TK * (TM + 4 * t.WG_X);
  return (
    TM % 4 === 0 &&
    TM <= maxRows &&
    t.WG_X * t.WG_Y <= ctx.caps.maxComputeInvocationsPerWorkgroup &&
    t.WG_X <= ctx.caps.maxComputeWorkgroupSizeX &&
    bytes <= ctx.caps.maxComputeWorkgroupStorageSize
  );
}

export interface TuneResult {
  shape: string;
  tile: MatmulTile;
  /** Median ms per dispatch of each candidate, in candidate order. */
  candidates: { tile: MatmulTile; ms: number }[];
}

/**
 * Times the candidate tiles on every pending shape of this adapter and keeps the fastest. The
 * operands are scratch buffers (timing does not depend on the values). Nothing else may be
 * recording on `ctx` meanwhile (the trainer calls this between steps).
 */
export async function autotunePendingMatmuls(ctx: GpuContext): Promise<TuneResult[]> {
  const shapes = pending.get(ctx.caps.adapterName);
  if (!shapes?.size || !matmulAutotuneEnabled(ctx)) return [];
  pending.delete(ctx.caps.adapterName);
  const tiles = adapterTiles(ctx);
  const results: TuneResult[] = [];
  for (const [key, args] of shapes) {
    if (tiles.has(key) || usesSubgroupMatmul(ctx, args)) continue;
    const batch = args.batch ?? 1;
    const bytes = (n: number, t?: string) => Math.max(16, n * (t === 'f16' ? 2 : 4));
    const a = ctx.pool.acquire(bytes(batch * args.M * args.K, args.aType));
    const b = ctx.pool.acquire(bytes(batch * args.K * args.N, args.bType));
    const out = ctx.pool.acquire(bytes(batch * args.M * args.N));
    const scratch: PlainMatmulArgs = { ...args, a, b, out, bias: null, strideA: undefined, strideB: undefined, strideOut: undefined, accumulate: false };
    const candidates: { tile: MatmulTile; ms: number }[] = [];
    for (const tile of tileCandidates(ctx, args.M, matmulTile(args.M, matmulKBlock(ctx)))) {
      tiles.set(key, tile); // matmulSpec now plans with this candidate
      matmul(ctx, scratch); // warm-up: compiles the pipeline
      await ctx.sync();
      candidates.push({ tile, ms: await timeDispatches(ctx, () => matmul(ctx, scratch), settings.repeats) });
    }
    candidates.sort((x, y) => x.ms - y.ms);
    tiles.set(key, candidates[0].tile);
    results.push({ shape: key, tile: candidates[0].tile, candidates });
    for (const buf of [a, b, out]) ctx.pool.release(buf);
  }
  settings.store?.save(ctx.caps.adapterName, Object.fromEntries(tiles));
  return results;
}

/** Median ms of one recorded dispatch over `repeats` (GPU time from unquantized timestamps, else wall time). */
async function timeDispatches(ctx: GpuContext, record: () => void, repeats: number): Promise<number> {
  if (ctx.caps.timestampQuery && !ctx.profiler) {
    const profiler = new GpuProfiler(ctx.device);
    ctx.profiler = profiler;
    for (let i = 0; i < repeats; i++) record();
    ctx.flush();
    ctx.profiler = null;
    const run = await profiler.collect();
    profiler.destroy();
    const ms = run.dispatches.map((d) => (d.endNs - d.beginNs) / 1e6).sort((x, y) => x - y);
    if (!run.quantized && ms.length) return ms[ms.length >> 1];
  }
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    await ctx.sync();
    const t0 = performance.now();
    record();
    await ctx.sync();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  return times[times.length >> 1];
}

/** The tiles tuned so far on this context's adapter, by shape key (for the benchmark report). */
export function tunedMatmulTiles(ctx: GpuContext): Record<string, MatmulTile> {
  return Object.fromEntries(tuned.get(ctx.caps.adapterName) ?? []);
}

/** Forgets tuned tiles, pending shapes and settings (tests). */
export function resetMatmulAutotune(): void {
  tuned.clear();
  pending.clear();
  Object.assign(settings, { enabled: null, store: null, repeats: 5, maxCandidates: 6, minFlop: MIN_TUNE_FLOP });
}
