// `whetstone train`: LoRA fine-tuning by SFT or DPO, writing a PEFT adapter, metrics.jsonl and
// checkpoints to --output_dir. Ctrl-C stops after the current step and keeps the work.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { memoryFileSet } from '../../engine/io/fileSet.ts';
import { loadTrainingExamples } from '../../engine/data/dataset.ts';
import { createLoraAdapter } from '../../engine/lora/adapter.ts';
import { loadAdapter, loadModel } from '../../engine/model/loadModel.ts';
import { decodeCheckpoint } from '../../engine/train/checkpointState.ts';
import { RecipeError, loraConfigFromRecipe, resolveRecipe, type Recipe } from '../../engine/train/recipe.ts';
import { readCheckpointFolder, FolderRunStore } from '../../engine/train/runStoreNode.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import type { TrainingExamples } from '../../engine/train/examples.ts';
import { splitEval } from '../../engine/train/evalSplit.ts';
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
    .description('Fine-tune a LoRA adapter by SFT or DPO')
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
    const recipe = resolveRecipe({ ...(flags.config ? await readRecipeFile(flags.config) : {}), ...recipeFromFlags(flags) });
    await train(flags, recipe);
  });
}

async function readRecipeFile(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new RecipeError(`could not read --config ${path}: ${(e as Error).message}`);
  }
}

async function train(flags: TrainFlags, recipe: Recipe): Promise<void> {
  const out = createReporter();
  const ctx = await openGpu(flags.json);
  const files = await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json });
  const loaded = await loadModel(ctx, files, { gradientCheckpointing: recipe.gradient_checkpointing });
  const { model, tokenizer, spec } = loaded;
  const dataOpts = {
    method: recipe.method,
    maxLength: recipe.max_length,
    dropLongRows: recipe.drop_long_rows,
    completionOnlyLoss: recipe.completion_only_loss,
    skipInvalidRows: recipe.skip_invalid_rows,
  };
  const data = await loadTrainingExamples(await NodeFileSource.open(flags.data), tokenizer, dataOpts);
  for (const w of data.warnings) out.line(`warning: ${w}`);
  let trainSet: TrainingExamples = data.examples;
  let evalSet: TrainingExamples | null = null;
  if (flags.eval_data) evalSet = (await loadTrainingExamples(await NodeFileSource.open(flags.eval_data), tokenizer, dataOpts)).examples;
  else if (recipe.eval_split > 0) [trainSet, evalSet] = splitEval(trainSet, recipe.eval_split, recipe.seed);

  const resume = flags.resume_from_checkpoint ? await decodeCheckpoint(await readCheckpointFolder(flags.resume_from_checkpoint), flags.resume_from_checkpoint) : null;
  let adapter;
  if (resume) {
    const adapterFiles = memoryFileSet(flags.resume_from_checkpoint!, {
      'adapter_config.json': new TextEncoder().encode(resume.adapterConfig),
      'adapter_model.safetensors': resume.adapterWeights,
    });
    adapter = await loadAdapter(ctx, spec, adapterFiles);
  } else if (flags.adapter) adapter = await loadAdapter(ctx, spec, await openNodeFolder(flags.adapter));
  else {
    adapter = createLoraAdapter(ctx, spec, loraConfigFromRecipe(recipe), recipe.seed);
  }
  const store = new FolderRunStore(flags.output_dir);
  await store.init(Boolean(resume));
  await writeFile(join(flags.output_dir, 'training_args.json'), JSON.stringify(recipe, null, 2) + '\n');

  let stopRequested = false;
  const onSigint = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    out.line('stopping after this step (Ctrl-C again to abort without saving)...');
  };
  process.on('SIGINT', onSigint);
  const trainer = new Trainer({
    ctx,
    model,
    adapter,
    recipe,
    train: trainSet,
    eval: evalSet,
    padId: tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0,
    store,
    baseModel: flags.model,
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
  if (resume) trainer.restore(resume);
  if (!flags.json) {
    out.line(`${recipe.method.toUpperCase()} on ${spec.modelType} (${(loaded.parameters / 1e6).toFixed(1)}M params), ${trainSet.rows.length} ${recipe.method === 'dpo' ? 'pairs' : 'rows'} (${data.format}), ${trainer.total} steps, LoRA r=${adapter.config.r} on ${adapter.config.targetModules.join(',')} (${trainer.trainableParameters} trainable)`);
  }
  const result = await trainer.run();
  process.off('SIGINT', onSigint);
  out.done();
  const summary = { ...(result.lastLog ?? {}), steps: result.steps, stopped: result.stopped, skipped_steps: result.skippedSteps, output_dir: flags.output_dir };
  if (flags.json) console.log(JSON.stringify(summary));
  else out.line(`${result.stopped ? 'stopped' : 'done'} after ${result.steps} steps; adapter in ${flags.output_dir}`);
}
