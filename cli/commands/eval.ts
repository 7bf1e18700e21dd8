// `whetstone eval`: the loss and metrics of a model (optionally with an adapter) on a dataset, no
// training, through the engine's evaluation (engine/session/evaluation.ts: the method's objective,
// the same one the trainer's eval_steps use). The method is taken from the data unless --method
// is given; its own options are the recipe's flags. Progress goes to stderr (the same bar as
// `train`), so --json leaves stdout one JSON line.
import { Option, type Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { fourBitOptions } from '../../engine/quant/loadNf4.ts';
import { RECIPE_FIELDS, RECIPE_KEYS, type RecipeKey } from '../../engine/recipe/fields.ts';
import { countLabel, METHODS, methodsByDataKind } from '../../engine/recipe/methods.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { evaluateDataset, type EvalProgress } from '../../engine/session/evaluation.ts';
import { chooseMethod, methodLine } from '../dataMethod.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';
import { createReporter, formatEta } from '../progress.ts';
import { addRecipeFlags, FOUR_BIT_KEYS, recipeFromFlags } from '../recipeFlags.ts';

/** "eval 12/299 pairs  ETA 1m20s" ("ETA estimating…" for the first batches). */
export function evalProgressLabel(p: EvalProgress): string {
  return `eval ${p.done}/${countLabel(p.method, p.total)}  ETA ${formatEta(p.etaSeconds)}`;
}

/** The recipe keys evaluation reads besides the method: the method's options, how rows are read and batched. */
const EVAL_KEYS: RecipeKey[] = [
  ...RECIPE_KEYS.filter((k) => RECIPE_FIELDS[k].group === 'method' && !['method', 'packing', 'packing_strategy'].includes(k)),
  'max_length',
  'drop_long_rows',
  'skip_invalid_rows',
  'per_device_eval_batch_size',
  'per_device_train_batch_size',
  ...FOUR_BIT_KEYS,
];

interface EvalFlags extends Record<string, unknown> {
  model: string;
  data: string;
  method?: string;
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
      'Loss and metrics of a model (and optionally a PEFT adapter) on a dataset, without training ' +
        '(KTO pairs its KL rows over blocks of --per_device_train_batch_size rows and averages the KL per eval batch, as TRL)',
    )
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .requiredOption('--data <file>', 'dataset file (.jsonl, .json, .csv, .parquet)')
    .addOption(new Option('--method <method>', `the objective to evaluate (default: from the data: ${methodsByDataKind()})`).choices(METHODS))
    .option('--adapter <dir>', 'PEFT adapter folder (a reward model: its SEQ_CLS adapter)')
    .addOption(new Option('--batch_size <n>', 'the old name of --per_device_eval_batch_size').argParser(num('batch_size', { integer: true, min: 1 })).hideHelp())
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last');
  addRecipeFlags(cmd, EVAL_KEYS).action(async (flags: EvalFlags) => {
    const data = await NodeFileSource.open(flags.data);
    const choice = await chooseMethod(data, flags.method === undefined ? null : { value: flags.method, from: 'flag' });
    const out = createReporter();
    if (choice.detected) out.line(methodLine(choice));
    const given: Record<string, unknown> = { ...recipeFromFlags(flags, EVAL_KEYS), method: choice.method };
    if (flags.batch_size !== undefined && given.per_device_eval_batch_size === undefined) given.per_device_eval_batch_size = flags.batch_size;
    const recipe = resolveRecipe(given);
    const { ctx } = await openGpu(flags.json);
    const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }), fourBitOptions(recipe));
    const adapter = flags.adapter ? await loadAdapter(ctx, loaded.spec, await openNodeFolder(flags.adapter)) : null;
    const r = await evaluateDataset({
      ctx,
      loaded,
      adapter,
      recipe,
      data,
      batchSize: recipe.per_device_eval_batch_size,
      onWarning: (w) => out.line(`warning: ${w}`),
      onProgress: (p) => out.update(p.total ? p.done / p.total : 1, evalProgressLabel(p)),
    });
    out.done();
    // TRL's metric names; token-counting methods (SFT) also say how many tokens the loss counted.
    const result = { ...r.metrics, ...(r.tokens !== undefined ? { tokens: r.tokens } : {}), rows: r.rows };
    if (flags.json) console.log(JSON.stringify(result));
    else if (r.tokens !== undefined) console.log(`loss ${r.metrics.loss.toFixed(6)} over ${r.tokens} tokens in ${r.rows} rows`);
    else for (const [k, v] of Object.entries(result)) console.log(`${k} ${+v.toFixed(6)}`);
  });
}
