// `whetstone quantize` through commander: the folder written, --json, refusals as one line + hint.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCheckpoint } from '../../engine/io/checkpoint.ts';
import { ModelFormatError } from '../../engine/io/errors.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { bnbQuantizedWeights, readBnbNf4Weight } from '../../engine/quant/bnbFormat.ts';
import { registerQuantizeCommand } from './quantize.ts';

const FIX = 'engine/model/fixtures';
let tmp = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'whetstone-quantize-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ out: string; err: string; error: unknown }> {
  const program = new Command('whetstone').exitOverride();
  let out = '';
  let err = '';
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerQuantizeCommand(program);
  program.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) }));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += a.join(' ') + '\n'));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  let error: unknown = null;
  try {
    await program.parseAsync(['node', 'whetstone', 'quantize', ...args]);
  } catch (e) {
    error = e;
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return { out, err, error };
}

describe('whetstone quantize', () => {
  it('--help names the transformers options', async () => {
    const { out } = await run(['--help']);
    for (const o of ['--model', '--output_dir', '--bnb_4bit_quant_type', '--bnb_4bit_use_double_quant', '--json', 'from_pretrained']) expect(out).toContain(o);
  });

  it('writes a 4-bit folder that reads back (config with quantization_config, tokenizer files copied)', async () => {
    const dir = join(tmp, 'q');
    const { out, err, error } = await run(['--model', `${FIX}/tiny-llama`, '--output_dir', dir, '--bnb_4bit_use_double_quant', '--json']);
    expect(error).toBeNull();
    expect(err).toBe('');
    const summary = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ output_dir: dir, quantized_tensors: 21, copied_tensors: 8, bnb_4bit_use_double_quant: true });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config.quantization_config).toMatchObject({ quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true, bnb_4bit_compute_dtype: 'bfloat16' });
    const ckpt = await openCheckpoint(await openNodeFolder(dir));
    const names = bnbQuantizedWeights(ckpt);
    expect(names.length).toBe(21);
    expect((await readBnbNf4Weight(ckpt, names[0])).nested).not.toBeNull();
  });

  it('refuses fp4, an already quantized model, and writing over the input', async () => {
    const fp4 = await run(['--model', `${FIX}/tiny-llama`, '--output_dir', join(tmp, 'x'), '--bnb_4bit_quant_type', 'fp4']);
    expect((fp4.error as { code?: string }).code).toBe('commander.invalidArgument');
    expect(fp4.err).toContain('fp4 is not supported');
    const twice = await run(['--model', 'engine/quant/fixtures/tiny-llama-bnb-nf4', '--output_dir', join(tmp, 'y')]);
    expect(twice.error).toBeInstanceOf(ModelFormatError);
    expect((twice.error as Error).message).toContain('already quantized');
    const over = await run(['--model', `${FIX}/tiny-llama`, '--output_dir', `${FIX}/tiny-llama`]);
    expect((over.error as Error).message).toContain('is also an input folder');
    expect(await readdir(tmp)).toEqual(['q']);
  });
});
