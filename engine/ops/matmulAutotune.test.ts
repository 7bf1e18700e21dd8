// The matmul autotune on a real adapter, forced on for one tiny shape and two candidates (it is off on
// CPU adapters by default). Checks what it does, never which tile is faster.
import { afterEach, describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { matmul, matmulKBlock, matmulSpec, matmulTile, type MatmulTile } from './matmul.ts';
import type { PlainMatmulArgs as MatmulArgs } from './matmulSubgroup.ts';
import { autotunePendingMatmuls, configureMatmulAutotune, matmulShapeKey, resetMatmulAutotune, tileCandidates, tileFits, tunedMatmulTile, type TileStore } from './matmulAutotune.ts';
import { toBf16 } from './half.ts';
import { randomArray, toF32 } from './testing.ts';

afterEach(() => resetMatmulAutotune());

describe('matmul autotune', () => {
  it('is off on CPU adapters unless configured: no pending shapes, default tiles', async () => {
    const ctx = await testContext();
    if (!ctx.caps.isCpu) return; // on a real GPU the default is on (covered below)
    const args = { a: null!, b: null!, out: null!, M: 512, N: 512, K: 512 } as MatmulArgs;
    expect(tunedMatmulTile(ctx, args)).toBeUndefined();
    expect(await autotunePendingMatmuls(ctx)).toEqual([]);
  });

  it('tunes a shape after its first use, keeps one of its candidates, results bitwise unchanged, stores per adapter', async () => {
    const ctx = await testContext();
    const saved: Record<string, Record<string, unknown>> = {};
    const store: TileStore = { load: () => null, save: (adapter, tiles) => (saved[adapter] = tiles) };
    configureMatmulAutotune({ enabled: true, store, repeats: 1, maxCandidates: 2, minFlop: 0 });
    const M = 8;
    const N = 36;
    const K = 40;
    const args: MatmulArgs = {
      a: upload(ctx.device, toF32(randomArray(M * K, 1))),
      b: upload(ctx.device, toF32(randomArray(N * K, 2))),
      out: upload(ctx.device, new Float32Array(M * N)),
      M,
      N,
      K,
      transB: true,
    };
    matmul(ctx, args); // first use: default tile, shape now pending
    const before = await ctx.readF32(args.out as GPUBuffer, M * N);
    const results = await autotunePendingMatmuls(ctx);
    expect(results).toHaveLength(1);
    const [r] = results;
    expect(r.candidates).toHaveLength(2);
    expect(r.candidates.map((c) => c.tile)).toContainEqual(matmulTile(M, matmulKBlock(ctx)));
    for (const c of r.candidates) expect(c.ms).toBeGreaterThanOrEqual(0);
    expect(r.candidates.map((c) => c.tile)).toContainEqual(r.tile);
    expect(matmulSpec(ctx, args).constants).toMatchObject(r.tile);
    expect(saved[ctx.caps.adapterName]).toBeDefined();

    matmul(ctx, args);
    const after = await ctx.readF32(args.out as GPUBuffer, M * N);
    expect(Array.from(after)).toEqual(Array.from(before)); // same k order in every tile
    expect(await autotunePendingMatmuls(ctx)).toEqual([]); // nothing left to tune
  });

  it('the default K block (8 on SwiftShader, 32 elsewhere) changes no bit of a result: the other depth, stored as tuned, gives the same output', async () => {
    const ctx = await testContext();
    const swiftShader = /swiftshader/i.test(`${ctx.caps.adapterName} ${ctx.caps.architecture}`);
    expect(matmulKBlock(ctx)).toBe(swiftShader ? 8 : 32);
    // Not multiples of any tile; bf16 weights as nn.Linear (transB), with a bias: a forward projection.
    const M = 37;
    const N = 45;
    const K = 76;
    const args: MatmulArgs = {
      a: upload(ctx.device, toF32(randomArray(M * K, 3))),
      b: upload(ctx.device, toBf16(randomArray(N * K, 4))),
      bias: upload(ctx.device, toF32(randomArray(N, 5))),
      out: upload(ctx.device, new Float32Array(M * N)),
      M,
      N,
      K,
      transB: true,
      bType: 'bf16',
    };
    expect(matmulSpec(ctx, args).constants).toMatchObject({ TK: matmulKBlock(ctx) });
    matmul(ctx, args);
    const byDefault = await ctx.readF32(args.out as GPUBuffer, M * N);
    const other = { ...matmulTile(M), TK: matmulKBlock(ctx) === 8 ? 32 : 8 };
    configureMatmulAutotune({ enabled: true, store: { load: () => ({ [matmulShapeKey(args)]: other }), save: () => {} } });
    expect(matmulSpec(ctx, args).constants).toMatchObject(other);
    matmul(ctx, args);
    const byOther = await ctx.readF32(args.out as GPUBuffer, M * N);
    expect(Array.from(byOther)).toEqual(Array.from(byDefault));
    expect(byDefault.some((v) => v !== 0)).toBe(true);
  });

  it('candidates fit the device and the kernel (RM <= 8, rows in vec4s, K blocks of 4s); stored junk is refused', async () => {
    const ctx = await testContext();
    for (const M of [1, 8, 33, 512]) {
      const list = tileCandidates(ctx, M, matmulTile(M, matmulKBlock(ctx)));
      expect(list[0]).toEqual(matmulTile(M, matmulKBlock(ctx)));
      for (const t of list) expect(tileFits(ctx, t, Infinity)).toBe(true);
    }
    expect(tileFits(ctx, { WG_X: 16, WG_Y: 8, RM: 3, TK: 32 }, Infinity)).toBe(false);
    expect(tileFits(ctx, { WG_X: 64, WG_Y: 64, RM: 8, TK: 32 }, Infinity)).toBe(false);
    const args = { a: null!, b: null!, out: null!, M: 64, N: 64, K: 64 } as MatmulArgs;
    const good = { WG_X: 16, WG_Y: 8, RM: 8, TK: 16 };
    const store = (t: MatmulTile): TileStore => ({ load: () => ({ [matmulShapeKey(args)]: t }), save: () => {} });
    configureMatmulAutotune({ enabled: true, store: store(good) });
    expect(tunedMatmulTile(ctx, args)).toEqual(good);
    resetMatmulAutotune();
    configureMatmulAutotune({ enabled: true, store: store({ WG_X: 16, WG_Y: 8, RM: 8, TK: 30 }) });
    expect(tunedMatmulTile(ctx, args)).toBeUndefined();
  });
});
