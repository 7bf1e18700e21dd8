// The methods beyond SFT and DPO in the studio (demo model, SwiftShader): a KTO run from a
// thumbs-up / thumbs-down file (its own count, its recipe fields, its KL chart), the Method menu
// reading a pair file again as the chosen method, then a reward model (its charts and reward
// distribution) picking the best of N answers in Compare.
import { expect, test } from '@playwright/test';
import { expectChartsDrawn, loadDemoModel, openStudio, region, runStatus, setDataset, setTinyRecipe } from './helpers.ts';

test('KTO on the demo model: unpaired rows counted as examples, 3 steps with the KL chart; a pair file read as KTO; a reward model picks the best of N', async ({ page }) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openStudio(page);
  await loadDemoModel(page);

  const dataset = await setDataset(page, 'tiny-kto.jsonl');
  await expect(dataset.getByTestId('dataset-count')).toHaveText('4 examples');
  await expect(dataset.getByTestId('dataset-summary')).toContainText('unpaired preference rows');
  const recipe = region(page, 'Recipe');
  await expect(recipe.getByLabel('Method')).toHaveValue('kto');
  await expect(recipe.getByLabel('Desirable weight', { exact: true })).toHaveValue('1');
  await expect(recipe.getByLabel('Beta')).toHaveValue('0.1');
  await setTinyRecipe(page);
  await recipe.getByText('The same run from the command line').click();
  await expect(recipe.getByLabel('Equivalent command')).toContainText('--method kto');

  const run = region(page, 'Run');
  await run.getByRole('button', { name: 'Start training' }).click();
  const status = await runStatus(page);
  await expect(status).toHaveText('Step 3 / 3 — done', { timeout: 400_000 });
  await expectChartsDrawn(run, ['Loss', 'Learning rate', 'Grad norm', 'Rewards', 'KL estimate']);
  await page.screenshot({ path: 'e2e/screenshots/studio-kto-done.png', fullPage: true });

  // A pair file keeps KTO chosen: its pairs are read unpaired (chosen -> true, rejected -> false).
  await setDataset(page, 'tiny-dpo.jsonl');
  await expect(dataset.getByTestId('dataset-count')).toHaveText('6 examples');
  await expect(recipe.getByLabel('Method')).toHaveValue('kto');
  // Choosing ORPO reads it again as pairs.
  await recipe.getByLabel('Method').selectOption('orpo');
  await expect(dataset.getByTestId('dataset-count')).toHaveText('3 pairs');
  await expect(dataset.getByTestId('dataset-summary')).toContainText('ORPO');
  await expect(recipe.getByLabel('Method')).toHaveValue('orpo');

  // A reward model on the same pairs: its charts, then the rewards of chosen vs rejected answers.
  await recipe.getByLabel('Method').selectOption('reward');
  await expect(dataset.getByTestId('dataset-summary')).toContainText('REWARD');
  await setTinyRecipe(page, { 'Max length': '128' });
  await expect(recipe.getByLabel('Method')).toHaveValue('reward');
  await run.getByRole('button', { name: 'Start training' }).click();
  await expect(status).toHaveText('Step 3 / 3 — done', { timeout: 400_000 });
  await expectChartsDrawn(run, ['Loss', 'Accuracy', 'Margin', 'Rewards']);
  await expect(run.getByRole('figure', { name: 'Reward distribution' })).toContainText('Rewards of 3 pairs');

  // Best-of-N: the current adapter samples 2 answers, the reward run scores them, the best is marked.
  const compare = region(page, 'Compare');
  await compare.getByLabel('Best of N').selectOption('2');
  await compare.getByLabel('Prompt').fill('A fruit?');
  await compare.getByRole('button', { name: 'Compare' }).click();
  const answers = compare.getByRole('list', { name: 'Best-of-N answers' }).getByRole('listitem');
  await expect(answers).toHaveCount(2, { timeout: 120_000 });
  await expect(answers.filter({ hasText: /reward -?\d+\.\d{3} · best/ })).toHaveCount(1, { timeout: 120_000 });
  await expect(compare.getByRole('alert')).toHaveCount(0);
  await page.screenshot({ path: 'e2e/screenshots/studio-reward-best-of-n.png', fullPage: true });
  expect(errors).toEqual([]);
});
