// `whetstone train`: LoRA fine-tuning (any method of engine/recipe/methods.ts), writing a PEFT
// adapter, metrics.jsonl and checkpoints to --output_dir. The run is assembled by the engine's
// training session (engine/session/training.ts), the same as the studio's; this file is flags and
// terminal output. Ctrl-C stops after the current step and keeps the work.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { countLabel, METHODS } from '../../engine/recipe/methods.ts';
import { RecipeError, resolveRecipe, type Recipe } from '../../engine/recipe/schema.ts';
import { prepareTraining } from '../../engine/session/training.ts';
import type { CheckpointExpectation } from '../../engine/train/checkpointCheck.ts';
import { FolderRunStore, readCheckpointFolder } from '../../engine/train/runStoreNode.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { createReporter, formatDuration } from '../progress.ts';
import { addRecipeFlags, recipeFromFlags } from '../recipeFlags.ts';

interface TrainFlags extends Record<string, unknown> {
  model: string;
  data: string;
  output_dir: string;
  eval_data?: string;
  config?: string;
  adapter?: string;
  resume_from_checkpoint?: string;
  revision?: string;
  token?: string;
  json?: boolean;
}

export function registerTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description(`Fine-tune a LoRA adapter (${METHODS.map((m) => m.toUpperCase()).join(', ')})`)
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .requiredOption('--data <file>', 'training data (.jsonl, .json, .csv, .parquet)')
    .requiredOption('--output_dir <dir>', 'where the adapter, metrics.jsonl and checkpoint-N/ go')
    .option('--eval_data <file>', 'evaluation data (same format as --data)')
    .option('--config <recipe.json>', 'a recipe file (the studio saves one); flags override its values')
    .option('--adapter <dir>', 'start from an existing PEFT adapter (its r, alpha and targets)')
    .option('--resume_from_checkpoint <dir>', 'continue from a checkpoint-N folder')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print the final metrics as one JSON line');
  addRecipeFlags(cmd).action(async (flags: TrainFlags) => {
    const given = { ...(flags.config ? await readRecipeFile(flags.config) : {}), ...recipeFromFlags(flags) };
    await train(flags, resolveRecipe(given), given);
  });
}

async function readRecipeFile(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new RecipeError(`could not read --config ${path}: ${(e as Error).message}`);
  }
}

/** `given`: the recipe keys the user set (a --config file and flags), as opposed to defaults. */
async function train(flags: TrainFlags, recipe: Recipe, given: Record<string, unknown>): Promise<void> {
  const out = createReporter();
  const { ctx, lost } = await openGpu(flags.json);
  const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }));
  const resumeDir = flags.resume_from_checkpoint;
  const store = new FolderRunStore(flags.output_dir);
  let stopRequested = false;
  const session = await prepareTraining({
    ctx,
    loaded,
    recipe,
    data: await NodeFileSource.open(flags.data),
    evalData: flags.eval_data ? await NodeFileSource.open(flags.eval_data) : null,
    resumeFrom: resumeDir ? { name: resumeDir, files: await readCheckpointFolder(resumeDir), expected: askedLora(recipe, given) } : null,
    adapter: flags.adapter ? await openNodeFolder(flags.adapter) : null,
    store,
    baseModel: flags.model,
    deviceLost: lost,
    memoryPolicy: 'warn', // WebGPU cannot tell a GPU's memory: the estimate may be wrong on a big card
    callbacks: {
      beforeStep: () => (stopRequested ? 'stop' : 'continue'),
      onProgress: (p) => out.update(p.step / p.total, `step ${p.step}/${p.total}  loss ${p.loss.toFixed(4)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${formatDuration(p.etaSeconds)}`),
      onLog: (e) => {
        if (!flags.json) out.line(JSON.stringify(e));
      },
      onWarning: (w) => out.line(`warning: ${w}`),
      onCheckpoint: (s) => out.line(`saved ${join(flags.output_dir, `checkpoint-${s}`)}`),
    },
  });
  await store.init(Boolean(resumeDir));
  await writeFile(join(flags.output_dir, 'training_args.json'), JSON.stringify(recipe, null, 2) + '\n');

  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    out.line('stopping after this step (Ctrl-C again to abort without saving)...');
  };
  process.on('SIGINT', onSigint);
  if (!flags.json) {
    const { spec } = loaded;
    const lora = session.adapter.config;
    out.line(
      `${recipe.method.toUpperCase()} on ${spec.modelType} (${(loaded.parameters / 1e6).toFixed(1)}M params), ${countLabel(recipe.method, session.train.rows.length)} (${session.data.format}), ${session.total} steps, LoRA r=${lora.r} on ${lora.targetModules.join(',')} (${session.trainer.trainableParameters} trainable)`,
    );
  }
  const result = await session.run();
  process.off('SIGINT', onSigint);
  out.done();
  const summary = { ...(result.lastLog ?? {}), steps: result.steps, stopped: result.stopped, skipped_steps: result.skippedSteps, output_dir: flags.output_dir };
  if (flags.json) console.log(JSON.stringify(summary));
  else out.line(`${result.stopped ? 'stopped' : 'done'} after ${result.steps} steps; adapter in ${flags.output_dir}`);
}

/** The LoRA options the user set (a resumed checkpoint must match them; the ones left out come from the checkpoint). */
function askedLora(recipe: Recipe, given: Record<string, unknown>): CheckpointExpectation {
  const keys = ['lora_r', 'lora_alpha', 'lora_target_modules', 'use_rslora'] as const;
  return Object.fromEntries(keys.filter((k) => given[k] !== undefined).map((k) => [k, recipe[k]]));
}
