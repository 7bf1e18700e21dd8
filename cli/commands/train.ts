// `whetstone train`: LoRA fine-tuning (any method of engine/recipe/methods.ts), writing a PEFT
// adapter, metrics.jsonl and checkpoints to --output_dir. The run is assembled by the engine's
// training session (engine/session/training.ts), the same as the studio's; this file is flags and
// terminal output. Ctrl-C, SIGTERM and SIGHUP stop after the current step and keep the work
// (cli/trainStop.ts); --output_dir is locked and never silently reused (cli/trainFolder.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ByteSource } from '../../engine/io/byteSource.ts';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadModel, type LoadedModel } from '../../engine/model/loadModel.ts';
import { fourBitOptions } from '../../engine/quant/loadNf4.ts';
import { countLabel, METHODS } from '../../engine/recipe/methods.ts';
import { RecipeError, resolveRecipe, type Recipe } from '../../engine/recipe/schema.ts';
import { packingSummary } from '../../engine/session/data.ts';
import { prepareTraining, type TrainingSession } from '../../engine/session/training.ts';
import type { CheckpointExpectation } from '../../engine/train/checkpointCheck.ts';
import { FolderRunStore } from '../../engine/train/runStoreNode.ts';
import { EtaEstimator } from '../../engine/util/eta.ts';
import { chooseMethod, methodLine, type MethodChoice, type MethodSource } from '../dataMethod.ts';
import { openGpu } from '../gpu.ts';
import { baseModelName, offlineOption, openModelFiles } from '../modelSource.ts';
import { createReporter, formatEta, type Reporter } from '../progress.ts';
import { bool } from '../parse.ts';
import { addRecipeFlags, recipeFromFlags } from '../recipeFlags.ts';
import { ignoredLoraWarning, outputDirInit, readResume, trainingArgs, type Resume } from '../trainFolder.ts';
import { watchTrainingStops, type TrainingStops } from '../trainStop.ts';

interface TrainFlags extends Record<string, unknown> {
  model: string;
  data: string;
  output_dir: string;
  eval_data?: string;
  config?: string;
  adapter?: string;
  resume_from_checkpoint?: string | true;
  overwrite_output_dir?: boolean;
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
    .option('--resume_from_checkpoint [dir]', 'continue from a checkpoint-N folder (no value or true: the newest in --output_dir)')
    .option('--overwrite_output_dir [bool]', 'replace a run already in --output_dir (its adapter, checkpoints and metrics)', bool('overwrite_output_dir'))
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print the final metrics as one JSON line');
  addRecipeFlags(cmd).action(async (flags: TrainFlags) => {
    const config = flags.config ? await readRecipeFile(flags.config) : {};
    const given = { ...config, ...recipeFromFlags(flags) };
    // The method (and with it the method's defaults) from the data, unless the flags or --config set it.
    const data = await NodeFileSource.open(flags.data);
    const choice = await chooseMethod(data, askedMethod(flags, config));
    await train(flags, resolveRecipe({ ...given, method: choice.method }), given, data, choice);
  });
}

/** The method the user set: --method wins over the --config file's "method". */
function askedMethod(flags: TrainFlags, config: Record<string, unknown>): MethodSource | null {
  if (flags.method !== undefined) return { value: flags.method, from: 'flag' };
  if (config.method !== undefined) return { value: config.method, from: 'config', path: flags.config! };
  return null;
}

async function readRecipeFile(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new RecipeError(`could not read --config ${path}: ${(e as Error).message}`);
  }
}

/** `given`: the recipe keys the user set (a --config file and flags), as opposed to defaults. */
async function train(flags: TrainFlags, recipe: Recipe, given: Record<string, unknown>, data: ByteSource, choice: MethodChoice): Promise<void> {
  const out = createReporter();
  if (choice.detected) out.line(methodLine(choice));
  // Everything about the folder is settled before the model loads: a wrong resume path or a folder in use fails at once.
  const resume = await readResume(flags.resume_from_checkpoint, flags.output_dir, recipe, askedLora(recipe, given));
  const store = new FolderRunStore(flags.output_dir);
  await store.init(await outputDirInit(flags.output_dir, Boolean(flags.overwrite_output_dir), resume));
  const stop = watchTrainingStops(out);
  try {
    await trainInFolder(flags, recipe, given, data, store, resume, stop, out);
  } finally {
    stop.dispose();
    await store.close();
  }
}

