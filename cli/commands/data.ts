// `whetstone data FILE`: checks a dataset the way training will read it: the detected format,
// the row count and every invalid row by line; with --model (a folder or a hub id: only the
// tokenizer's files are read or downloaded), the token-length statistics and how many tokens the
// loss counts. Exits 1 when the file has invalid rows (training would refuse it) unless
// --skip_invalid_rows, like training.
import type { Command } from 'commander';
import { METHODS, methodsByDataKind } from '../../engine/recipe/methods.ts';
import { PACKING_STRATEGIES, type PackingStrategy } from '../../engine/recipe/fields.ts';
import type { LoadedDataset, Method } from '../../engine/data/dataset.ts';
import { loadMethodExamples } from '../../engine/data/methodData.ts';
import { packExamples, type PackingStats } from '../../engine/data/packing.ts';
import { packingSummary } from '../../engine/session/data.ts';
import { ChatTokenizer } from '../../engine/data/tokenizer.ts';
import { formatIssue, refuseInvalid } from '../../engine/data/validate.ts';
import { WhetstoneError } from '../../engine/errors.ts';
import { readText } from '../../engine/io/byteSource.ts';
import { NodeFileSource } from '../../engine/io/byteSourceNode.ts';
import { CheckpointError } from '../../engine/io/errors.ts';
import type { FileSet } from '../../engine/io/fileSet.ts';
import { chooseMethod, type MethodSource } from '../dataMethod.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';

export interface DataFlags {
  method?: string;
  packing_strategy?: string;
  model?: string;
  revision?: string;
  token?: string;
  max_length: number;
  drop_long_rows?: boolean;
  completion_only_loss?: boolean;
  skip_invalid_rows?: boolean;
  json?: boolean;
}

export interface DataReport {
  file: string;
  fileFormat: string;
  /** "gzip" when the file was gzip-compressed. */
  compression: string | null;
  format: string;
  method: Method;
  rows: number;
  validRows: number;
  invalidRows: number;
  errors: { line: number | null; unit: string; field: string | null; message: string }[];
  /** Present with --model. */
  tokens?: LoadedDataset['stats']['tokens'];
  trainedTokens?: number;
  truncated?: number;
  dropped?: number;
  maxLength?: number;
  /** SFT with --model: what packing (TRL's, --packing_strategy) would make of the rows. */
  packing?: PackingStats;
  warnings?: string[];
}

/** A model's tokenizer (tokenizer.json, tokenizer_config.json, generation_config.json) from a folder or hub id; no weights needed. */
export async function loadModelTokenizer(model: string, opts: { revision?: string; token?: string; quiet?: boolean } = {}): Promise<ChatTokenizer> {
  const files = await openModelFiles(model, { ...opts, tokenizerOnly: true });
  const have = new Set(files.list());
  if (!have.has('tokenizer.json')) {
    throw new CheckpointError('', `${files.name} has no tokenizer.json`, 'Whetstone needs the fast-tokenizer file tokenizer.json (a tokenizer.model alone is not enough).');
  }
  const json = async (name: string, fs: FileSet) => (have.has(name) ? (JSON.parse(await readText(fs.open(name))) as Record<string, unknown>) : undefined);
  return new ChatTokenizer((await json('tokenizer.json', files))!, (await json('tokenizer_config.json', files)) ?? {}, { generationConfig: await json('generation_config.json', files) });
}

/**
 * Runs the check and writes the human report (or, with --json, one JSON line last) through
 * `print`. Throws a DatasetError after printing when the file has invalid rows (without
 * --skip_invalid_rows), so the command exits 1.
 */
