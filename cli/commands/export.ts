// `whetstone export`: merge a PEFT LoRA adapter into its base model and write the result as a
// Hugging Face checkpoint folder (AutoModelForCausalLM.from_pretrained(output_dir) loads it).
// CPU only: no GPU is opened.
import { InvalidArgumentError, type Command } from 'commander';
import { openCheckpoint } from '../../engine/io/checkpoint.ts';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { exportMergedModel, readAdapterForMerge, type ExportDtype } from '../../engine/lora/export.ts';
import { writeMergedExport } from '../../engine/lora/exportNode.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { createReporter } from '../progress.ts';

export interface ExportFlags {
  model: string;
  adapter: string;
  output_dir: string;
  dtype: ExportDtype;
  max_shard_size: number;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function parseExportDtype(value: string): ExportDtype {
  const v = value.toLowerCase();
  const map: Record<string, ExportDtype> = { same: 'same', bf16: 'BF16', bfloat16: 'BF16', f16: 'F16', fp16: 'F16', float16: 'F16', f32: 'F32', fp32: 'F32', float32: 'F32' };
  if (!map[v]) throw new InvalidArgumentError(`--dtype must be same, bf16, f16 or f32, got "${value}"`);
  return map[v];
}

/** "2GB", "500MB", "1.5GiB" or a plain byte count -> bytes (decimal units, like transformers' max_shard_size). */
export function parseSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$/i.exec(value);
  const unit: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  const bytes = m ? Number(m[1]) * unit[(m[2] ?? 'b').toLowerCase()] : NaN;
  if (!(bytes >= 1)) throw new InvalidArgumentError(`--max_shard_size must be a size such as 2GB or 500MB, got "${value}"`);
  return Math.floor(bytes);
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('Merge a LoRA adapter into its base model and save a Hugging Face checkpoint (safetensors, config, tokenizer)')
    .requiredOption('--model <dir|hub_id>', 'base model folder or Hugging Face id (the model the adapter was trained on)')
    .requiredOption('--adapter <dir>', 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--output_dir <dir>', 'folder to write; created if missing. Files of the same name are replaced, others are kept')
    .option('--dtype <same|bf16|f16|f32>', 'weight dtype of the output (same: as the base checkpoint)', parseExportDtype, 'same' as ExportDtype)
    .option('--max_shard_size <size>', 'split the weights into shards above this size', parseSize, 2e9)
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last (and no progress)')
    .addHelpText(
      'after',
      '\nLoad the result with transformers:\n  AutoModelForCausalLM.from_pretrained("<output_dir>")\n' +
        'Each merged weight is W + scale * B @ A computed in float64 and rounded once to the output dtype.',
    )
    .action(async (flags: ExportFlags) => {
      await runExport(flags);
    });
}

export interface ExportSummary {
  output_dir: string;
  files: { name: string; bytes: number }[];
  merged_tensors: number;
  copied_tensors: number;
  /** A pre-quantized (bitsandbytes NF4) base: weights dequantized before merging. */
  dequantized_tensors: number;
  scale: number;
  dtype: ExportDtype;
  seconds: number;
}

/** The command body, callable without commander. Progress goes to stderr, the result to stdout. */
export async function runExport(flags: ExportFlags): Promise<ExportSummary> {
  const start = performance.now();
  const quiet = Boolean(flags.json);
  const reporter = createReporter();
  const log = (s: string) => {
    if (!quiet) reporter.line(s);
  };
  const modelFiles = await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet });
  const ckpt = await openCheckpoint(modelFiles, { requireTokenizer: false });
  if (!ckpt.tokenizerJson) log(`warning: ${modelFiles.name} has no tokenizer.json; the merged folder will have none either`);
  const adapter = await readAdapterForMerge(await openNodeFolder(flags.adapter), ckpt);
  const exp = exportMergedModel(ckpt, adapter, {
    dtype: flags.dtype ?? 'same',
    maxShardBytes: flags.max_shard_size,
    onProgress: quiet ? undefined : (p) => reporter.update(p.bytesDone / p.bytesTotal, `writing ${p.file}${p.tensor ? ` ${p.tensor}` : ''} ${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB`),
  });
  const c = adapter.config;
  log(`model: ${modelFiles.name} (${ckpt.tensors.size} tensors)`);
  log(`adapter: ${flags.adapter} (r=${c.r}, lora_alpha=${c.loraAlpha}${c.useRslora ? ', rsLoRA' : ''}, scale ${+exp.scale.toFixed(6)}; ${exp.merged.length} weights to merge)`);
  if (exp.dequantized.length > 0) {
    log(`note: ${modelFiles.name} is saved in 4-bit (bitsandbytes NF4), so its original 16-bit weights are not available: ${exp.dequantized.length} weights are dequantized (as bitsandbytes computes with them) and merged; the output is an ordinary 16-bit checkpoint without quantization_config`);
  }
  const inputDirs = [flags.adapter, ...(modelFiles.name === flags.model ? [flags.model] : [])];
  await writeMergedExport(exp, flags.output_dir, { inputDirs });
  reporter.done();
  const summary: ExportSummary = {
    output_dir: flags.output_dir,
    files: exp.files.map((f) => ({ name: f.name, bytes: f.size })),
    merged_tensors: exp.merged.length,
    copied_tensors: exp.copied,
    dequantized_tensors: exp.dequantized.length,
    scale: exp.scale,
    dtype: flags.dtype ?? 'same',
    seconds: (performance.now() - start) / 1000,
  };
  if (quiet) console.log(JSON.stringify(summary));
  else {
    console.log(`wrote ${flags.output_dir}: ${exp.files.map((f) => f.name).join(', ')} (${(exp.totalBytes / 1e6).toFixed(1)} MB)`);
    console.log(`merged ${exp.merged.length} weights, copied ${exp.copied} tensors; load it with AutoModelForCausalLM.from_pretrained("${flags.output_dir}")`);
  }
  return summary;
}