async function trainInFolder(flags: TrainFlags, recipe: Recipe, given: Record<string, unknown>, data: ByteSource, store: FolderRunStore, resume: Resume | null, stop: TrainingStops, out: Reporter): Promise<void> {
  const { ctx, lost } = await openGpu(flags.json);
  const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }), fourBitOptions(recipe));
  let lastCheckpoint = resume?.name ?? null;
  let stepEta: EtaEstimator | null = null; // the recent steps' pace, after the first (pipeline compilation) ones
  const session = await prepareTraining({
    ctx,
    loaded,
    recipe,
    data,
    evalData: flags.eval_data ? await NodeFileSource.open(flags.eval_data) : null,
    resumeFrom: resume,
    adapter: flags.adapter ? await openNodeFolder(flags.adapter) : null,
    store,
    baseModel: baseModelName(flags.model),
    deviceLost: lost,
    memoryPolicy: 'warn', // WebGPU cannot tell a GPU's memory: the estimate may be wrong on a big card
    callbacks: {
      beforeStep: () => (stop.requested ? 'stop' : 'continue'),
      onProgress: (p) => {
        stepEta ??= new EtaEstimator(p.total);
        out.update(p.step / p.total, `step ${p.step}/${p.total}  loss ${p.loss.toFixed(4)}  ${p.tokensPerSecond.toFixed(0)} tok/s  ETA ${formatEta(stepEta.update(p.step))}`);
      },
      onLog: (e) => {
        if (!flags.json) out.line(JSON.stringify(e));
      },
      onWarning: (w) => out.line(`warning: ${w}`),
      onCheckpoint: (s) => {
        lastCheckpoint = join(flags.output_dir, `checkpoint-${s}`);
        out.line(`saved ${lastCheckpoint}`);
      },
    },
  });
  const ignored = flags.adapter ? ignoredLoraWarning(askedLora(recipe, given), session.adapter.config) : null;
  if (ignored) out.line(`warning: ${ignored}`);
  try {
    await store.writeRunFile('training_args.json', trainingArgs(recipe, session.adapter.config));
  } catch (e) {
    session.destroy();
    throw e;
  }
  if (!flags.json) out.line(startLine(recipe, loaded, session));
  stop.training();
  const result = await session.run();
  out.done();
  const signal = result.stopped ? stop.signal : null;
  const summary = { ...(result.lastLog ?? {}), steps: result.steps, stopped: result.stopped, ...(signal ? { signal } : {}), skipped_steps: result.skippedSteps, output_dir: flags.output_dir };
  if (flags.json) console.log(JSON.stringify(summary));
  else if (!result.stopped) out.line(`done after ${steps(result.steps)}; adapter in ${flags.output_dir}`);
  else {
    const cont = lastCheckpoint ? `; continue with --resume_from_checkpoint ${lastCheckpoint}` : '';
    out.line(`stopped${signal ? ` by ${signal}` : ''} after ${result.steps} of ${steps(result.total)}; adapter in ${flags.output_dir}${cont}`);
  }
  // A run cut short by a signal exits 128 + its number, as a shell expects.
  if (signal) process.exitCode = stop.exitCode!;
}

const steps = (n: number) => `${n} step${n === 1 ? '' : 's'}`;

/** "SFT on llama (0.1M params), 24 rows (OpenAI messages) packed into ..., 3 steps, LoRA r=8 on ... (N trainable)". */
function startLine(recipe: Recipe, loaded: LoadedModel, session: TrainingSession): string {
  const lora = session.adapter.config;
  const examples = session.packing ? packingSummary(session.packing) : countLabel(recipe.method, session.train.rows.length);
  const data = session.packing ? `${session.data.format}: ${examples}` : `${examples} (${session.data.format})`;
  return `${recipe.method.toUpperCase()} on ${loaded.spec.modelType} (${(loaded.parameters / 1e6).toFixed(1)}M params), ${data}, ${steps(session.total)}, LoRA r=${lora.r} on ${lora.targetModules.join(',')} (${session.trainer.trainableParameters} trainable)`;
}

/** The LoRA options the user set (a resumed checkpoint must match them; the ones left out come from the checkpoint). */
function askedLora(recipe: Recipe, given: Record<string, unknown>): CheckpointExpectation {
  const keys = ['lora_r', 'lora_alpha', 'lora_dropout', 'lora_target_modules', 'use_rslora'] as const;
  return Object.fromEntries(keys.filter((k) => given[k] !== undefined).map((k) => [k, recipe[k]]));
}
