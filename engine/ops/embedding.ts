// Token embedding: lookup for one row chunk of the table, and the scatter-add backward.
//   embeddingForward:  out[t, :] = table[ids[t] - rowStart, :] for ids[t] in [rowStart, rowStart + rows)
//                      (other rows of out untouched: call once per chunk of a split table)
//   embeddingBackward: dTable[id - rowStart, :] += sum_{t: ids[t] == id} dOut[t, :]
// ids (T) u32; table (rows, H) f32 or packed f16 / bf16 (operands.ts); out, dOut (T, H)
// f32; dTable (rows, H) f32. Naive equivalents: embedding.ref.ts.
import { upload } from '../gpu/buffers.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { GpuValidationError } from '../gpu/errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/embedding.wgsl?raw';
import { operandWgsl, type StorageKind } from './operands.ts';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'embedding', code };

export interface EmbeddingForwardArgs {
  ids: Binding; // (T) u32
  table: Binding; // (rows, H) chunk of the table, f32 or f16
  out: Binding; // (T, H) f32
  T: number;
  H: number;
  rowStart: number; // first vocabulary row held by this chunk
  rows: number; // rows in this chunk
  tableType?: StorageKind;
}

export interface EmbeddingBackwardArgs {
  idsCpu: Uint32Array; // (T) the same ids, on the CPU
  dOut: Binding; // (T, H) f32
  dTable: Binding; // (rows, H) f32 chunk gradient, +=
  T: number;
  H: number;
  rowStart: number;
  rows: number;
}

function preamble(type: StorageKind | undefined): string {
  return operandWgsl({ name: 'table', kind: type ?? 'f32', binding: 2, batched: false });
}

function params(a: { T: number; H: number; rowStart: number; rows: number }, rowStride: number, segments: number): Params {
  return new Params().u32({ T: a.T, H: a.H, row_start: a.rowStart, rows: a.rows, row_stride: rowStride, segments, table_off: 0, table_ld: a.H });
}

/** out[t, :] = table[ids[t] - rowStart, :] for the ids this chunk holds. */
export function embeddingForward(ctx: GpuContext, a: EmbeddingForwardArgs): void {
  const grid = flatGrid(ctx, Math.ceil((a.T * a.H) / 256));
  ctx.dispatch({ source: SOURCE, entryPoint: 'embedding_forward', preamble: preamble(a.tableType) }, [a.ids, a.table, a.out], params(a, grid.rowStride, 0), grid.workgroups);
}

/**
 * Token indices grouped by id for the ids in [rowStart, rowStart + rows): meta =
 * [segRow (segments), segStart (segments + 1), perm (tokens)], ids ascending, tokens ascending
 * within an id. segRow is relative to rowStart.
 */
export function groupTokensById(ids: Uint32Array, rowStart: number, rows: number): { meta: Uint32Array; segments: number } {
  const byId = new Map<number, number[]>();
  ids.forEach((id, t) => {
    if (id < rowStart || id >= rowStart + rows) return;
    const list = byId.get(id);
    if (list) list.push(t);
    else byId.set(id, [t]);
  });
  const order = [...byId.keys()].sort((x, y) => x - y);
  const segments = order.length;
  let count = 0;
  for (const id of order) count += byId.get(id)!.length;
  const meta = new Uint32Array(2 * segments + 1 + count);
  let k = 0;
  order.forEach((id, s) => {
    meta[s] = id - rowStart;
    meta[segments + s] = k;
    for (const t of byId.get(id)!) meta[2 * segments + 1 + k++] = t;
  });
  meta[2 * segments] = k;
  return { meta, segments };
}

/** dTable[id - rowStart, :] += sum of dOut[t, :] over the tokens t with that id (deterministic). */
export function embeddingBackward(ctx: GpuContext, a: EmbeddingBackwardArgs): void {
  if (a.idsCpu.length < a.T) throw new GpuValidationError('embedding backward', `idsCpu has ${a.idsCpu.length} ids, T is ${a.T}`);
  const { meta, segments } = groupTokensById(a.idsCpu.subarray(0, a.T), a.rowStart, a.rows);
  if (segments === 0) return;
  // A fresh buffer per call (not the pool: a queued writeBuffer would land before earlier
  // recorded dispatches of the same encoder ran). It is freed by GC after its last use.
  const metaBuffer = upload(ctx.device, meta, undefined, 'embedding backward: token groups');
  const grid = flatGrid(ctx, segments);
  ctx.dispatch({ source: SOURCE, entryPoint: 'embedding_backward', preamble: preamble('f32') }, [null, null, null, metaBuffer, a.dOut, a.dTable], params(a, grid.rowStride, segments), grid.workgroups);
}