export async function dataCommand(file: string, flags: DataFlags, print: (line: string) => void = (l) => console.log(l)): Promise<DataReport> {
  const asked: MethodSource | null = flags.method === undefined ? null : { value: flags.method, from: 'flag' };
  const strategy = parsePackingStrategy(flags.packing_strategy ?? 'bfd');
  const src = await NodeFileSource.open(file);
  const { info } = await chooseMethod(src, asked);
  const report: DataReport = {
    file,
    fileFormat: info.fileFormat,
    compression: info.compression,
    format: info.format,
    method: info.method,
    rows: info.rows,
    validRows: info.validRows,
    invalidRows: info.errors.length,
    errors: info.errors.map((e) => ({ line: e.line, unit: e.unit, field: e.field, message: formatIssue(e) })),
  };
  let loaded: LoadedDataset | null = null;
  if (flags.model && info.validRows > 0) {
    const tokenizer = await loadModelTokenizer(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json });
    loaded = await loadMethodExamples(src, tokenizer, {
      method: info.method,
      maxLength: flags.max_length,
      dropLongRows: Boolean(flags.drop_long_rows),
      completionOnlyLoss: flags.completion_only_loss ?? true,
      skipInvalidRows: true, // report the statistics of the valid rows; the invalid ones are listed
      allowEmpty: true, // every row refused by the template: list them all
      keepLongRows: info.method === 'sft' && strategy !== 'bfd', // as a packed run with this strategy reads them
    });
    // Rows that only the tokenizer finds invalid (e.g. a template refusing a role) join the list.
    for (const e of loaded.issues) if (!info.errors.some((x) => x.line === e.line)) report.errors.push({ line: e.line, unit: e.unit, field: e.field, message: formatIssue(e) });
    report.errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    report.invalidRows = report.errors.length;
    report.validRows = report.rows - report.invalidRows;
    Object.assign(report, {
      tokens: loaded.stats.tokens,
      trainedTokens: loaded.stats.trainedTokens,
      truncated: loaded.stats.truncated,
      dropped: loaded.stats.dropped,
      maxLength: flags.max_length,
      ...(loaded.examples.method === 'sft' && loaded.stats.used > 0 ? { packing: packExamples(loaded.examples.rows, flags.max_length, strategy).stats } : {}),
      warnings: loaded.warnings.filter((w) => !w.startsWith('skipped ')),
    });
  }

  if (flags.json) print(JSON.stringify(report));
  else {
    print(`${file}: ${report.format} (${report.method.toUpperCase()}), ${report.fileFormat.toUpperCase()}${report.compression ? `, ${report.compression}` : ''}`);
    print(`rows: ${report.rows} (${report.validRows} valid, ${report.invalidRows} invalid)`);
    for (const e of report.errors.slice(0, 50)) print(`  ${e.message}`);
    if (report.errors.length > 50) print(`  ... and ${report.errors.length - 50} more`);
    if (loaded && loaded.stats.used > 0) {
      const t = loaded.stats.tokens;
      print(`tokens per row${report.method === 'dpo' ? ' (prompt + longer completion)' : ''}: min ${t.min}, p50 ${t.p50}, mean ${t.mean.toFixed(1)}, p95 ${t.p95}, max ${t.max}`);
      print(`max_length ${flags.max_length}: ${loaded.stats.truncated} truncated, ${loaded.stats.dropped} dropped`);
      print(`tokens the loss counts: ${loaded.stats.trainedTokens}${report.method === 'dpo' ? ' (chosen + rejected)' : ''}`);
      if (report.packing) print(`with --packing: ${packingSummary(report.packing)}`);
      for (const w of report.warnings ?? []) print(`warning: ${w}`);
    }
  }
  if (!flags.skip_invalid_rows && report.invalidRows > 0) {
    const issues = loaded ? [...info.errors, ...loaded.issues.filter((e) => !info.errors.some((x) => x.line === e.line))] : info.errors;
    refuseInvalid(info.file, issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)), report.rows);
  }
  return report;
}

function parsePackingStrategy(s: string): PackingStrategy {
  if ((PACKING_STRATEGIES as readonly string[]).includes(s)) return s as PackingStrategy;
  throw new WhetstoneError(`--packing_strategy must be ${PACKING_STRATEGIES.join(', ')}, got ${JSON.stringify(s)}`, `Pass --packing_strategy ${PACKING_STRATEGIES[0]} (TRL's default).`);
}

export function registerDataCommand(program: Command): void {
  program
    .command('data')
    .description('Check a dataset (JSONL, JSON, CSV, Parquet; gzip-compressed too): detected format, rows, errors by line; with --model, token statistics')
    .argument('<file>', 'the dataset file')
    .option('--method <method>', `${METHODS.join(' or ')} (default: from the data: ${methodsByDataKind()})`)
    .option('--model <dir|hub_id>', 'a model folder or hub id whose tokenizer and chat template to use (only the tokenizer files are downloaded)')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--max_length <n>', 'the training max_length', num('max_length', { integer: true, min: 2 }), 1024)
    .option('--drop_long_rows', 'count rows longer than max_length as dropped instead of truncated')
    .option('--skip_invalid_rows', 'do not fail on invalid rows (training with skip_invalid_rows uses the valid ones)')
    .option('--packing_strategy <strategy>', `SFT with --model: the packing to report (${PACKING_STRATEGIES.join(' | ')}; default bfd, as TRL)`)
    .option('--json', 'print one JSON line last')
    .action(async (file: string, flags: DataFlags) => {
      await dataCommand(file, flags);
    });
}
