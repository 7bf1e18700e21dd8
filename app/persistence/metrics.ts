// Per-step metrics of a run, written in batches (one transaction per batch, not per step).
import { openWhetstoneDb } from './db.ts';
import type { MetricRecord } from './schema.ts';
import { guardWrite } from './storageErrors.ts';

export function appendMetrics(rows: MetricRecord[]): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  return guardWrite(`${rows.length} metric rows of run ${rows[0].runId}`, async () => {
    const db = await openWhetstoneDb();
    const tx = db.transaction('metrics', 'readwrite');
    await Promise.all([...rows.map((r) => tx.store.put(r)), tx.done]);
  });
}

/** A run's metrics in step order. */
export async function listMetrics(runId: string): Promise<MetricRecord[]> {
  const db = await openWhetstoneDb();
  return db.getAll('metrics', IDBKeyRange.bound([runId, -Infinity], [runId, Infinity]));
}
