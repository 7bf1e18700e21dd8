// `whetstone eval`: the loss of a model (optionally with an adapter) on a dataset, no training,
// through the engine's evaluation (engine/session/evaluation.ts: the method's objective, the same
// one the trainer's eval_steps use).
import type { Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { DPO_LOSS_TYPES } from '../../engine/recipe/fields.ts';
import { METHODS } from '../../engine/recipe/methods.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { evaluateDataset } from '../../engine/session/evaluation.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { bool, num } from '../parse.ts';

interface EvalFlags {
  model: string;
  data: string;
  method: string;
  adapter?: string;
  beta: number;
  loss_type: string;
  label_smoothing: number;
  max_length: number;
  batch_size: number;
  completion_only_loss: boolean;
  skip_invalid_rows?: boolean;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Loss of a model (and optionally a PEFT adapter) on a dataset, without training')
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .requiredOption('--data <file>', 'dataset file (.jsonl, .json, .csv, .parquet)')
    .option(`--method <${METHODS.join('|')}>`, 'sft: token-mean loss on trained tokens; dpo: preference loss and reward metrics', 'sft')
    .option('--adapter <dir>', 'PEFT adapter folder')
    .option('--beta <b>', 'DPO beta', num('beta', { min: 0 }), 0.1)
    .option('--loss_type <type>', `DPO loss: ${DPO_LOSS_TYPES.join(' | ')}`, 'sigmoid')
    .option('--label_smoothing <e>', 'DPO label smoothing', num('label_smoothing', { min: 0, max: 0.49 }), 0)
    .option('--max_length <n>', 'truncate rows to this many tokens', num('max_length', { integer: true, min: 2 }), 1024)
    .option('--batch_size <n>', 'rows per forward pass', num('batch_size', { integer: true, min: 1 }), 4)
    .option('--completion_only_loss <bool>', 'count only assistant/completion tokens (SFT)', bool('completion_only_loss'), true)
    .option('--skip_invalid_rows', 'evaluate the valid rows of a file with invalid ones')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last')
    .action(async (flags: EvalFlags) => {
      const recipe = resolveRecipe({
        method: flags.method,
        beta: flags.beta,
        loss_type: flags.loss_type,
        label_smoothing: flags.label_smoothing,
        max_length: flags.max_length,
        completion_only_loss: flags.completion_only_loss,
        skip_invalid_rows: Boolean(flags.skip_invalid_rows),
      });
      const { ctx } = await openGpu(flags.json);
      const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }));
      const adapter = flags.adapter ? await loadAdapter(ctx, loaded.spec, await openNodeFolder(flags.adapter)) : null;
      const r = await evaluateDataset({
        ctx,
        loaded,
        adapter,
        recipe,
        data: await NodeFileSource.open(flags.data),
        batchSize: flags.batch_size,
        onWarning: (w) => process.stderr.write(`warning: ${w}\n`),
      });
      // TRL's metric names; token-counting methods (SFT) also say how many tokens the loss counted.
      const out = { ...r.metrics, ...(r.tokens !== undefined ? { tokens: r.tokens } : {}), rows: r.rows };
      if (flags.json) console.log(JSON.stringify(out));
      else if (r.tokens !== undefined) console.log(`loss ${r.metrics.loss.toFixed(6)} over ${r.tokens} tokens in ${r.rows} rows`);
      else for (const [k, v] of Object.entries(out)) console.log(`${k} ${+v.toFixed(6)}`);
    });
}
