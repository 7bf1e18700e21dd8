// `whetstone quantize`: save a model with its decoder linear weights in 4-bit NF4, in the
// transformers + bitsandbytes format (a QLoRA base: Whetstone and transformers both load it
// without re-quantizing). CPU only: no GPU is opened.
import { InvalidArgumentError, type Command } from 'commander';
import { openCheckpoint } from '../../engine/io/checkpoint.ts';
import { writeMergedExport } from '../../engine/lora/exportNode.ts';
import { quantizeCheckpoint } from '../../engine/quant/quantizeCheckpoint.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { createReporter } from '../progress.ts';

export interface QuantizeFlags {
  model: string;
  output_dir: string;
  bnb_4bit_quant_type: 'nf4';
  bnb_4bit_use_double_quant?: boolean;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function parseQuantType(value: string): 'nf4' {
  if (value === 'nf4') return value;
  if (value === 'fp4') throw new InvalidArgumentError('fp4 is not supported: Whetstone quantizes and trains on NF4 (what QLoRA uses); pass nf4.');
  throw new InvalidArgumentError(`--bnb_4bit_quant_type must be nf4, got "${value}"`);
}

export function registerQuantizeCommand(program: Command): void {
  program
    .command('quantize')
    .description('Save a model with 4-bit NF4 linear layers (bitsandbytes format): a QLoRA base that loads without re-quantizing')
    .requiredOption('--model <dir|hub_id>', 'a 16-bit model folder or Hugging Face id')
    .requiredOption('--output_dir <dir>', 'folder to write; created if missing')
    .option('--bnb_4bit_quant_type <type>', 'nf4 (fp4 is not supported)', parseQuantType, 'nf4' as const)
    .option('--bnb_4bit_use_double_quant', 'also quantize the per-block scales (0.516 instead of 0.563 bytes per weight)', false)
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print one JSON line last (and no progress)')
    .addHelpText(
      'after',
      '\nEvery q/k/v/o/gate/up/down_proj weight is quantized exactly as bitsandbytes quantize_4bit does (blocks of 64,\n' +
        'NF4 codes, optional double quantization); embeddings, norms, biases and the LM head keep their dtype.\n' +
        'Load it with transformers + bitsandbytes: AutoModelForCausalLM.from_pretrained("<output_dir>")',
    )
    .action(async (flags: QuantizeFlags) => {
      await runQuantize(flags);
    });
}

export interface QuantizeSummary {
  output_dir: string;
  files: { name: string; bytes: number }[];
  quantized_tensors: number;
  copied_tensors: number;
  quantized_params: number;
  /** File bytes of the 4-bit tensors (codes, scales, maps, quant_state) per quantized weight element. */
  bytes_per_quantized_param: number;
  bnb_4bit_use_double_quant: boolean;
  seconds: number;
}

/** The command body, callable without commander. Progress goes to stderr, the result to stdout. */
export async function runQuantize(flags: QuantizeFlags): Promise<QuantizeSummary> {
  const start = performance.now();
  const quiet = Boolean(flags.json);
  const doubleQuant = Boolean(flags.bnb_4bit_use_double_quant);
  parseQuantType(flags.bnb_4bit_quant_type ?? 'nf4');
  const reporter = createReporter();
  const files = await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet });
  const ckpt = await openCheckpoint(files, { requireTokenizer: false });
  const q = await quantizeCheckpoint(ckpt, {
    doubleQuant,
    onProgress: quiet ? undefined : (p) => reporter.update(p.done / p.total, `quantizing ${p.tensor} (${p.done}/${p.total})`),
  });
  reporter.done();
  const inputDirs = files.name === flags.model ? [flags.model] : [];
  await writeMergedExport(q, flags.output_dir, { inputDirs, what: 'quantized model' });
  const summary: QuantizeSummary = {
    output_dir: flags.output_dir,
    files: q.files.map((f) => ({ name: f.name, bytes: f.size })),
    quantized_tensors: q.quantized.length,
    copied_tensors: q.copied,
    quantized_params: q.quantizedParams,
    bytes_per_quantized_param: q.quantizedBytes / q.quantizedParams,
    bnb_4bit_use_double_quant: doubleQuant,
    seconds: (performance.now() - start) / 1000,
  };
  if (quiet) console.log(JSON.stringify(summary));
  else {
    console.log(`wrote ${flags.output_dir}: ${q.files.map((f) => f.name).join(', ')} (${(q.totalBytes / 1e6).toFixed(1)} MB)`);
    console.log(
      `quantized ${q.quantized.length} weights (${(q.quantizedParams / 1e6).toFixed(2)}M parameters, ${summary.bytes_per_quantized_param.toFixed(3)} bytes each${doubleQuant ? ', double quantization' : ''}), copied ${q.copied} tensors`,
    );
  }
  return summary;
}
