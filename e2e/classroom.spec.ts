// The classroom end to end on the demo model (SwiftShader): label pairs (buttons and keys), edit
// and delete a label, download the labels and check the CLI reads them, train on them, labels
// kept across a reload, a blind arena against the base model, presenter mode, and a lesson link
// opened in another browser context (a student) that restores model, recipe and data and trains;
// then thumbs on single answers (KTO rows, downloaded and trained), and a reward model judging the arena.
// Generations are a few tokens and runs two steps: SwiftShader on shared CPU cores is slow.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { loadDemoModel, openStudio, region, setDataset, setTinyRecipe } from './helpers.ts';

const PROMPTS = ['Tell me a fact.', 'What is big?', 'Tell me about winter.'];
const TOKENS = '6';

async function fill(scope: ReturnType<typeof region>, label: string, value: string): Promise<void> {
  const input = scope.getByLabel(label, { exact: true });
  await input.fill(value);
  await input.blur();
  await expect(input).toHaveValue(value);
}

/** The CLI's report of a downloaded labels file (what `whetstone train` would read). */
function cliDataReport(path: string): { method: string; validRows: number; invalidRows: number } {
  const out = execFileSync(process.execPath, ['--import', './cli/register.mjs', 'cli/main.ts', 'data', path, '--model', 'public/models/demo', '--json'], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { method: string; validRows: number; invalidRows: number };
}

/** Waits for the pair on screen to be sampled, then gives a verdict by button or key. */
async function judge(page: Page, how: { button: string } | { key: string }): Promise<void> {
  const label = region(page, 'Label');
  await expect(label.getByRole('button', { name: 'A is better' })).toBeEnabled({ timeout: 120_000 });
  if ('button' in how) await label.getByRole('button', { name: how.button, exact: true }).click();
  else await page.keyboard.press(how.key);
}

test('label pairs, download them for the CLI, train on them, keep them, judge blind, share a lesson', async ({ page, browser }) => {
  test.setTimeout(1_800_000); // four 2-step runs on SwiftShader: about 5 min each on 2 shared cores
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openStudio(page);
  await loadDemoModel(page);

  // --- Label: three pairs by button and by key, a fourth deleted, one verdict edited -------
  const label = region(page, 'Label');
  await label.getByLabel('Prompts (one per line)').fill(PROMPTS.join('\n'));
  await fill(label, 'Max new tokens', TOKENS);
  await fill(label, 'Temperature', '1.5');
  await label.getByRole('button', { name: 'Start labelling' }).click();
  await judge(page, { button: 'A is better' });
  await expect(label.getByTestId('labels-count')).toHaveText('1 pair labelled');
  await judge(page, { key: 'b' });
  await expect(label.getByTestId('labels-count')).toHaveText('2 pairs labelled');
  await judge(page, { button: 'A is better' });
  await expect(label.getByTestId('labels-count')).toHaveText('3 pairs labelled');
  await judge(page, { key: 'x' }); // both bad
  await expect(label.getByTestId('labels-count')).toHaveText('4 pairs labelled');
  await expect(label.getByRole('button', { name: 'A is better' })).toBeEnabled({ timeout: 120_000 });
  await label.screenshot({ path: 'e2e/screenshots/classroom-label.png' });

  await label.getByText(/^Labels \(4\)$/).click();
  const table = label.getByRole('table', { name: 'Labels' });
  await expect(table.getByRole('combobox', { name: 'Verdict of label 4' })).toHaveValue('both_bad');
  await expect(table.getByRole('combobox', { name: 'Verdict of label 2' })).toHaveValue('b');
  await table.getByRole('button', { name: 'Delete label 4' }).click();
  await expect(label.getByTestId('labels-count')).toHaveText('3 pairs labelled');
  await table.getByRole('combobox', { name: 'Verdict of label 1' }).selectOption('b');

  // --- Download labels: TRL conversational pairs the CLI reads as is ------------------------
  const [download] = await Promise.all([page.waitForEvent('download'), label.getByRole('button', { name: 'Download labels' }).click()]);
  expect(download.suggestedFilename()).toBe('labels.jsonl');
  const path = await download.path();
  const rows = (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, { role: string; content: string }[]>);
  // A pair whose two answers came out equal is not a preference: at most 3 rows, one per prompt.
  expect(rows.length).toBeGreaterThanOrEqual(2);
  for (const row of rows) {
    expect(Object.keys(row)).toEqual(['prompt', 'chosen', 'rejected']);
    expect(row.prompt[0].role).toBe('user');
    expect(PROMPTS).toContain(row.prompt[0].content);
    expect(row.chosen[0].role).toBe('assistant');
    expect(row.rejected[0].role).toBe('assistant');
  }
  expect(cliDataReport(path)).toMatchObject({ method: 'dpo', validRows: rows.length, invalidRows: 0 });

  // --- Train on my labels: the labels become the dataset, a 2-step DPO run ------------------
  await fill(label, 'Training steps', '2');
  await fill(region(page, 'What changed'), 'Answer length (tokens)', TOKENS);
  await label.getByRole('button', { name: 'Train on my labels' }).click();
  await expect(region(page, 'Dataset').getByTestId('dataset-count')).toHaveText(`${rows.length} pairs`);
  await expect(region(page, 'Recipe').getByLabel('Method')).toHaveValue('dpo');
  const status = label.getByRole('status', { name: 'Label training' });
  await expect(status).toHaveText(/Step 2 \/ 2 — done/, { timeout: 400_000 });

  // The charts explain themselves on hover: why DPO starts at ln 2.
  const run = region(page, 'Run');
  const lossHelp = run.getByRole('button', { name: 'What the Loss chart means' });
  await lossHelp.hover();
  await expect(run.getByRole('tooltip')).toContainText('ln 2 = 0.693');
  // Pinned for the screenshot: the panel is taller than the window, and the scroll that taking
  // it needs can move the button from under the mouse.
  await lossHelp.click();
  await run.screenshot({ path: 'e2e/screenshots/classroom-chart-explained.png' });
  await lossHelp.click();
  await page.mouse.move(0, 0);
  await expect(run.getByRole('tooltip')).toHaveCount(0);
  await run.getByRole('button', { name: 'What the Rewards chart means' }).click(); // a tap pins it
  await expect(run.getByRole('tooltip')).toContainText('Rewards often go negative');
  await run.getByRole('button', { name: 'What the Rewards chart means' }).click(); // a second tap unpins it
  await page.mouse.move(0, 0);
  await expect(run.getByRole('tooltip')).toHaveCount(0);

  // What changed: the fixed prompts before and after.
  const changed = region(page, 'What changed');
  await expect(changed.getByRole('table', { name: 'Before and after' }).getByRole('row')).toHaveCount(4);
  await expect(changed).toContainText(/\d of 3 answers changed/, { timeout: 300_000 });
  await changed.screenshot({ path: 'e2e/screenshots/classroom-what-changed.png' });

  // --- Presenter mode: larger text and charts, advanced fields hidden ---------------------
  const presenter = page.getByRole('button', { name: 'Presenter mode' });
  await presenter.click();
  await expect(presenter).toHaveAttribute('aria-pressed', 'true');
  await expect(label.getByLabel('Max new tokens', { exact: true })).toBeHidden();
  await expect(region(page, 'Recipe').getByText('More options')).toBeHidden();
  await expect(region(page, 'Recipe').getByLabel('Learning rate', { exact: true })).toBeVisible();
  await expect.poll(() => run.getByRole('figure', { name: 'Loss chart' }).locator('canvas').evaluate((c: HTMLCanvasElement) => c.clientHeight)).toBeGreaterThan(200);
  await run.getByRole('figure', { name: 'Rewards chart' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'e2e/screenshots/classroom-presenter.png' });
  await presenter.click();
  await expect(presenter).toHaveAttribute('aria-pressed', 'false');

  // --- Share lesson: a link with model, recipe and labels; nothing uploaded -----------------
  const lesson = region(page, 'Lesson');
  await lesson.getByLabel('Lesson title (optional)').fill('Pick the better answer');
  await lesson.getByRole('button', { name: 'Share lesson' }).click();
  const link = await lesson.getByLabel('Lesson link').inputValue();
  expect(link).toMatch(/^http:\/\/localhost:\d+\/#lesson=[A-Za-z0-9_-]+$/);
  await expect(lesson).toContainText('Nothing is uploaded');
  await lesson.screenshot({ path: 'e2e/screenshots/classroom-lesson.png' });
  // The same lesson as a file (for lessons too big for a link).
  const [lessonFile] = await Promise.all([page.waitForEvent('download'), lesson.getByRole('button', { name: 'Save lesson file' }).click()]);
  expect(lessonFile.suggestedFilename()).toBe('pick-the-better-answer.whetstone.json');
  const saved = JSON.parse(await readFile(await lessonFile.path(), 'utf8')) as { format: string; model: unknown; recipe: Record<string, unknown>; data: { labels: unknown[] } };
  expect(saved).toMatchObject({ format: 'whetstone-lesson', model: { kind: 'demo' }, recipe: { method: 'dpo', max_steps: 2 } });
  expect(saved.data.labels).toHaveLength(3);

  // --- The labels survive a reload (with the edited verdict) ---------------------------------
  await page.reload();
  await expect(page.getByTestId('adapter-name')).toBeVisible();
  await expect(region(page, 'Label').getByTestId('labels-count')).toHaveText('3 pairs labelled');
  await region(page, 'Label').getByText(/^Labels \(3\)$/).click();
  await expect(region(page, 'Label').getByRole('combobox', { name: 'Verdict of label 1' })).toHaveValue('b');

  // --- Arena: base vs the run, blind, three choices -> "Tuned wins N of 3" -------------------
  await loadDemoModel(page);
  const arena = region(page, 'Arena');
  await expect(arena.getByLabel('Model B')).toHaveValue(/^run-/);
  await arena.getByLabel('Arena prompts (one per line)').fill(PROMPTS.join('\n'));
  await fill(arena, 'Arena max new tokens', TOKENS);
  await arena.getByRole('button', { name: 'Start arena' }).click();
  await expect(arena.getByRole('button', { name: 'Left is better' })).toBeVisible({ timeout: 300_000 });
  // Blind: the round shows Left and Right, never which model is which.
  await expect(arena.getByRole('group', { name: 'Arena round' })).not.toContainText(/Tuned|Base/);
  await arena.screenshot({ path: 'e2e/screenshots/classroom-arena-judging.png' });
  await arena.getByRole('button', { name: 'Left is better' }).click();
  await arena.getByRole('button', { name: 'Right is better' }).click();
  await page.keyboard.press('ArrowDown'); // tie
  const result = arena.getByRole('status', { name: 'Arena result' });
  await expect(result).toHaveText(/^Tuned wins [0-2] of 3 \(1 tie\)$/);
  await expect(arena).toContainText('95% Wilson score interval');
  await expect(arena.getByRole('table', { name: 'Arena rounds' }).getByRole('row')).toHaveCount(4);
  await arena.screenshot({ path: 'e2e/screenshots/classroom-arena-result.png' });
  await page.getByRole('region', { name: 'Classroom', exact: true }).screenshot({ path: 'e2e/screenshots/classroom.png' });

  expect(errors).toEqual([]);

  // --- A student opens the link in their own browser: restored, then one press trains -------
  const student = await browser.newContext();
  const studentPage = await student.newPage();
  studentPage.on('pageerror', (e) => errors.push(e.message));
  await studentPage.goto(link);
  const opened = region(studentPage, 'Opened lesson');
  await expect(opened).toContainText('Lesson: Pick the better answer');
  await expect(opened).toContainText(`the demo model, a DPO recipe, 3 labelled pairs`);
  const start = opened.getByRole('button', { name: 'Start training' });
  await expect(start).toBeEnabled({ timeout: 120_000 });
  expect(new URL(studentPage.url()).hash).toBe(''); // the lesson left the address bar
  await expect(region(studentPage, 'Model').getByTestId('model-layers')).toHaveText(/^\d+$/);
  await expect(region(studentPage, 'Dataset').getByTestId('dataset-count')).toHaveText(`${rows.length} pairs`);
  await expect(region(studentPage, 'Recipe').getByLabel('Method')).toHaveValue('dpo');
  await expect(region(studentPage, 'Recipe').getByLabel('Max steps', { exact: true })).toHaveValue('2');
  await expect(region(studentPage, 'Label').getByTestId('labels-count')).toHaveText('3 pairs labelled');
  await expect(region(studentPage, 'Run').getByRole('status')).toHaveText('Not started'); // it waits
  await opened.screenshot({ path: 'e2e/screenshots/classroom-lesson-opened.png' });
  await start.click();
  await expect(region(studentPage, 'Run').getByRole('status')).toHaveText('Step 2 / 2 — done', { timeout: 400_000 });
  await student.close();
  expect(errors).toEqual([]);

  // --- Thumbs: one answer rated up, one down; with thumbs the labels train KTO -------------
  const teacher = region(page, 'Label');
  await teacher.getByLabel('Label by').selectOption('thumb');
  await fill(teacher, 'Max new tokens', TOKENS);
  await teacher.getByRole('button', { name: 'Start labelling' }).click();
  await expect(teacher.getByRole('button', { name: 'Thumbs up' })).toBeEnabled({ timeout: 120_000 });
  await expect(teacher.getByRole('button', { name: 'A is better' })).toHaveCount(0);
  await teacher.getByRole('button', { name: 'Thumbs up' }).click();
  await expect(teacher.getByTestId('labels-count')).toHaveText('3 pairs labelled, 1 answer rated (1 up, 0 down)');
  await expect(teacher.getByRole('button', { name: 'Thumbs down' })).toBeEnabled({ timeout: 120_000 });
  await page.keyboard.press('d');
  await expect(teacher.getByTestId('labels-count')).toHaveText('3 pairs labelled, 2 answers rated (1 up, 1 down)');
  await expect(teacher.getByRole('button', { name: 'Thumbs up' })).toBeEnabled({ timeout: 120_000 });
  // The label list (opened after the reload) shows the thumbs with their ratings.
  await expect(teacher.getByText(/^Labels \(5\)$/)).toBeVisible();
  await expect(teacher.getByRole('combobox', { name: 'Verdict of label 5' })).toHaveValue('down');
  await teacher.screenshot({ path: 'e2e/screenshots/classroom-thumbs.png' });
  // Download labels: TRL's unpaired rows (pairs unpaired, then the two thumbs), read as KTO by the CLI.
  const [ktoDownload] = await Promise.all([page.waitForEvent('download'), teacher.getByRole('button', { name: 'Download labels' }).click()]);
  expect(ktoDownload.suggestedFilename()).toBe('labels-kto.jsonl');
  const ktoPath = await ktoDownload.path();
  const ktoRows = (await readFile(ktoPath, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { prompt: { role: string }[]; completion: { role: string }[]; label: boolean });
  for (const row of ktoRows) expect(Object.keys(row)).toEqual(['prompt', 'completion', 'label']);
  expect(ktoRows.slice(0, 2 * rows.length).map((r) => r.label)).toEqual(rows.flatMap(() => [true, false]));
  expect(ktoRows.slice(2 * rows.length).map((r) => r.label)).toEqual([true, false]);
  expect(cliDataReport(ktoPath)).toMatchObject({ method: 'kto', validRows: ktoRows.length, invalidRows: 0 });
  await fill(teacher, 'Training steps', '2');
  await teacher.getByRole('button', { name: 'Train on my labels' }).click();
  await expect(region(page, 'Dataset').getByTestId('dataset-count')).toHaveText(`${ktoRows.length} examples`);
  await expect(region(page, 'Recipe').getByLabel('Method')).toHaveValue('kto');
  await expect(teacher.getByRole('status', { name: 'Label training' })).toHaveText(
    new RegExp(`^Training KTO on ${ktoRows.length} rows \\(${ktoRows.length / 2} good, ${ktoRows.length / 2} bad\\): Step 2 / 2 — done`),
    { timeout: 400_000 },
  );

  // --- A reward model judges the arena: an automatic win rate, marked as such ---------------
  await setDataset(page, 'tiny-dpo.jsonl');
  const recipe = region(page, 'Recipe');
  await recipe.getByLabel('Method').selectOption('reward');
  await setTinyRecipe(page, { 'Max steps': '2', 'Max length': '128' });
  await run.getByRole('button', { name: 'Start training' }).click();
  await expect(run.getByRole('status')).toHaveText('Step 2 / 2 — done', { timeout: 400_000 });
  await arena.getByRole('button', { name: 'New arena' }).click();
  await expect(arena.getByLabel('Model B').locator('option')).toHaveCount(3); // base, the DPO and the KTO run: a reward model writes no answers
  await arena.getByLabel('Judge').selectOption({ index: 1 });
  await arena.getByRole('button', { name: 'Start arena' }).click();
  await expect(result).toHaveText(/^Tuned wins [0-3] of 3 \((no ties|1 tie|[23] ties)\) — automatic, by a reward model$/, { timeout: 300_000 });
  await expect(arena).toContainText('Automatic win rate');
  await expect(arena.getByRole('table', { name: 'Arena rounds' })).toContainText(/reward -?\d+\.\d{3}/);
  await arena.screenshot({ path: 'e2e/screenshots/classroom-arena-reward.png' });
  expect(errors).toEqual([]);
});

test('the labels store arrives by an upgrade that keeps the runs of an older database', async ({ page }) => {
  // Before the page's scripts: the database as studio version 2 left it, with one run.
  await page.addInitScript(() => {
    if (sessionStorage.getItem('v2-made')) return;
    sessionStorage.setItem('v2-made', '1');
    const open = indexedDB.open('whetstone', 2);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('runs', { keyPath: 'id' }).createIndex('createdAt', 'createdAt');
      db.createObjectStore('metrics', { keyPath: ['runId', 'step'] }).createIndex('runId', 'runId');
      db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] }).createIndex('runId', 'runId');
      db.createObjectStore('adapters', { keyPath: 'runId' });
      db.createObjectStore('datasets', { keyPath: 'runId' });
      const run = { id: 'run-from-v2', method: 'sft', model: 'Whetstone demo', status: 'completed', steps: 3, maxSteps: 3, finalLoss: 1.5, createdAt: 1, recipe: {} };
      open.transaction!.objectStore('runs').put(run);
    };
    open.onsuccess = () => open.result.close();
  });
  await page.goto('/');
  await expect(region(page, 'Runs').getByRole('listitem', { name: 'Run run-from-v2' })).toContainText('step 3 / 3');
  await expect(region(page, 'Label').getByTestId('labels-count')).toHaveText('0 pairs labelled');
  const version = await page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const req = indexedDB.open('whetstone');
        req.onsuccess = () => {
          const v = req.result.version;
          const stores = Array.from(req.result.objectStoreNames);
          req.result.close();
          resolve(stores.includes('labels') ? v : -v);
        };
        req.onerror = () => reject(req.error);
      }),
  );
  expect(version).toBe(3);
});
