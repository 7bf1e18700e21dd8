// `whetstone eval`: the loss of a model (optionally with an adapter) on a dataset, no training.
import type { Command } from 'commander';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadTrainingExamples } from '../../engine/data/dataset.ts';
import { loadAdapter, loadModel } from '../../engine/model/loadModel.ts';
import { evaluateDpo, evaluateSft } from '../../engine/train/evaluate.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { bool, num } from '../parse.ts';

interface EvalFlags {
  model: string;
  data: string;
  method: 'sft' | 'dpo';
  adapter?: string;
  beta: number;
  loss_type: 'sigmoid' | 'ipo' | 'hinge' | 'robust';
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
    .option('--method <sft|dpo>', 'sft: token-mean loss on trained tokens; dpo: preference loss and reward metrics', 'sft')
    .option('--adapter <dir>', 'PEFT adapter folder')
    .option('--beta <b>', 'DPO beta', num('beta', { min: 0 }), 0.1)
    .option('--loss_type <type>', 'DPO loss: sigmoid | ipo | hinge | robust', 'sigmoid')
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
      const ctx = await openGpu(flags.json);
      const { model, tokenizer } = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }));
      const adapter = flags.adapter ? await loadAdapter(ctx, model.spec, await openNodeFolder(flags.adapter)) : null;
      const method = flags.method === 'dpo' ? 'dpo' : 'sft';
      const loaded = await loadTrainingExamples(await NodeFileSource.open(flags.data), tokenizer, {
        method,
        maxLength: flags.max_length,
        dropLongRows: false,
        completionOnlyLoss: flags.completion_only_loss,
        skipInvalidRows: Boolean(flags.skip_invalid_rows),
      });
      for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
      const pad = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
      if (loaded.examples.method === 'sft') {
        const r = await evaluateSft(ctx, model, adapter, loaded.examples.rows, pad, flags.batch_size);
        if (flags.json) console.log(JSON.stringify(r));
        else console.log(`loss ${r.loss.toFixed(6)} over ${r.tokens} tokens in ${r.rows} rows`);
      } else {
        const hyper = { beta: flags.beta, lossType: flags.loss_type, labelSmoothing: flags.label_smoothing };
        const r = await evaluateDpo(ctx, model, adapter, loaded.examples.rows, pad, hyper, flags.batch_size);
        const out = { loss: r.loss, 'rewards/chosen': r['rewards/chosen'], 'rewards/rejected': r['rewards/rejected'], 'rewards/accuracies': r['rewards/accuracies'], 'rewards/margins': r['rewards/margins'], rows: r.rows };
        if (flags.json) console.log(JSON.stringify(out));
        else for (const [k, v] of Object.entries(out)) console.log(`${k} ${typeof v === 'number' ? +v.toFixed(6) : v}`);
      }
    });
}
