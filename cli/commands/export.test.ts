// `whetstone export` through commander: files written, existing folders, errors as one line + hint.
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCheckpoint } from '../../engine/io/checkpoint.ts';
import { CheckpointError } from '../../engine/io/errors.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { reportError } from '../run.ts';
import { registerExportCommand } from './export.ts';

const FIX = 'engine/model/fixtures';
let tmp = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'whetstone-export-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `whetstone export ...args`, capturing stdout/stderr; resolves to the error thrown, if any. */
async function run(args: string[]): Promise<{ out: string; err: string; error: unknown }> {
  const program = new Command('whetstone').exitOverride();
  let out = '';
  let err = '';
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerExportCommand(program);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) }));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  let error: unknown = null;
  try {
    await program.parseAsync(['node', 'whetstone', 'export', ...args]);
  } catch (e) {
    error = e;
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return { out, err, error };
}

const base = ['--model', `${FIX}/tiny-llama`, '--adapter', `${FIX}/tiny-llama-lora`];

describe('whetstone export', () => {
  it('--help lists the options', async () => {
    const { out } = await run(['--help']);
    for (const o of ['--model', '--adapter', '--output_dir', '--dtype', '--max_shard_size', '--json', 'AutoModelForCausalLM.from_pretrained']) expect(out).toContain(o);
  });

  it('writes a loadable merged folder; keeps unrelated files, replaces ours; prints progress and a summary', async () => {
    const dir = join(tmp, 'merged');
    await mkdir(dir);
    await writeFile(join(dir, 'README.md'), 'my notes');
    await writeFile(join(dir, 'config.json'), '{"stale": true}');
    const { out, err, error } = await run([...base, '--output_dir', dir]);
    expect(error).toBeNull();
    expect(err).toContain('adapter: engine/model/fixtures/tiny-llama-lora (r=4, lora_alpha=8, scale 2; 21 weights to merge)');
    expect(err).toMatch(/writing .* MB/);
    expect(out).toContain(`AutoModelForCausalLM.from_pretrained("${dir}")`);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('my notes');
    expect(await readFile(join(dir, 'config.json'))).toEqual(await readFile(`${FIX}/tiny-llama/config.json`));
    const merged = await openCheckpoint(await openNodeFolder(dir));
    const orig = await openCheckpoint(await openNodeFolder(`${FIX}/tiny-llama`));
    expect(merged.tensors.size).toBe(orig.tensors.size);
    expect(await merged.readTensorBytes('model.norm.weight')).toEqual(await orig.readTensorBytes('model.norm.weight'));
    expect(await merged.readTensorBytes('model.layers.0.self_attn.q_proj.weight')).not.toEqual(await orig.readTensorBytes('model.layers.0.self_attn.q_proj.weight'));
  });

  it('--json --dtype f32 --max_shard_size: one JSON line, float32 config, shards', async () => {
    const dir = join(tmp, 'f32');
    const { out, err, error } = await run([...base, '--output_dir', dir, '--dtype', 'f32', '--max_shard_size', '100kB', '--json']);
    expect(error).toBeNull();
    expect(err).toBe('');
    const summary = JSON.parse(out.trim());
    expect(summary).toMatchObject({ output_dir: dir, merged_tensors: 21, copied_tensors: 8, scale: 2, dtype: 'F32' });
    expect(summary.files.map((f: { name: string }) => f.name)).toContain('model.safetensors.index.json');
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(cfg.torch_dtype).toBe('float32');
    const merged = await openCheckpoint(await openNodeFolder(dir));
    expect(merged.shards.length).toBeGreaterThan(1);
    expect(merged.tensor('model.embed_tokens.weight').dtype).toBe('F32');
  });

  it('bad input: one clear error line and a hint', async () => {
    const noAdapter = await run(['--model', `${FIX}/tiny-llama`, '--adapter', `${FIX}/tiny-llama`, '--output_dir', join(tmp, 'x')]);
    expect(noAdapter.error).toBeInstanceOf(CheckpointError);
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(reportError(noAdapter.error)).toBe(1);
    expect(write.mock.calls.map((c) => String(c[0])).join('')).toBe(
      `error: ${FIX}/tiny-llama has no adapter_config.json\nhint: A PEFT adapter folder holds adapter_config.json and adapter_model.safetensors.\n`,
    );
    write.mockRestore();

    const wrongModel = await run(['--model', `${FIX}/tiny-llama`, '--adapter', `${FIX}/tiny-qwen2-lora`, '--output_dir', join(tmp, 'y')]);
    expect(wrongModel.error).toBeInstanceOf(CheckpointError);
    expect((wrongModel.error as CheckpointError).hint).toMatch(/different model/);

    const badDtype = await run([...base, '--output_dir', join(tmp, 'z'), '--dtype', 'int8']);
    expect((badDtype.error as { code?: string }).code).toBe('commander.invalidArgument');
    expect(badDtype.err).toContain('--dtype must be same, bf16, f16 or f32, got "int8"');
    expect(await readdir(tmp)).not.toContain('x');
  });

  it('refuses output folders that would load wrongly, and input folders, before writing anything', async () => {
    const dir = join(tmp, 'stale');
    await mkdir(dir);
    await writeFile(join(dir, 'model-00001-of-00002.safetensors'), 'old');
    const stale = await run([...base, '--output_dir', dir]);
    expect(stale.error).toBeInstanceOf(CheckpointError);
    expect((stale.error as Error).message).toContain('already holds model-00001-of-00002.safetensors');
    expect(await readdir(dir)).toEqual(['model-00001-of-00002.safetensors']);

    const same = await run([...base, '--output_dir', `${FIX}/tiny-llama-lora`]);
    expect((same.error as Error).message).toContain('is also an input folder');
  });
});
