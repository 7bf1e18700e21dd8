// The studio end to end on the demo model (SwiftShader): model, dataset, recipe, a 3-step run
// with live charts, compare, export as a PEFT zip, and the run kept across a reload. SFT trains on
// the 16-bit base, DPO on the 4-bit base (QLoRA: the "4-bit base (QLoRA)" switch).
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { expectChartsDrawn, loadDemoModel, openStudio, readAdapterZip, region, runStatus, setDataset, setTinyRecipe } from './helpers.ts';

async function trainAndExport(page: Page, method: 'sft' | 'dpo') {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openStudio(page);
  await loadDemoModel(page);
  await region(page, 'Model').screenshot({ path: 'e2e/screenshots/model-demo.png' });

  const dataset = await setDataset(page, `tiny-${method}.jsonl`);
  await expect(dataset.getByTestId('dataset-count')).toHaveText(method === 'sft' ? '3 rows' : '3 pairs');
  await expect(dataset.getByRole('table', { name: 'Dataset preview' }).getByRole('row')).toHaveCount(4);
  // With the model loaded, the mask inspector shows trained and untrained tokens.
  const mask = dataset.getByRole('figure', { name: 'Mask inspector' });
  await expect(mask.locator('.tok.trained').first()).toBeVisible();
  await expect(mask.locator('.tok:not(.trained)').first()).toBeVisible();
  await dataset.screenshot({ path: `e2e/screenshots/dataset-${method}.png` });

  const recipe = region(page, 'Recipe');
  // The dataset's format picked the method; choosing it again is harmless.
  await expect(recipe.getByLabel('Method')).toHaveValue(method);
  await recipe.getByLabel('Method').selectOption(method);
  await setTinyRecipe(page);
  if (method === 'dpo') await expect(recipe.getByLabel('Beta')).toHaveValue('0.1');
  // The memory estimate shows both bases; the demo model fits at 16 bits, so 4-bit starts off.
  const bases = page.getByTestId('memory-bases');
  await expect(bases).toContainText(/16-bit base: .* \(fits\) · 4-bit base \(QLoRA\): .* \(fits\)/);
  const fourBit = recipe.getByLabel('4-bit base (QLoRA)');
  await expect(fourBit).not.toBeChecked();
  if (method === 'dpo') await fourBit.check();
  await recipe.getByText('The same run from the command line').click();
  await expect(recipe.getByLabel('Equivalent command')).toContainText('--max_steps 3');
  await recipe.screenshot({ path: `e2e/screenshots/recipe-${method}.png` });
  // The recipe file has the CLI's --config keys (TRL names).
  const [recipeFile] = await Promise.all([page.waitForEvent('download'), recipe.getByRole('button', { name: 'Save recipe' }).click()]);
  const saved = JSON.parse(await readFile(await recipeFile.path(), 'utf8')) as Record<string, unknown>;
  expect(saved).toMatchObject({ method, max_steps: 3, per_device_train_batch_size: 2, max_length: 64, lora_r: 8 });
  expect(typeof saved.learning_rate).toBe('number');
  if (method === 'dpo') expect(saved).toMatchObject({ beta: 0.1, loss_type: 'sigmoid', load_in_4bit: true });
  else expect(saved).not.toHaveProperty('beta');

  const run = region(page, 'Run');
  await run.getByRole('button', { name: 'Start training' }).click();
  const status = await runStatus(page);
  await expect(status).toHaveText(/Step [0-3] \/ 3/, { timeout: 120_000 });
  await expect(status).toHaveText('Step 3 / 3 — done', { timeout: 400_000 });
  const charts = method === 'dpo' ? ['Loss', 'Learning rate', 'Grad norm', 'Rewards', 'Reward accuracy'] : ['Loss', 'Learning rate', 'Grad norm'];
  await expectChartsDrawn(run, charts);
  await page.screenshot({ path: `e2e/screenshots/studio-${method}-done.png`, fullPage: true });

  const exportPanel = region(page, 'Export');
  const [download] = await Promise.all([page.waitForEvent('download'), exportPanel.getByRole('button', { name: 'Export adapter' }).click()]);
  expect(download.suggestedFilename()).toMatch(/-adapter\.zip$/);
  const peft = await readAdapterZip(download);
  expect(peft.config.peft_type).toBe('LORA');
  expect(peft.config.r).toBe(8);
  expect(peft.tensorNames.some((n) => n.includes('lora_A'))).toBe(true);
  expect(peft.tensorNames.some((n) => n.includes('lora_B'))).toBe(true);

  if (method === 'sft') {
    // The merged model: an HF checkpoint folder, zipped.
    const [merged] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), exportPanel.getByRole('button', { name: 'Export merged model' }).click()]);
    expect(merged.suggestedFilename()).toMatch(/-merged\.zip$/);
    const files = Object.keys(unzipSync(new Uint8Array(await readFile(await merged.path()))));
    expect(files).toContain('config.json');
    expect(files.some((f) => f.endsWith('.safetensors'))).toBe(true);
  }
  expect(errors).toEqual([]);
}

async function expectRunKept(page: Page, method: 'sft' | 'dpo') {
  await page.reload();
  await expect(page.getByTestId('adapter-name')).toBeVisible();
  const runs = region(page, 'Runs');
  const item = runs.getByRole('listitem').filter({ hasText: method.toUpperCase() }).first();
  await expect(item).toContainText('step 3 / 3');
  await expect(item).toContainText('completed');
  await expect(item).toContainText(/loss \d+\.\d{4}/);
  await item.getByRole('button', { name: /^Open run/ }).click();
  await expectChartsDrawn(item, ['Loss', 'Learning rate', 'Grad norm']);
  const [download] = await Promise.all([page.waitForEvent('download'), item.getByRole('button', { name: 'Export adapter' }).click()]);
  expect((await readAdapterZip(download)).config.peft_type).toBe('LORA');
  await runs.screenshot({ path: `e2e/screenshots/runs-${method}-after-reload.png` });
}

test('SFT on the demo model: train 3 steps, charts, compare, export a PEFT adapter, kept after reload', async ({ page }) => {
  test.setTimeout(600_000);
  await trainAndExport(page, 'sft');

  const compare = region(page, 'Compare');
  await compare.getByLabel('Prompt').fill('What is the sky?');
  await compare.getByRole('button', { name: 'Compare' }).click();
  await expect(compare.getByRole('button', { name: 'Compare' })).toBeEnabled({ timeout: 120_000 });
  await expect(compare.getByRole('alert')).toHaveCount(0);
  await expect(compare.getByRole('figure', { name: 'Base model answer' })).not.toHaveText('Base model', { timeout: 5_000 });
  await expect(compare.getByRole('figure', { name: 'Adapter answer' })).not.toHaveText('With adapter');
  await compare.screenshot({ path: 'e2e/screenshots/compare.png' });

  await expectRunKept(page, 'sft');
});

test('DPO on the demo model with a 4-bit base (QLoRA): train 3 steps with reward charts, export, kept after reload', async ({ page }) => {
  test.setTimeout(600_000);
  await trainAndExport(page, 'dpo');
  await expectRunKept(page, 'dpo');
});
