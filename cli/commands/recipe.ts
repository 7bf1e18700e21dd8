// `whetstone recipe --to trl RECIPE.json --output_dir D --model M --data FILE`: writes a TRL +
// accelerate project that runs the same training on a cluster: train.py with the method's TRL
// trainer and every recipe value under TRL's name (engine/trl/names.ts, the one table), the dataset
// in TRL's format as Whetstone reads it, an accelerate config for several GPUs, and a README.
// Only the model's tokenizer files are read (is there a chat template?), never its weights.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { withFsErrors } from '../../engine/io/fsErrors.ts';
import { WhetstoneError } from '../../engine/errors.ts';
import { RecipeError, resolveRecipe } from '../../engine/recipe/schema.ts';
import { jsonLines, splitRows, trlDataset } from '../../engine/trl/dataset.ts';
import { TRL_TRAINERS } from '../../engine/trl/names.ts';
import { EVAL_FILE, TRAIN_FILE, trlProjectFiles } from '../../engine/trl/project.ts';
import { offlineOption } from '../modelSource.ts';
import { loadModelTokenizer } from './data.ts';

export interface RecipeFlags {
  to: 'trl';
  output_dir: string;
  model: string;
  data: string;
  eval_data?: string;
  overwrite_output_dir?: boolean;
  revision?: string;
  token?: string;
  json?: boolean;
}

export interface RecipeExportSummary {
  output_dir: string;
  method: string;
  trainer: string;
  train_rows: number;
  eval_rows: number;
  format: string;
  files: string[];
  warnings: string[];
}

function parseTarget(v: string): 'trl' {
  if (v === 'trl') return v;
  throw new InvalidArgumentError(`--to must be trl, got "${v}"`);
}

export function registerRecipeCommand(program: Command): void {
  program
    .command('recipe')
    .description('Write a runnable TRL + accelerate project for the same training run (train.py, the data in TRL\'s format, an accelerate config, a README)')
    .argument('<recipe.json>', 'a recipe file (the studio saves one; the same keys as `whetstone train --config`)')
    .requiredOption('--to <target>', 'trl', parseTarget)
    .requiredOption('--output_dir <dir>', 'folder to write (created; must be empty unless --overwrite_output_dir)')
    .requiredOption('--model <dir|hub_id>', 'the base model (only its tokenizer files are read, for its chat template)')
    .requiredOption('--data <file>', 'the training dataset (any format `whetstone train` reads)')
    .option('--eval_data <file>', 'an evaluation dataset (else eval_split rows are held out as Whetstone does)')
    .option('--overwrite_output_dir', 'write into a folder that already has files')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last')
    .action(async (file: string, flags: RecipeFlags) => {
      const summary = await runRecipeExport(file, flags);
      if (flags.json) console.log(JSON.stringify(summary));
      else {
        console.log(`wrote the ${summary.trainer} project to ${summary.output_dir}: ${summary.train_rows} training rows${summary.eval_rows ? `, ${summary.eval_rows} eval rows` : ''} (${summary.format})`);
        for (const w of summary.warnings) console.log(`warning: ${w}`);
        console.log(`run it: cd ${summary.output_dir} && pip install -r requirements.txt && accelerate launch --config_file accelerate_config.yaml train.py`);
      }
    });
}

export async function runRecipeExport(file: string, flags: RecipeFlags): Promise<RecipeExportSummary> {
  const text = await withFsErrors(file, 'read the recipe', () => readFile(file, 'utf8'));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RecipeError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const recipe = resolveRecipe(json);
  await checkOutputDir(flags.output_dir, Boolean(flags.overwrite_output_dir));
  const tokenizer = await loadModelTokenizer(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json });
  const opts = { chatTemplate: tokenizer.hasChatTemplate, skipInvalidRows: recipe.skip_invalid_rows };
  const train = await trlDataset(await NodeFileSource.open(flags.data), recipe.method, opts);
  let trainRows = train.rows;
  let evalRows: typeof trainRows = [];
  const warnings = [...train.warnings];
  if (flags.eval_data) {
    const ev = await trlDataset(await NodeFileSource.open(flags.eval_data), recipe.method, opts);
    if (ev.style !== train.style) throw new WhetstoneError(`${flags.eval_data} is ${ev.style} data but ${flags.data} is ${train.style} data`, 'Give both files the same format.');
    evalRows = ev.rows;
    warnings.push(...ev.warnings);
  } else if (recipe.eval_split > 0) [trainRows, evalRows] = splitRows(train.rows, recipe.eval_split, recipe.seed);
  const command = `whetstone recipe --to trl ${file} --output_dir ${flags.output_dir} --model ${flags.model} --data ${flags.data}${flags.eval_data ? ` --eval_data ${flags.eval_data}` : ''}`;
  const files: Record<string, string> = {
    ...trlProjectFiles({ recipe, model: flags.model, recipeFile: file, style: train.style, hasEval: evalRows.length > 0, command }),
    [TRAIN_FILE]: jsonLines(trainRows),
  };
  if (evalRows.length) files[EVAL_FILE] = jsonLines(evalRows);
  for (const [rel, body] of Object.entries(files)) {
    const path = join(flags.output_dir, rel);
    await withFsErrors(path, 'write it', async () => {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    });
  }
  const trainer = TRL_TRAINERS[recipe.method].trainer;
  return { output_dir: flags.output_dir, method: recipe.method, trainer, train_rows: trainRows.length, eval_rows: evalRows.length, format: train.format, files: Object.keys(files).sort(), warnings };
}

async function checkOutputDir(dir: string, overwrite: boolean): Promise<void> {
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  if (entries.length && !overwrite) {
    throw new WhetstoneError(`${dir} is not empty (${entries.slice(0, 4).join(', ')}${entries.length > 4 ? ', ...' : ''})`, 'Pick another --output_dir, or pass --overwrite_output_dir to write into it.');
  }
}
