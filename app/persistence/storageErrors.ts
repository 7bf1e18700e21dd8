// Storage failures the user can act on. A full quota (QuotaExceededError, from a request or as
// the reason a transaction aborted) becomes a StorageError that says how much is used and what
// to delete; IndexedDB being unavailable (some private modes) says so too.
import { formatBytes } from '../format.ts';

export class StorageError extends Error {
  readonly hint: string;
  constructor(name: 'StorageFull' | 'StorageUnavailable' | 'StorageFailed', message: string, hint: string) {
    super(message);
    this.name = name;
    this.hint = hint;
  }
}

export function isQuotaExceeded(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const name = (e as { name?: unknown }).name;
  // Firefox used NS_ERROR_DOM_QUOTA_REACHED before it adopted the standard name.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

export interface QuotaEstimate {
  usage?: number;
  quota?: number;
}

/** Builds the message for a full quota; `estimate` is navigator.storage.estimate() when known. */
export function storageFullError(what: string, estimate?: QuotaEstimate): StorageError {
  // Only quote the numbers when they agree that storage is (nearly) full: browsers may report a
  // quota that is not the one that was hit (a per-write limit, an override, eviction pressure).
  const nearlyFull = estimate?.usage !== undefined && estimate.quota !== undefined && estimate.quota > 0 && estimate.usage >= 0.8 * estimate.quota;
  const used = nearlyFull ? ` (this site uses ${formatBytes(estimate.usage!)} of the ${formatBytes(estimate.quota!)} the browser allows it)` : '';
  return new StorageError(
    'StorageFull',
    `Browser storage is full: could not save ${what}${used}.`,
    'Delete old runs in the Runs panel, or free disk space (browsers give each site a share of the free disk), then try again.',
  );
}

export function toStorageError(what: string, e: unknown, estimate?: QuotaEstimate): StorageError {
  if (e instanceof StorageError) return e;
  if (isQuotaExceeded(e)) return storageFullError(what, estimate);
  const message = e instanceof Error ? e.message : String(e);
  return new StorageError('StorageFailed', `Could not save ${what}: ${message}`, 'Reload the page and try again.');
}

async function estimate(): Promise<QuotaEstimate | undefined> {
  try {
    return await navigator.storage?.estimate();
  } catch {
    return undefined;
  }
}

/** Runs a write; a quota or other storage failure is rethrown as a StorageError naming `what`. */
export async function guardWrite<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    throw toStorageError(what, e, isQuotaExceeded(e) ? await estimate() : undefined);
  }
}
