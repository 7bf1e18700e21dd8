import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../engine/data/validate.ts';
import { dataCommand, type DataReport } from './data.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bad = join(root, 'engine/data/fixtures/bad.jsonl');
const demoSft = join(root, 'public/datasets/demo-sft.jsonl');
const demoDpo = join(root, 'public/datasets/demo-dpo.jsonl');
const model = join(root, 'engine/model/fixtures/tiny-llama');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'whetstone-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(file: string, flags: Partial<Parameters<typeof dataCommand>[1]>) {
  const lines: string[] = [];
  let error: unknown = null;
  let report: DataReport | null = null;
  try {
    report = await dataCommand(file, { max_length: 1024, ...flags }, (l) => lines.push(l));
  } catch (e) {
    error = e;
  }
  return { lines, error, report };
}

describe('whetstone data', () => {
  it('prints the format and rows of a valid file', async () => {
    const { lines, error } = await run(demoSft, {});
    expect(error).toBeNull();
    expect(lines[0]).toBe(`${demoSft}: OpenAI messages (SFT), JSONL`);
    expect(lines[1]).toBe('rows: 24 (24 valid, 0 invalid)');
  });

  it('lists the errors by line and fails (or not, with --skip_invalid_rows)', async () => {
    const { lines, error } = await run(bad, {});
    expect(lines[1]).toBe('rows: 9 (2 valid, 7 invalid)');
    expect(lines.slice(2).map((l) => /line (\d+):/.exec(l)?.[1])).toEqual(['2', '3', '4', '6', '8', '9', '10']);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toMatch(/7 invalid rows of 9/);
    const skipped = await run(bad, { skip_invalid_rows: true });
    expect(skipped.error).toBeNull();
  });

  it('with --model: token statistics and trained tokens; --json prints one line', async () => {
    const { lines, report, error } = await run(demoDpo, { model, json: true, max_length: 40 });
    expect(error).toBeNull();
    expect(lines.length).toBe(1);
    const parsed = JSON.parse(lines[0]) as DataReport;
    expect(parsed).toEqual(report);
    expect(parsed).toMatchObject({ format: 'preference pairs (prompt/chosen/rejected)', method: 'dpo', rows: 24, validRows: 24, maxLength: 40 });
    expect(parsed.tokens!.max).toBeGreaterThan(40);
    expect(parsed.truncated).toBeGreaterThan(0);
    expect(parsed.trainedTokens).toBeGreaterThan(0);
    const human = await run(demoSft, { model, max_length: 1024 });
    expect(human.lines.some((l) => /^tokens per row: min \d+, p50 \d+, mean [\d.]+, p95 \d+, max \d+$/.test(l))).toBe(true);
    expect(human.lines.some((l) => /^tokens the loss counts: \d+$/.test(l))).toBe(true);
  });

  it('refuses --method that the rows do not fit', async () => {
    const { error } = await run(demoSft, { method: 'dpo' });
    expect((error as Error).message).toMatch(/not DPO data/);
  });

  it('runs as a command: one error line + hint, exit 1', async () => {
    // Registers the command on its own program (cli/main.ts is the lead's), run as the CLI runs.
    const program = [
      `import { Command } from 'commander';`,
      `import { registerDataCommand } from './cli/commands/data.ts';`,
      `import { runCli } from './cli/run.ts';`,
      `const program = new Command('whetstone');`,
      `registerDataCommand(program);`,
      `await runCli(program, ['node', 'whetstone', ...process.argv.slice(1)]);`,
    ].join('\n');
    const csv = join(dir, 'd.csv');
    await writeFile(csv, 'prompt,completion\n"Hi,\nthere",Yo\n"only one field"\n');
    const node = (args: string[]) => spawnSync(process.execPath, ['--import', './cli/register.mjs', '--input-type=module', '-e', program, 'data', ...args], { cwd: root, encoding: 'utf8' });
    const r = node([csv, '--json']);
    expect(r.status).toBe(1);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as DataReport;
    expect(last).toMatchObject({ format: 'prompt/completion', rows: 2, validRows: 1, invalidRows: 1 });
    expect(r.stderr).toMatch(/^error: .*d\.csv: 1 invalid row of 2:\n.*d\.csv line 4: has 1 field, the header has 2\nhint: /);
    const ok = node([csv, '--skip_invalid_rows']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/prompt\/completion \(SFT\), CSV/);
  });
});
