// Opens (and on first use creates) the `whetstone` IndexedDB database. One connection per page.
import { openDB, type IDBPDatabase } from 'idb';
import { DB_NAME, DB_VERSION, type WhetstoneDb } from './schema.ts';
import { StorageError } from './storageErrors.ts';

export type Db = IDBPDatabase<WhetstoneDb>;

let opening: Promise<Db> | null = null;

export function openWhetstoneDb(): Promise<Db> {
  if (opening) return opening;
  if (typeof indexedDB === 'undefined') {
    return Promise.reject(
      new StorageError('StorageUnavailable', 'This browser does not offer IndexedDB here, so runs cannot be kept.', 'Leave private browsing mode, or allow site data for this page.'),
    );
  }
  opening = openDB<WhetstoneDb>(DB_NAME, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        const runs = db.createObjectStore('runs', { keyPath: 'id' });
        runs.createIndex('createdAt', 'createdAt');
        const metrics = db.createObjectStore('metrics', { keyPath: ['runId', 'step'] });
        metrics.createIndex('runId', 'runId');
        const checkpoints = db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
        checkpoints.createIndex('runId', 'runId');
        db.createObjectStore('adapters', { keyPath: 'runId' });
      }
      if (oldVersion < 2) db.createObjectStore('datasets', { keyPath: 'runId' });
      // v3 adds a store and touches no other: runs, checkpoints and adapters are kept as they are.
      if (oldVersion < 3) db.createObjectStore('labels', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
    },
    blocking() {
      // A newer version of the studio opened in another tab: let it upgrade.
      void opening?.then((db) => db.close());
      opening = null;
    },
    terminated() {
      opening = null;
    },
  }).catch((e: unknown) => {
    opening = null;
    const message = e instanceof Error ? e.message : String(e);
    throw new StorageError('StorageUnavailable', `Could not open the browser database: ${message}`, 'Allow site data for this page, or close other Whetstone tabs and reload.');
  });
  return opening;
}
