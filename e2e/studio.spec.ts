// The studio on a real WebGPU adapter (SwiftShader): it starts, names the adapter and its limits,
// lays out the panels, and keeps runs in IndexedDB across a reload.
import { expect, test } from '@playwright/test';

const PANELS = ['Model', 'Dataset', 'Recipe', 'Run', 'Compare', 'Export', 'Runs'];

test('the studio loads and shows the adapter, f16 and memory limits', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');

  const gpu = page.getByRole('banner');
  await expect(page.getByTestId('adapter-name')).toContainText(/swiftshader/i);
  // SwiftShader has no shader-f16.
  await expect(page.getByTestId('adapter-f16')).toHaveText('no');
  // The engine asks for the adapter's own limits: SwiftShader allows 1 GiB, above WebGPU's defaults.
  await expect(page.getByTestId('adapter-max-buffer')).toHaveText(/\d+(\.\d)? (MiB|GiB)/);
  await expect(page.getByTestId('adapter-max-binding')).toHaveText(/\d+(\.\d)? (MiB|GiB)/);
  await expect(gpu.getByRole('note')).toContainText('software (CPU) adapter');

  for (const name of PANELS) {
    await expect(page.getByRole('region', { name, exact: true })).toBeVisible();
  }
  // Before a model and a dataset are chosen, training cannot start, and the panel says why.
  const model = page.getByRole('region', { name: 'Model', exact: true });
  await expect(model.getByLabel('Model', { exact: true }).locator('option:checked')).toContainText('Demo');
  const run = page.getByRole('region', { name: 'Run', exact: true });
  await expect(run.getByRole('button', { name: 'Start training' })).toBeDisabled();
  await expect(run).toContainText('To start: load a model, choose a dataset.');
  await expect(run.getByRole('status')).toHaveText('Not started');

  await page.screenshot({ path: 'e2e/screenshots/studio.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('runs are kept in IndexedDB and survive a reload', async ({ page }) => {
  await page.goto('/');
  const runs = page.getByRole('region', { name: 'Runs', exact: true });
  await expect(runs).toBeVisible();

  const id = `e2e-${Date.now()}`;
  // Save through the studio's own store action (the path the trainer will use).
  await page.evaluate(async (runId) => {
    const hook = window.__whetstone;
    if (!hook) throw new Error('window.__whetstone is missing');
    await hook.saveRun({
      id: runId,
      method: 'sft',
      model: 'HuggingFaceTB/SmolLM2-135M-Instruct',
      status: 'completed',
      steps: 120,
      maxSteps: 120,
      finalLoss: 1.2345,
      createdAt: Date.now(),
      recipe: { learning_rate: 2e-4, lora_r: 8 },
    });
  }, id);
  const item = runs.getByRole('listitem', { name: `Run ${id}` });
  await expect(item).toContainText('SmolLM2-135M-Instruct');

  await page.reload();
  await expect(page.getByTestId('adapter-name')).toBeVisible();
  await expect(item).toContainText('step 120 / 120');
  await expect(item).toContainText('loss 1.2345');
  await page.getByRole('region', { name: 'Runs', exact: true }).screenshot({ path: 'e2e/screenshots/runs-after-reload.png' });

  // Deleting is real too: it is gone after another reload.
  page.once('dialog', (d) => void d.accept());
  await item.getByRole('button', { name: `Delete run ${id}` }).click();
  await expect(item).toHaveCount(0);
  await page.reload();
  await expect(runs.getByText('No runs yet')).toBeVisible();
});

test('a full storage quota is reported clearly', async ({ page, context }) => {
  await page.goto('/');
  await expect(page.getByRole('region', { name: 'Runs', exact: true })).toBeVisible();
  const cdp = await context.newCDPSession(page);
  const origin = new URL(page.url()).origin;
  // Leave (almost) no room for this origin, then save a run with a large recipe.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 });
  const outcome = await page.evaluate(async () => {
    try {
      await window.__whetstone!.saveRun({
        id: 'too-big',
        method: 'dpo',
        model: 'x',
        status: 'running',
        steps: 0,
        maxSteps: 10,
        finalLoss: null,
        createdAt: Date.now(),
        recipe: { notes: 'x'.repeat(4 * 1024 * 1024) },
      });
      return 'saved';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  expect(outcome).toMatch(/^StorageFull: Browser storage is full/);
  const alert = page.getByRole('region', { name: 'Runs', exact: true }).getByRole('alert');
  await expect(alert).toContainText('Browser storage is full');
  await expect(alert).toContainText('Delete old runs');
  await page.getByRole('region', { name: 'Runs', exact: true }).screenshot({ path: 'e2e/screenshots/storage-full.png' });
});

test('a lost GPU device is explained, and "Try again" gets a new one', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('adapter-name')).toContainText(/swiftshader/i);
  // A real loss: the GPU process (where Chromium runs WebGPU) crashes and restarts.
  await page.evaluate(() => {
    const chrome = (window as unknown as { chrome?: { gpuBenchmarking?: { crashGpuProcess(): void } } }).chrome;
    if (!chrome?.gpuBenchmarking) throw new Error('needs --enable-gpu-benchmarking');
    chrome.gpuBenchmarking.crashGpuProcess();
  });
  const screen = page.getByRole('main', { name: 'The GPU device was lost' });
  await expect(screen).toBeVisible();
  await expect(screen.getByRole('alert')).toContainText('The GPU device was lost');
  await expect(screen.getByRole('alert')).toContainText('resume from the last checkpoint');
  await page.screenshot({ path: 'e2e/screenshots/device-lost.png' });
  await screen.getByRole('button', { name: 'Try again' }).click();
  await expect(page.getByTestId('adapter-name')).toContainText(/swiftshader/i);
});
