// `whetstone train`'s --output_dir and --resume_from_checkpoint, decided before anything is loaded:
// which checkpoint to continue from (a path, or the newest of --output_dir for a bare flag or
// `true`, like HF's Trainer.train(resume_from_checkpoint=True)), read and checked against the
// recipe; how the folder is taken (continue the run it holds, replace it with
// --overwrite_output_dir, or refuse); and training_args.json as the run really trains.
import { realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CheckpointError } from '../engine/io/errors.ts';
import type { LoraConfig } from '../engine/lora/types.ts';
import type { Recipe } from '../engine/recipe/schema.ts';
import { checkResume } from '../engine/session/training.ts';
import type { CheckpointExpectation, DecodedCheckpoint } from '../engine/train/checkpointState.ts';
import { findLatestCheckpoint, readCheckpointFolder, type FolderRunStoreInit } from '../engine/train/runStoreNode.ts';

export interface Resume {
  /** The checkpoint folder's path. */
  name: string;
  checkpoint: DecodedCheckpoint;
}

/** The checkpoint folder --resume_from_checkpoint names (`true` for the bare flag), or null for none. */
export async function resumePath(arg: string | true | undefined, outputDir: string): Promise<string | null> {
  if (arg === undefined) return null;
  const word = arg === true ? 'true' : /^(true|false)$/i.test(arg) && !(await stat(arg).catch(() => null)) ? arg.toLowerCase() : null;
  if (word === 'false') return null;
  if (word !== 'true') return arg as string;
  const latest = await findLatestCheckpoint(outputDir);
  if (!latest) {
    throw new CheckpointError(outputDir, 'holds no checkpoint-N folder to resume from', 'Pass --resume_from_checkpoint the checkpoint folder to continue from, or leave it out to start a new run.');
  }
  return latest;
}

/** Reads and checks the checkpoint to continue from: the recipe's method and optimizer, and the LoRA options the user set. */
export async function readResume(arg: string | true | undefined, outputDir: string, recipe: Recipe, expected: CheckpointExpectation): Promise<Resume | null> {
  const dir = await resumePath(arg, outputDir);
  if (!dir) return null;
  return { name: dir, checkpoint: await checkResume(recipe, { name: dir, files: await readCheckpointFolder(dir), expected }) };
}

/**
 * How the run takes its folder: resuming a checkpoint of this very folder continues its run
 * (metrics rows after the checkpoint's step are dropped; never removed, even with
 * --overwrite_output_dir); otherwise a folder holding a run is refused unless overwrite.
 */
export async function outputDirInit(outputDir: string, overwrite: boolean, resume: Resume | null): Promise<FolderRunStoreInit> {
  if (resume && (await sameFolder(dirname(resolve(resume.name)), outputDir))) return { resume: { step: resume.checkpoint.state.global_step } };
  return { overwrite };
}

async function sameFolder(a: string, b: string): Promise<boolean> {
  const [ra, rb] = await Promise.all([realpath(a).catch(() => null), realpath(b).catch(() => null)]);
  return ra !== null && ra === rb;
}

/** training_args.json: the recipe, with the LoRA options of the adapter really trained (a resumed checkpoint's or --adapter's). */
export function trainingArgs(recipe: Recipe, lora: LoraConfig): Uint8Array {
  const args = { ...recipe, lora_r: lora.r, lora_alpha: lora.loraAlpha, lora_dropout: lora.loraDropout, lora_target_modules: lora.targetModules, use_rslora: lora.useRslora };
  return new TextEncoder().encode(JSON.stringify(args, null, 2) + '\n');
}

/** With --adapter the adapter's own LoRA options are trained: the ones the user set that differ, as one warning (or null). */
export function ignoredLoraWarning(asked: CheckpointExpectation, lora: LoraConfig): string | null {
  const had: Record<string, unknown> = { lora_r: lora.r, lora_alpha: lora.loraAlpha, lora_dropout: lora.loraDropout, lora_target_modules: lora.targetModules, use_rslora: lora.useRslora };
  const differs = Object.entries(asked).filter(([k, v]) => JSON.stringify(Array.isArray(v) ? [...v].sort() : v) !== JSON.stringify(Array.isArray(had[k]) ? [...(had[k] as string[])].sort() : had[k]));
  if (!differs.length) return null;
  return `--adapter's own LoRA options are trained, not ${differs.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(', ')} (the adapter has ${differs.map(([k]) => `${k}=${Array.isArray(had[k]) ? (had[k] as string[]).join(',') : had[k]}`).join(', ')})`;
}
