// `whetstone eval`: the loss and metrics of a model (optionally with an adapter) on a dataset, no
// training, through the engine's evaluation (engine/session/evaluation.ts: the method's objective,
// the same one the trainer's eval_steps use). The method's own options are the recipe's flags.
import { Option, type Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { RECIPE_FIELDS, RECIPE_KEYS, type RecipeKey } from '../../engine/recipe/fields.ts';
import { METHODS } from '../../engine/recipe/methods.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { evaluateDataset } from '../../engine/session/evaluation.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';
import { addRecipeFlags, recipeFromFlags } from '../recipeFlags.ts';

/** The recipe keys evaluation reads: the method and its options, how rows are read and batched. */
const EVAL_KEYS: RecipeKey[] = [
  'method',
  ...RECIPE_KEYS.filter((k) => RECIPE_FIELDS[k].group === 'method' && k !== 'method' && k !== 'packing'),
  'max_length',
  'drop_long_rows',
  'skip_invalid_rows',
  'per_device_eval_batch_size',
  'per_device_train_batch_size',
];

interface EvalFlags extends Record<string, unknown> {
  model: string;
  data: string;
  adapter?: string;
  batch_size?: number;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function registerEvalCommand(program: Command): void {
  const cmd = program
    .command('eval')
    .description(
      `Loss and metrics of a model (and optionally a PEFT adapter) on a dataset, without training (${METHODS.join(', ')}; ` +
        'KTO pairs its KL rows over blocks of --per_device_train_batch_size rows and averages the KL per eval batch, as TRL)',
    )
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .requiredOption('--data <file>', 'dataset file (.jsonl, .json, .csv, .parquet)')
    .option('--adapter <dir>', 'PEFT adapter folder (a reward model: its SEQ_CLS adapter)')
    .addOption(new Option('--batch_size <n>', 'the old name of --per_device_eval_batch_size').argParser(num('batch_size', { integer: true, min: 1 })).hideHelp())
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last');
  addRecipeFlags(cmd, EVAL_KEYS).action(async (flags: EvalFlags) => {
    const given = recipeFromFlags(flags, EVAL_KEYS);
    if (flags.batch_size !== undefined && given.per_device_eval_batch_size === undefined) given.per_device_eval_batch_size = flags.batch_size;
    const recipe = resolveRecipe(given);
    const { ctx } = await openGpu(flags.json);
    const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }));
    const adapter = flags.adapter ? await loadAdapter(ctx, loaded.spec, await openNodeFolder(flags.adapter)) : null;
    const r = await evaluateDataset({
      ctx,
      loaded,
      adapter,
      recipe,
      data: await NodeFileSource.open(flags.data),
      batchSize: recipe.per_device_eval_batch_size,
      onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
    });
    // TRL's metric names; token-counting methods (SFT) also say how many tokens the loss counted.
    const out = { ...r.metrics, ...(r.tokens !== undefined ? { tokens: r.tokens } : {}), rows: r.rows };
    if (flags.json) console.log(JSON.stringify(out));
    else if (r.tokens !== undefined) console.log(`loss ${r.metrics.loss.toFixed(6)} over ${r.tokens} tokens in ${r.rows} rows`);
    else for (const [k, v] of Object.entries(out)) console.log(`${k} ${+v.toFixed(6)}`);
  });
}
