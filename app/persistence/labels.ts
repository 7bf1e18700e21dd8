// The classroom's labels, one record each, kept until deleted (they are the user's work).
import { openWhetstoneDb } from './db.ts';
import type { LabelRecord } from './schema.ts';
import { guardWrite } from './storageErrors.ts';

/** All labels, oldest first. */
export async function listLabels(): Promise<LabelRecord[]> {
  const db = await openWhetstoneDb();
  return db.getAllFromIndex('labels', 'createdAt');
}

/** Inserts or replaces labels (one transaction). */
export function putLabels(labels: LabelRecord[]): Promise<void> {
  if (labels.length === 0) return Promise.resolve();
  return guardWrite(labels.length === 1 ? 'the label' : `${labels.length} labels`, async () => {
    const db = await openWhetstoneDb();
    const tx = db.transaction('labels', 'readwrite');
    await Promise.all([...labels.map((l) => tx.store.put(l)), tx.done]);
  });
}

export function deleteLabel(id: string): Promise<void> {
  return guardWrite('the deletion of a label', async () => {
    const db = await openWhetstoneDb();
    await db.delete('labels', id);
  });
}

export function clearLabels(): Promise<void> {
  return guardWrite('the deletion of all labels', async () => {
    const db = await openWhetstoneDb();
    await db.clear('labels');
  });
}
