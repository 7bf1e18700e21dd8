// Checkpoints (to resume a run) and finished adapters (to export), stored as binary blobs.
import { openWhetstoneDb } from './db.ts';
import type { AdapterRecord, CheckpointRecord, DatasetRecord } from './schema.ts';
import { guardWrite } from './storageErrors.ts';

export function putCheckpoint(checkpoint: CheckpointRecord): Promise<void> {
  return guardWrite(`the checkpoint of run ${checkpoint.runId} at step ${checkpoint.step}`, async () => {
    const db = await openWhetstoneDb();
    await db.put('checkpoints', checkpoint);
  });
}

/** The checkpoint with the highest step, or undefined when the run has none. */
export async function latestCheckpoint(runId: string): Promise<CheckpointRecord | undefined> {
  const db = await openWhetstoneDb();
  const cursor = await db.transaction('checkpoints').store.openCursor(IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]), 'prev');
  return cursor?.value;
}

/** Deletes a run's checkpoints before `step` (the latest one is all a resume needs). */
export function pruneCheckpoints(runId: string, step: number): Promise<void> {
  return guardWrite(`the cleanup of old checkpoints of run ${runId}`, async () => {
    const db = await openWhetstoneDb();
    await db.delete('checkpoints', IDBKeyRange.bound([runId, -Infinity], [runId, step], false, true));
  });
}

export function putAdapter(adapter: AdapterRecord): Promise<void> {
  return guardWrite(`the adapter of run ${adapter.runId}`, async () => {
    const db = await openWhetstoneDb();
    await db.put('adapters', adapter);
  });
}

export async function getAdapter(runId: string): Promise<AdapterRecord | undefined> {
  const db = await openWhetstoneDb();
  return db.get('adapters', runId);
}

/** The training file of a run (kept so an interrupted run can resume after a reload). */
export function putDataset(dataset: DatasetRecord): Promise<void> {
  return guardWrite(`the dataset of run ${dataset.runId}`, async () => {
    const db = await openWhetstoneDb();
    await db.put('datasets', dataset);
  });
}

export async function getDataset(runId: string): Promise<DatasetRecord | undefined> {
  const db = await openWhetstoneDb();
  return db.get('datasets', runId);
}

/** Blob or ArrayBuffer parts as ArrayBuffers (what the engine and the zip writer take). */
export async function asBuffers(parts: Record<string, Blob | ArrayBuffer>): Promise<Record<string, ArrayBuffer>> {
  const out: Record<string, ArrayBuffer> = {};
  for (const [name, part] of Object.entries(parts)) out[name] = part instanceof Blob ? await part.arrayBuffer() : part;
  return out;
}
