// The recipe a dropped dataset adjusts is the recipe as it was when the file was chosen: a value
// the user changes while the file's bytes are still being read (or the file inspected) stays
// theirs. The engine is replaced by a canned report: this tests the store's ordering only.
import { describe, expect, it, vi } from 'vitest';
import type { DatasetReport } from '../../engine/api/contract.ts';

const report: DatasetReport = {
  fileName: 'rows.jsonl',
  format: 'OpenAI messages',
  compression: null,
  method: 'sft',
  rows: 3,
  countLabel: '3 rows',
  errors: [],
  errorCount: 0,
  preview: [],
  pairPreview: null,
  maskPreview: null,
  tokenStats: { min: 10, max: 40, mean: 20, p50: 20, p95: 38, trainedTokens: 30, truncated: 0 },
};

vi.mock('../engineClient.ts', async (importOriginal) => ({ ...(await importOriginal<object>()), inspectDataset: vi.fn(async () => report) }));

const { useStudio } = await import('./index.ts');

describe('dataset defaults and the user', () => {
  it('a value changed while the file is still being read stays; untouched values take the data defaults', async () => {
    const before = useStudio.getState().recipe;
    let deliver!: (bytes: { name: string; data: ArrayBuffer }) => void;
    const bytes = new Promise<{ name: string; data: ArrayBuffer }>((resolve) => (deliver = resolve));
    const chosen = useStudio.getState().setDatasetFile(bytes);
    useStudio.getState().setRecipe({ max_steps: 3 }); // typed while the bytes are read
    deliver({ name: 'rows.jsonl', data: new ArrayBuffer(8) });
    await chosen;
    const after = useStudio.getState().recipe;
    expect(after.max_steps).toBe(3);
    expect(after.max_length).not.toBe(before.max_length); // from the token p95
    expect(useStudio.getState().dataNote).not.toBeNull();
  });

  it('a file that cannot be read is a dataset error, not an unhandled rejection', async () => {
    await useStudio.getState().setDatasetFile(Promise.reject(new Error('NotReadableError: the file changed on disk')));
    expect(useStudio.getState().dataset.status).toBe('error');
    expect(useStudio.getState().dataset.error?.message).toContain('the file changed on disk');
  });
});
