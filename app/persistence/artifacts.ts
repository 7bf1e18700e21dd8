// Checkpoints (to resume a run) and finished adapters (to export), stored as binary blobs.
import { openWhetstoneDb } from './db.ts';
import type { AdapterRecord, CheckpointRecord } from './schema.ts';
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
