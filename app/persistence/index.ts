// The studio's browser storage (IndexedDB `whetstone`). The page owns it: the engine stays free
// of browser storage so it runs the same in Node; run results reach the page as progress events
// and method results, and the store saves them here.
export * from './schema.ts';
export { openWhetstoneDb } from './db.ts';
export * from './runs.ts';
export * from './metrics.ts';
export * from './artifacts.ts';
export * from './labels.ts';
export { StorageError, guardWrite, isQuotaExceeded, storageFullError, toStorageError } from './storageErrors.ts';
