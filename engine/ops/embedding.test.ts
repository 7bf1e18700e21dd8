import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { embeddingBackward, embeddingForward, groupTokensById } from './embedding.ts';
import { embeddingBackwardRef, embeddingForwardRef } from './embedding.ref.ts';
import { roundToBf16, roundToF16, toBf16, toF16 } from './half.ts';
import { elementBytes, type StorageKind } from './operands.ts';
import { dotWith, expectClose, finiteDifference, randomArray, rng, toF32 } from './testing.ts';

const EXACT = { atol: 0, rtol: 0 };
const SUM = { atol: 1e-6, rtol: 1e-6 };

function f32(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

function randomIds(T: number, vocab: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: T }, () => Math.floor(r() * vocab));
}

interface Chunk {
  rowStart: number;
  rows: number;
}

/**
 * Forward and backward over a table split into `chunks` that live in ONE buffer as 256-byte
 * aligned slices (the layout a split weight uses), checked against the references per chunk.
 */
async function check(ctx: GpuContext, ids: Uint32Array, H: number, chunks: Chunk[], kind: StorageKind, seed: number): Promise<void> {
  const T = ids.length;
  // Only the rows the chunks hold are materialised: [first, end) of the vocabulary.
  const first = Math.min(...chunks.map((c) => c.rowStart));
  const V = chunks.reduce((m, c) => Math.max(m, c.rowStart + c.rows), 0) - first;
  const raw = randomArray(V * H, seed);
  const tableValues = kind === 'f16' ? roundToF16(raw) : kind === 'bf16' ? roundToBf16(raw) : f32(raw);
  const bytes = elementBytes(kind);
  // Each chunk's slice starts at a multiple of 256 bytes.
  const offsets: number[] = [];
  let at = 0;
  for (const c of chunks) {
    offsets.push(at);
    at += Math.ceil((c.rows * H * bytes) / 256) * 256;
  }
  const packed = new Uint8Array(Math.max(at, 4));
  chunks.forEach((c, k) => {
    const part = tableValues.subarray((c.rowStart - first) * H, (c.rowStart - first + c.rows) * H);
    const typed = kind === 'f16' ? toF16(part) : kind === 'bf16' ? toBf16(part) : toF32(part);
    packed.set(new Uint8Array(typed.buffer), offsets[k]);
  });
  const table = upload(ctx.device, packed);
  const sentinel = f32(randomArray(T * H, seed + 1));
  const out = upload(ctx.device, toF32(sentinel));
  const gids = upload(ctx.device, ids);
  const dOut = f32(randomArray(T * H, seed + 2));
  const gdOut = upload(ctx.device, toF32(dOut));
  const dTable0 = f32(randomArray(V * H, seed + 3));
  const gdTable = upload(ctx.device, toF32(dTable0));

  let want = sentinel;
  chunks.forEach((c, k) => {
    const slice = { buffer: table, offset: offsets[k], size: Math.ceil((c.rows * H * bytes) / 4) * 4 };
    embeddingForward(ctx, { ids: gids, table: slice, out, T, H, rowStart: c.rowStart, rows: c.rows, tableType: kind });
    want = embeddingForwardRef(ids, tableValues.subarray((c.rowStart - first) * H), want, H, c.rowStart, c.rows);
  });
  const tag = `T=${T} H=${H} chunks=${chunks.length} ${kind}`;
  expectClose(await ctx.readF32(out, T * H), want, EXACT, `out ${tag}`);

  // Backward per chunk into the chunk's own gradient buffer.
  for (const c of chunks) {
    const init = dTable0.subarray((c.rowStart - first) * H, (c.rowStart - first + c.rows) * H);
    const g = upload(ctx.device, toF32(init));
    embeddingBackward(ctx, { idsCpu: ids, dOut: gdOut, dTable: g, T, H, rowStart: c.rowStart, rows: c.rows });
    const ref = embeddingBackwardRef(ids, dOut, H, c.rowStart, c.rows).map((v, i) => v + init[i]);
    expectClose(await ctx.readF32(g, c.rows * H), ref, SUM, `dTable rows ${c.rowStart}.. ${tag}`);
    g.destroy();
  }
  // A chunk that holds none of the ids leaves its gradient untouched.
  embeddingBackward(ctx, { idsCpu: ids, dOut: gdOut, dTable: gdTable, T, H, rowStart: 1 << 30, rows: V });
  expectClose(await ctx.readF32(gdTable, V * H), dTable0, EXACT, 'empty chunk leaves dTable alone');
  for (const b of [table, out, gids, gdOut, gdTable]) b.destroy();
}

