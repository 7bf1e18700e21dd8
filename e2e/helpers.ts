// Shared steps of the studio's end-to-end tests: load the demo model, set a dataset file, set a
// tiny recipe (SwiftShader is slow), and check what the page drew or downloaded.
import { expect, type Download, type Locator, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';

export const fixture = (name: string) => new URL(`fixtures/${name}`, import.meta.url).pathname;

export const region = (page: Page, name: string) => page.getByRole('region', { name, exact: true });

export async function openStudio(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('adapter-name')).toContainText(/swiftshader/i);
}

export async function loadDemoModel(page: Page): Promise<void> {
  const model = region(page, 'Model');
  await model.getByLabel('Model', { exact: true }).selectOption('demo');
  await expect(model.getByLabel('Model', { exact: true }).locator('option:checked')).toContainText('Demo');
  await model.getByRole('button', { name: 'Load model' }).click();
  await expect(model.getByTestId('model-layers')).toHaveText(/^\d+$/, { timeout: 60_000 });
  await expect(model.getByTestId('memory-estimate')).toContainText('this device allows');
}

export async function setDataset(page: Page, file: string): Promise<Locator> {
  const dataset = region(page, 'Dataset');
  await dataset.getByLabel('Dataset file').setInputFiles(fixture(file));
  return dataset;
}

/** Max steps 3, batch 2, max length 64 (plus any other numeric fields by label). */
export async function setTinyRecipe(page: Page, extra: Record<string, string> = {}): Promise<void> {
  const recipe = region(page, 'Recipe');
  const values: Record<string, string> = { 'Max steps': '3', 'Batch size': '2', 'Max length': '64', 'Checkpoint every': '1', ...extra };
  for (const [label, value] of Object.entries(values)) {
    const input = recipe.getByLabel(label, { exact: true });
    await input.fill(value);
    await input.blur();
    await expect(input).toHaveValue(value);
  }
}

export async function runStatus(page: Page): Promise<Locator> {
  return region(page, 'Run').getByRole('status');
}

/** Every chart canvas in `scope` has pixels drawn on it. */
export async function expectChartsDrawn(scope: Locator, titles: string[]): Promise<void> {
  for (const title of titles) {
    const canvas = scope.getByRole('figure', { name: `${title} chart` }).locator('canvas');
    await expect(canvas).toHaveCount(1);
    await expect
      .poll(
        () =>
          canvas.evaluate((c: HTMLCanvasElement) => {
            if (c.width === 0 || c.height === 0) return 0;
            const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            let drawn = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
            return drawn;
          }),
        { message: `${title} chart has pixels` },
      )
      .toBeGreaterThan(100);
  }
}

export interface PeftZip {
  config: Record<string, unknown>;
  tensorNames: string[];
  files: string[];
}

/** Unzips an adapter download and parses it as PEFT files. */
export async function readAdapterZip(download: Download): Promise<PeftZip> {
  const path = await download.path();
  const entries = unzipSync(new Uint8Array(await readFile(path)));
  const config = JSON.parse(strFromU8(entries['adapter_config.json'])) as Record<string, unknown>;
  const st = entries['adapter_model.safetensors'];
  const headerLength = Number(new DataView(st.buffer, st.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(strFromU8(st.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  return { config, tensorNames: Object.keys(header).filter((k) => k !== '__metadata__'), files: Object.keys(entries) };
}
