// How `whetstone train` picks the checkpoint and takes --output_dir (no GPU): the bare flag or
// `true` means the newest checkpoint-N of the folder; resuming a checkpoint of the folder itself
// continues its run (never overwritten), any other start refuses a folder holding a run unless
// --overwrite_output_dir; training_args.json records the LoRA options really trained.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoraConfig } from '../engine/lora/types.ts';
import { resolveRecipe } from '../engine/recipe/schema.ts';
import type { DecodedCheckpoint } from '../engine/train/checkpointState.ts';
import { ignoredLoraWarning, outputDirInit, resumePath, trainingArgs } from './trainFolder.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function runFolder(...steps: number[]): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'whetstone-folder-'));
  dirs.push(d);
  for (const s of steps) await mkdir(join(d, `checkpoint-${s}`));
  return d;
}
const at = (name: string, step: number) => ({ name, checkpoint: { state: { global_step: step } } as DecodedCheckpoint });
const LORA: LoraConfig = { r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj', 'v_proj'], useRslora: false };

describe('train: --resume_from_checkpoint and --output_dir', () => {
  it('the bare flag or true is the newest checkpoint of --output_dir; false or none is no resume; a path is itself', async () => {
    const out = await runFolder(2, 10, 4);
    expect(await resumePath(true, out)).toBe(join(out, 'checkpoint-10'));
    expect(await resumePath('True', out)).toBe(join(out, 'checkpoint-10'));
    expect(await resumePath('false', out)).toBe(null);
    expect(await resumePath(undefined, out)).toBe(null);
    expect(await resumePath(join(out, 'checkpoint-2'), out)).toBe(join(out, 'checkpoint-2'));
    const empty = await runFolder();
    await expect(resumePath(true, empty)).rejects.toThrow(`${empty}: holds no checkpoint-N folder to resume from`);
  });

  it("resuming the folder's own checkpoint continues its run (even with overwrite); otherwise overwrite decides", async () => {
    const out = await runFolder(6);
    expect(await outputDirInit(out, false, at(join(out, 'checkpoint-6'), 6))).toEqual({ resume: { step: 6 } });
    expect(await outputDirInit(`${out}/`, true, at(join(out, 'checkpoint-6') + '/', 6))).toEqual({ resume: { step: 6 } });
    const elsewhere = await runFolder(3);
    expect(await outputDirInit(out, false, at(join(elsewhere, 'checkpoint-3'), 3))).toEqual({ overwrite: false });
    expect(await outputDirInit(out, true, null)).toEqual({ overwrite: true });
  });

  it('training_args.json records the LoRA options trained; LoRA flags --adapter overrides are named', () => {
    const args = JSON.parse(new TextDecoder().decode(trainingArgs(resolveRecipe({ lora_r: 16, max_steps: 7 }), LORA)));
    expect(args).toMatchObject({ lora_r: 4, lora_alpha: 8, lora_dropout: 0, lora_target_modules: ['q_proj', 'v_proj'], use_rslora: false, max_steps: 7 });
    expect(ignoredLoraWarning({ lora_r: 4, lora_target_modules: ['v_proj', 'q_proj'] }, LORA)).toBe(null);
    expect(ignoredLoraWarning({ lora_r: 16, lora_alpha: 8 }, LORA)).toBe("--adapter's own LoRA options are trained, not lora_r=16 (the adapter has lora_r=4)");
  });
});