describe('embedding on a real adapter', () => {
  for (const T of [1, 3, 7]) {
    for (const H of [5, 24, 577]) {
      it(`lookup + scatter-add match float64, T=${T} H=${H} (one chunk, repeated ids)`, async () => {
        const ctx = await testContext();
        await check(ctx, randomIds(T, 4, T * 10 + H), H, [{ rowStart: 0, rows: 5 }], 'f32', T + H);
      });
    }
  }

  it('a table split in two chunks (slices of one buffer), ids in both and in neither', async () => {
    const ctx = await testContext();
    // Rows 0..3 in chunk 0 (4 x 16 x 4 B = 256 B), rows 4..9 in chunk 1; id 12 is in no chunk.
    const ids = Uint32Array.from([9, 0, 4, 3, 9, 12, 5, 0, 0, 8, 3]);
    await check(ctx, ids, 16, [{ rowStart: 0, rows: 4 }, { rowStart: 4, rows: 6 }], 'f32', 61);
  });

  it('packed f16 and bf16 tables split in two chunks, on every adapter', async () => {
    const ctx = await testContext();
    const ids = Uint32Array.from([9, 0, 4, 3, 9, 12, 5, 0, 0, 8, 3, 7, 7]);
    await check(ctx, ids, 32, [{ rowStart: 0, rows: 4 }, { rowStart: 4, rows: 6 }], 'f16', 62);
    await check(ctx, randomIds(5, 8, 63), 577, [{ rowStart: 0, rows: 3 }, { rowStart: 3, rows: 5 }], 'bf16', 64);
  });

  it('SmolLM2 width (H 576) with ids at the top of the 49152-row vocabulary (last 64-row chunk)', async () => {
    const ctx = await testContext();
    const ids = Uint32Array.from([49151, 49088, 17, 49120, 49151, 0, 49100]);
    await check(ctx, ids, 576, [{ rowStart: 49088, rows: 64 }], 'f32', 65);
  });

  it('tokens wrap into a 2-D grid past the per-dimension workgroup limit', async () => {
    const real = await testContext();
    const ctx = new GpuContext(real.device, { ...real.caps, maxComputeWorkgroupsPerDimension: 3 });
    // 9 distinct ids = 9 backward workgroups; 9 x 100 elements = 4 forward workgroups.
    await check(ctx, Uint32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 0]), 100, [{ rowStart: 0, rows: 9 }], 'f32', 66);
  });

  it('groups tokens by id in a fixed order (ids ascending, tokens ascending)', () => {
    const { meta, segments } = groupTokensById(Uint32Array.from([7, 5, 7, 9, 5, 6, 7]), 5, 3);
    // ids 5, 6, 7 are in [5, 8); 9 is not. segRow = id - 5; segStart; perm.
    expect(segments).toBe(3);
    expect(Array.from(meta)).toEqual([0, 1, 2, 0, 2, 3, 6, 1, 4, 5, 0, 2, 6]);
  });

  it('the reference backward matches finite differences', () => {
    const ids = [2, 0, 2, 5, 1];
    const H = 3;
    const [rowStart, rows] = [1, 3];
    const table = randomArray(rows * H, 71);
    const dOut = randomArray(ids.length * H, 72);
    const base = randomArray(ids.length * H, 73);
    const numeric = finiteDifference((v) => dotWith(embeddingForwardRef(ids, v, base, H, rowStart, rows), dOut), table);
    expectClose(numeric, embeddingBackwardRef(ids, dOut, H, rowStart, rows), { atol: 1e-7, rtol: 1e-6 }, 'dL/dtable');
  });
});
