// Run summaries: list, save, delete (a delete removes the run's metrics, checkpoints and adapter too).
import { openWhetstoneDb } from './db.ts';
import type { RunRecord } from './schema.ts';
import { guardWrite } from './storageErrors.ts';

/** All runs, newest first. */
export async function listRuns(): Promise<RunRecord[]> {
  const db = await openWhetstoneDb();
  const runs = await db.getAllFromIndex('runs', 'createdAt');
  return runs.reverse();
}

/** Inserts or replaces a run summary. */
export function putRun(run: RunRecord): Promise<void> {
  return guardWrite(`run ${run.id}`, async () => {
    const db = await openWhetstoneDb();
    await db.put('runs', run);
  });
}

export function deleteRun(id: string): Promise<void> {
  return guardWrite(`the deletion of run ${id}`, async () => {
    const db = await openWhetstoneDb();
    const tx = db.transaction(['runs', 'metrics', 'checkpoints', 'adapters', 'datasets'], 'readwrite');
    const range = IDBKeyRange.bound([id, -Infinity], [id, Infinity]);
    await Promise.all([
      tx.objectStore('runs').delete(id),
      tx.objectStore('metrics').delete(range),
      tx.objectStore('checkpoints').delete(range),
      tx.objectStore('adapters').delete(id),
      tx.objectStore('datasets').delete(id),
      tx.done,
    ]);
  });
}
