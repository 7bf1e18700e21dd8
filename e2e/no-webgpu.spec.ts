// Chromium without the WebGPU flags: requestAdapter() returns null (or there is no navigator.gpu),
// and the studio explains what to do instead of showing a broken app.
import { expect, test } from '@playwright/test';

test('without WebGPU the start screen explains how to get it', async ({ page }) => {
  await page.goto('/');
  const screen = page.getByRole('main', { name: 'Whetstone needs WebGPU' });
  await expect(screen).toBeVisible();
  await expect(screen).toContainText('WebGPU is not available');
  await expect(screen).toContainText('Chrome or Edge 113');
  await expect(screen).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(screen).toContainText('Safari 26');
  await expect(screen).toContainText('Firefox 141');
  await expect(screen).toContainText('hardware acceleration');
  await expect(page.getByRole('region', { name: 'Model', exact: true })).toHaveCount(0);
  await page.screenshot({ path: 'e2e/screenshots/no-webgpu.png', fullPage: true });
});

test('a browser with no navigator.gpu at all gets the same explanation, without starting the engine', async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  const workers: string[] = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto('/');
  const screen = page.getByRole('main', { name: 'Whetstone needs WebGPU' });
  await expect(screen).toContainText('this browser has no navigator.gpu');
  await expect(screen).toContainText('chrome://flags/#enable-unsafe-webgpu');
  expect(workers).toEqual([]);
});
