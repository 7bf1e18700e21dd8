// `whetstone score`: the reward a reward model (a PEFT SEQ_CLS adapter trained with --method reward)
// gives each row of a file: preference pairs get the reward of their chosen and of their rejected
// answer (prompt + answer tokenized whole, as for training), SFT rows the reward of the row.
// One line per row; --json: one JSON object per row ({"line", "chosen", "rejected"} or {"line", "reward"}).
import type { Command } from 'commander';
import { loadScoreRows } from '../../engine/data/methodDatasets.ts';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { fourBitOptions } from '../../engine/quant/loadNf4.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { requireScoreHead, scoreSequences } from '../../engine/session/reward.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';
import { addRecipeFlags, FOUR_BIT_KEYS, recipeFromFlags } from '../recipeFlags.ts';

interface ScoreFlags extends Record<string, unknown> {
  model: string;
  adapter: string;
  data: string;
  max_length: number;
  per_device_eval_batch_size: number;
  skip_invalid_rows?: boolean;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function registerScoreCommand(program: Command): void {
  const cmd = program
    .command('score')
    .description('The reward a reward model (--adapter, trained with --method reward) gives each row of a file')
    .requiredOption('--model <dir|hub_id>', 'the base model the reward model was trained on')
    .requiredOption('--adapter <dir>', 'the reward model: a PEFT SEQ_CLS adapter folder')
    .requiredOption('--data <file>', 'rows to score: preference pairs (chosen and rejected) or SFT rows (.jsonl, .json, .csv, .parquet)')
    .option('--max_length <n>', 'rows longer than this many tokens are left out', num('max_length', { integer: true, min: 2 }), 1024)
    .option('--per_device_eval_batch_size <n>', 'sequences per forward pass', num('per_device_eval_batch_size', { integer: true, min: 1 }), 8)
    .option('--skip_invalid_rows', 'score the valid rows of a file with invalid ones')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'one JSON object per row');
  addRecipeFlags(cmd, FOUR_BIT_KEYS).action(async (flags: ScoreFlags) => {
    const { ctx } = await openGpu(flags.json);
    const loaded = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }), fourBitOptions(resolveRecipe(recipeFromFlags(flags, FOUR_BIT_KEYS))));
    const adapter = await loadAdapter(ctx, loaded.spec, await openNodeFolder(flags.adapter));
    requireScoreHead(adapter, flags.adapter);
    const data = await loadScoreRows(await NodeFileSource.open(flags.data), loaded.tokenizer, { maxLength: flags.max_length, skipInvalidRows: Boolean(flags.skip_invalid_rows) });
    for (const w of data.warnings) process.stderr.write(`warning: ${w}\n`);
    const sequences = data.rows.flatMap((r) => ('sequence' in r ? [r.sequence] : [r.chosen, r.rejected]));
    const rewards = await scoreSequences(loaded.model, adapter, sequences, loaded.tokenizer.padId, flags.per_device_eval_batch_size);
    let at = 0;
    for (const r of data.rows) {
      if ('sequence' in r) {
        const reward = rewards[at++];
        console.log(flags.json ? JSON.stringify({ line: r.line, reward }) : `line ${r.line}: ${reward.toFixed(4)}`);
      } else {
        const [chosen, rejected] = [rewards[at++], rewards[at++]];
        console.log(flags.json ? JSON.stringify({ line: r.line, chosen, rejected }) : `line ${r.line}: chosen ${chosen.toFixed(4)}  rejected ${rejected.toFixed(4)}  margin ${(chosen - rejected).toFixed(4)}`);
      }
    }
  });
}
