// The storage-failure messages (IndexedDB itself is browser-only and is tested in e2e/).
import { describe, expect, it } from 'vitest';
import { guardWrite, isQuotaExceeded, StorageError, storageFullError, toStorageError } from './storageErrors.ts';

describe('storage errors', () => {
  it('recognises a quota failure by its DOMException name', () => {
    expect(isQuotaExceeded(new DOMException('full', 'QuotaExceededError'))).toBe(true);
    expect(isQuotaExceeded({ name: 'NS_ERROR_DOM_QUOTA_REACHED' })).toBe(true);
    expect(isQuotaExceeded(new DOMException('nope', 'AbortError'))).toBe(false);
    expect(isQuotaExceeded(null)).toBe(false);
  });

  it('says what could not be saved, how full storage is, and what to do', () => {
    const e = storageFullError('run r1', { usage: 9.5 * 2 ** 30, quota: 10 * 2 ** 30 });
    expect(e.name).toBe('StorageFull');
    expect(e.message).toBe('Browser storage is full: could not save run r1 (this site uses 9.5 GiB of the 10.0 GiB the browser allows it).');
    expect(e.hint).toContain('Delete old runs');
  });

  it('leaves out usage figures that do not show a full store', () => {
    expect(storageFullError('run r1', { usage: 1024, quota: 10 * 2 ** 30 }).message).toBe('Browser storage is full: could not save run r1.');
    expect(storageFullError('run r1').message).toBe('Browser storage is full: could not save run r1.');
  });

  it('maps other failures to StorageFailed and keeps StorageErrors as they are', () => {
    const other = toStorageError('run r1', new Error('disk on fire'));
    expect(other.name).toBe('StorageFailed');
    expect(other.message).toBe('Could not save run r1: disk on fire');
    const same = new StorageError('StorageUnavailable', 'm', 'h');
    expect(toStorageError('x', same)).toBe(same);
  });

  it('guardWrite rethrows a quota failure as StorageFull', async () => {
    const thrown = await guardWrite('checkpoint 3', async () => {
      throw new DOMException('quota', 'QuotaExceededError');
    }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(StorageError);
    expect((thrown as StorageError).name).toBe('StorageFull');
    expect((thrown as StorageError).message).toContain('could not save checkpoint 3');
    await expect(guardWrite('x', async () => 7)).resolves.toBe(7);
  });
});
