import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../../engine/data/validate.ts';
import { startLocalHub, type LocalHub } from '../../engine/io/testing.ts';
import { dataCommand, type DataReport } from './data.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bad = join(root, 'engine/data/fixtures/bad.jsonl');
const demoSft = join(root, 'public/datasets/demo-sft.jsonl');
const demoDpo = join(root, 'public/datasets/demo-dpo.jsonl');
const model = join(root, 'engine/model/fixtures/tiny-llama');
const shape = (name: string) => join(root, 'engine/data/fixtures', name);
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

  it('refuses --method that the rows do not fit, naming the flag to pass', async () => {
    const { error } = await run(demoSft, { method: 'dpo' });
    expect((error as Error).message).toBe(`--method dpo does not fit ${demoSft}: its rows are OpenAI messages (SFT rows), not preference pairs`);
    expect((error as { hint: string }).hint).toBe('Pass --method sft, or leave it out: the method is then taken from the data.');
  });

  it('with --model, SFT: what packing would make of the rows (TRL bfd: sequences and efficiency)', async () => {
    const { report, lines } = await run(demoSft, { model, max_length: 128 });
    const p = report!.packing!;
    expect(p).toMatchObject({ strategy: 'bfd', maxLength: 128, examples: 24 });
    expect(p.sequences).toBeLessThan(24);
    expect(p.efficiency).toBeCloseTo(p.tokens / (p.sequences * 128), 12);
    expect(lines).toContain(`with --packing: 24 rows packed into ${p.sequences} sequences of 128 tokens (bfd, efficiency ${(100 * p.efficiency).toFixed(1)}%)`);
    console.log(`demo-sft.jsonl, max_length 128: ${lines.at(-1)}`);
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
    // --offline: no request, and a model never downloaded is named with what to do.
    const env: NodeJS.ProcessEnv = { ...process.env, WHETSTONE_CACHE: join(dir, 'empty-cache'), HF_ENDPOINT: 'http://127.0.0.1:9' };
    delete env.HF_HUB_OFFLINE;
    const off = spawnSync(process.execPath, ['--import', './cli/register.mjs', '--input-type=module', '-e', program, 'data', csv, '--skip_invalid_rows', '--model', 'tiny/none', '--offline'], { cwd: root, encoding: 'utf8', env });
    expect(off.status).toBe(1);
    expect(off.stderr).toMatch(/^error: tiny\/none@main is not in the cache .*\nhint: Run the command once online \(without --offline and HF_HUB_OFFLINE=1\)/);
  });
});

describe('whetstone data: files as they ship (issue 14)', () => {
  it('reads each public shape with its format; tool rows under a template that drops them fail naming the line', async () => {
    const cases: [string, string, string][] = [
      ['alpaca_listy.csv', 'Alpaca (SFT), CSV', 'rows: 4 (4 valid, 0 invalid)'],
      ['messages_pandas.csv', 'OpenAI messages (SFT), CSV', 'rows: 3 (3 valid, 0 invalid)'],
      ['hh.jsonl.gz', 'Anthropic HH (implicit prompt) (DPO), JSONL, gzip', 'rows: 3 (3 valid, 0 invalid)'],
      ['llamafactory_dpo.json', 'LLaMA-Factory preference (conversation + chosen/rejected messages) (DPO), JSON', 'rows: 2 (2 valid, 0 invalid)'],
      ['content_parts_value.jsonl', 'OpenAI messages (SFT), JSONL', 'rows: 2 (2 valid, 0 invalid)'],
      ['chosen_messages.jsonl', 'preference pairs (chosen_messages/rejected_messages) (DPO), JSONL', 'rows: 2 (2 valid, 0 invalid)'],
      ['alpaca_response.jsonl', 'Alpaca (SFT), JSONL', 'rows: 3 (3 valid, 0 invalid)'],
    ];
    for (const [name, head, rows] of cases) {
      const { lines, error } = await run(shape(name), { model });
      expect(error, name).toBeNull();
      expect(lines.slice(0, 2), name).toEqual([`${shape(name)}: ${head}`, rows]);
    }
    const tools = await run(shape('openai_tools.jsonl'), { model });
    expect(tools.lines[1]).toBe('rows: 3 (0 valid, 3 invalid)');
    expect(tools.lines[2]).toMatch(/openai_tools\.jsonl line 1: tool_calls: the chat template drops tool calls/);
    expect((tools.error as Error).message).toMatch(/3 invalid rows of 3/);
  });

  it('refuses a compressed format it does not read, and says which columns to rename', async () => {
    const zst = join(dir, 'd.jsonl.zst');
    await writeFile(zst, new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2]));
    const z = await run(zst, {});
    expect((z.error as DatasetError).message).toBe(`${zst}: is Zstandard-compressed (.zst), not a dataset file Whetstone reads (JSONL, JSON, CSV or Parquet, optionally gzip-compressed)`);
    const orca = join(dir, 'orca.jsonl');
    await writeFile(orca, '{"system": "", "question": "q", "chosen": "a", "rejected": "b"}\n');
    const o = await run(orca, {});
    expect((o.error as DatasetError).hint).toBe('The columns look like preference pairs (prompt/chosen/rejected): rename question -> prompt.');
  });
});

describe('whetstone data --model HUB_ID', () => {
  let hub: LocalHub;
  const env = { ...process.env };
  beforeAll(async () => {
    const files = Object.fromEntries(readdirSync(model).map((f) => [f, new Uint8Array(readFileSync(join(model, f)))]));
    hub = await startLocalHub({ 'tiny/llama': { files } });
    process.env.HF_ENDPOINT = hub.url;
    process.env.WHETSTONE_CACHE = join(dir, 'hub-cache');
    delete process.env.HF_HUB_OFFLINE;
  });
  afterAll(async () => {
    await hub.close();
    for (const k of ['HF_ENDPOINT', 'WHETSTONE_CACHE', 'HF_HUB_OFFLINE']) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
  });

  it('downloads only the tokenizer files, then works offline (HF_HUB_OFFLINE=1) with no request', async () => {
    const folder = await run(demoSft, { model, json: true });
    const fromHub = await run(demoSft, { model: 'tiny/llama', json: true });
    expect(fromHub.error).toBeNull();
    expect(fromHub.report!.tokens).toEqual(folder.report!.tokens);
    expect(fromHub.report!.trainedTokens).toBe(folder.report!.trainedTokens);
    const fetched = new Set(hub.requests.filter((r) => r.path.includes('/resolve/')).map((r) => r.path.split('/').at(-1)));
    expect([...fetched].sort()).toEqual(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']);
    hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      const offline = await run(demoSft, { model: 'tiny/llama', json: true });
      expect(offline.report!.trainedTokens).toBe(folder.report!.trainedTokens);
      expect(hub.requests).toEqual([]);
      const missing = await run(demoSft, { model: 'tiny/other', json: true });
      expect((missing.error as Error).message).toMatch(/tiny\/other@main is not in the cache/);
      expect((missing.error as DatasetError).hint).toMatch(/without --offline and HF_HUB_OFFLINE=1/);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
  });
});
