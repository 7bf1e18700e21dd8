// What goes wrong, explained: invalid dataset rows by line, a recipe too big for the GPU, a GPU
// device lost mid-run (resumed from the last checkpoint), and a page reloaded mid-run.
import { expect, test } from '@playwright/test';
import { loadDemoModel, openStudio, region, runStatus, setDataset, setTinyRecipe } from './helpers.ts';

test('a bad dataset shows its errors by line, and training waits for "skip invalid rows"', async ({ page }) => {
  await openStudio(page);
  const dataset = await setDataset(page, 'bad-sft.jsonl');
  await expect(dataset.getByTestId('dataset-count')).toHaveText('2 rows');
  const errors = dataset.getByRole('list', { name: 'Dataset errors' });
  await expect(errors.getByRole('listitem')).toHaveCount(2);
  await expect(errors.getByRole('listitem').nth(0)).toContainText('line 2');
  await expect(errors.getByRole('listitem').nth(0)).toContainText('robot');
  await expect(errors.getByRole('listitem').nth(1)).toContainText('line 4');
  await dataset.screenshot({ path: 'e2e/screenshots/dataset-errors.png' });

  await loadDemoModel(page);
  const start = region(page, 'Run').getByRole('button', { name: 'Start training' });
  await expect(start).toBeDisabled();
  await expect(region(page, 'Run')).toContainText('fix the invalid rows or choose to skip them');
  await dataset.getByLabel(/Skip invalid rows/).check();
  await expect(start).toBeEnabled();

  // A bundled demo dataset in one click: its format sets the method.
  await dataset.getByRole('button', { name: 'Demo DPO dataset' }).click();
  await expect(dataset.getByTestId('dataset-count')).toHaveText(/^\d+ pairs$/);
  await expect(dataset.getByRole('list', { name: 'Dataset errors' })).toHaveCount(0);
  await expect(region(page, 'Recipe').getByLabel('Method')).toHaveValue('dpo');
});

test('a recipe too big for the GPU is explained before training, with what to change', async ({ page }) => {
  await openStudio(page);
  await loadDemoModel(page);
  await setDataset(page, 'tiny-sft.jsonl');
  await setTinyRecipe(page, { 'Batch size': '4096', 'Max length': '1000000' });
  const memory = region(page, 'Model').getByTestId('memory-estimate');
  await expect(memory.getByRole('alert')).toContainText('Does not fit on this GPU');
  await expect(memory.getByRole('alert')).toContainText(/per_device_train_batch_size|max_length|batch|length/);
  const run = region(page, 'Run');
  await expect(run.getByRole('button', { name: 'Start training' })).toBeDisabled();
  await expect(run).toContainText('does not fit');
  // Trying anyway: the engine refuses with GpuOutOfMemory, and the studio says what to change.
  await run.getByRole('button', { name: 'Start anyway' }).click();
  const alert = run.getByRole('alert');
  await expect(alert).toHaveAttribute('data-error-name', 'GpuOutOfMemory');
  await expect(alert).toContainText('Lower the batch size');
  await expect(await runStatus(page)).toHaveText(/— failed$/);
  await page.screenshot({ path: 'e2e/screenshots/out-of-memory.png', fullPage: true });
});

test('a GPU device lost mid-run: a new device, and training resumes from the last checkpoint', async ({ page }) => {
  test.setTimeout(600_000);
  await openStudio(page);
  await loadDemoModel(page);
  await setDataset(page, 'tiny-sft.jsonl');
  await setTinyRecipe(page, { 'Max steps': '3' });
  await region(page, 'Run').getByRole('button', { name: 'Start training' }).click();
  const status = await runStatus(page);
  // Lose the device once a checkpoint is saved and steps are left.
  await expect(region(page, 'Run')).toContainText(/checkpoint saved at step 1(?!\d)/, { timeout: 240_000 });
  await page.evaluate(() => {
    const chrome = (window as unknown as { chrome?: { gpuBenchmarking?: { crashGpuProcess(): void } } }).chrome;
    if (!chrome?.gpuBenchmarking) throw new Error('needs --enable-gpu-benchmarking');
    chrome.gpuBenchmarking.crashGpuProcess();
  });
  const notes = region(page, 'Run').getByRole('list', { name: 'Run notes' });
  await expect(notes).toContainText('The GPU device was lost at step', { timeout: 60_000 });
  await expect(status).toHaveText('Step 3 / 3 — done', { timeout: 300_000 });
  await expect(notes).toContainText(/Resumed from the checkpoint at step 1(?!\d)/);
  await region(page, 'Run').screenshot({ path: 'e2e/screenshots/device-lost-resumed.png' });
  const item = region(page, 'Runs').getByRole('listitem').first();
  await expect(item).toContainText('completed');
  await expect(item).toContainText('step 3 / 3');
});

test('a run interrupted by a reload resumes from its last checkpoint', async ({ page }) => {
  test.setTimeout(600_000);
  await openStudio(page);
  await loadDemoModel(page);
  await setDataset(page, 'tiny-sft.jsonl');
  await setTinyRecipe(page, { 'Max steps': '3' });
  await region(page, 'Run').getByRole('button', { name: 'Start training' }).click();
  await expect(region(page, 'Run')).toContainText(/checkpoint saved at step 1(?!\d)/, { timeout: 240_000 });
  await page.reload();
  const notes = region(page, 'Run').getByRole('list', { name: 'Run notes' });
  await expect(notes).toContainText('interrupted at step', { timeout: 60_000 });
  await expect(await runStatus(page)).toHaveText('Step 3 / 3 — done', { timeout: 300_000 });
  await expect(notes).toContainText(/Resumed from the checkpoint at step 1(?!\d)/);
  await expect(region(page, 'Dataset').getByTestId('dataset-count')).toHaveText('3 rows');
  const item = region(page, 'Runs').getByRole('listitem').first();
  await expect(item).toContainText('completed');
  await page.screenshot({ path: 'e2e/screenshots/resumed-after-reload.png', fullPage: true });
});
