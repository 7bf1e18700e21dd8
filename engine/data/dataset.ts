// The dataset API: inspect a file (format, rows, errors by line, a preview; no tokenizer needed)
// and turn it into the tokenized rows the trainers consume, with length statistics and every
// skipped, truncated or dropped row counted. Browser-safe: runs in the engine worker.
import type { ByteSource } from '../io/byteSource.ts';
import { countedTokens, type PreferenceExample, type SftExample, type TokenizedRow, type TrainingExamples } from './examples.ts';
import { WhetstoneError } from '../errors.ts';
import type { Compression } from './containers.ts';
import { decodeCsvCells } from './csvCells.ts';
import { renameHint } from './formatHints.ts';
import { detectFormat, FORMAT_HELP, FORMAT_NAMES, unsupportedFormat, type FormatId, type Method, type PreferenceRecord, type SftRecord } from './formats.ts';
import { readDatasetFile, type FileFormat, type ReadResult } from './readers.ts';
import { hhToMessages, toPreferenceRecord, toSftRecord } from './records.ts';
import type { ChatTokenizer } from './tokenizer.ts';
import { ChatTemplateBudgetError, ChatTemplateError } from './chatTemplate.ts';
import { fitPair, fitSft, joinPair, tokenizePair, tokenizeSft } from './tokenizeRows.ts';
import { DatasetError, formatIssue, MethodMismatch, refuseInvalid, RowProblem, type DatasetIssue } from './validate.ts';
import { DATA_KINDS, METHOD_INFO, methodReads } from '../recipe/methods.ts';

export { DatasetError, formatIssue, MethodMismatch, type DatasetIssue } from './validate.ts';
export type { FormatId, Method, PreferenceRecord, SftRecord } from './formats.ts';

export const PREVIEW_ROWS = 50;

export interface DatasetInspection {
  file: string;
  fileFormat: FileFormat;
  /** 'gzip' when the file was gzip-compressed (read through), else null. */
  compression: Compression | null;
  /** Human name of the detected format, e.g. "ShareGPT". */
  format: string;
  /** 'unpaired' for KTO's prompt/completion/label rows. */
  formatId: FormatId | 'unpaired';
  method: Method;
  /** Data rows in the file (readable or not). */
  rows: number;
  validRows: number;
  /** One per invalid row, in file order. */
  errors: DatasetIssue[];
  /** The first PREVIEW_ROWS rows as read (raw columns), with their line numbers. */
  preview: Record<string, unknown>[];
  previewLines: number[];
  /** Column names seen in the first rows. */
  columns: string[];
  /** The first valid row's last user turn (its prompt as text), e.g. for sample generations; null for text rows. */
  samplePrompt: string | null;
  /** The first PREVIEW_ROWS valid rows as the trainer reads them (e.g. HH pairs split into prompt, chosen, rejected). */
  previewRecords: { line: number; rec: SftRecord | PreferenceRecord }[];
}

export interface LoadOptions {
  method: Method;
  maxLength: number;
  dropLongRows: boolean;
  completionOnlyLoss: boolean;
  skipInvalidRows: boolean;
  /** Return an empty result instead of refusing a file with no usable row (reports that list the invalid rows). */
  allowEmpty?: boolean;
  /**
   * SFT rows longer than maxLength are kept whole (counted as `split`): packing then splits them
   * (packing_strategy bfd_split or wrapped). drop_long_rows still drops them.
   */
  keepLongRows?: boolean;
  /** Preference pairs as ORPO / CPO tokenize them: BOS prepended and EOS appended where missing (tokenizeRows.ts). */
  addBosEos?: boolean;
}

export interface TokenStats {
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
}

export interface LoadStats {
  /** Data rows in the file. */
  rows: number;
  /** Invalid rows left out (only with skipInvalidRows; otherwise the file is refused). */
  skipped: number;
  /** Rows longer than max_length that were truncated. */
  truncated: number;
  /** Rows longer than max_length kept whole for packing to split (keepLongRows; absent: none). */
  split?: number;
  /** Rows longer than max_length left out (dropLongRows), or with nothing trained left after truncation. */
  dropped: number;
  /** Rows in the result. */
  used: number;
  /** Sequence lengths before truncation (DPO: prompt + the longer completion). */
  tokens: TokenStats;
  /** Tokens the loss counts, over all rows (DPO: chosen + rejected). */
  trainedTokens: number;
}

export interface LoadedDataset {
  examples: TrainingExamples;
  stats: LoadStats;
  /** Human name of the detected format. */
  format: string;
  formatId: FormatId | 'unpaired';
  fileFormat: FileFormat;
  compression: Compression | null;
  /** The invalid rows (empty unless skipInvalidRows). */
  issues: DatasetIssue[];
  /** Sentences for the user: rows skipped, truncated, dropped. */
  warnings: string[];
  /** The first usable row's prompt as text (see samplePrompt), e.g. for sample generations. */
  samplePrompt: string | null;
}

export interface Converted {
  read: ReadResult;
  formatId: FormatId;
  method: Method;
  records: { line: number; rec: SftRecord | PreferenceRecord }[];
  issues: DatasetIssue[];
  total: number;
}

/**
 * The file's rows as read (CSV cells holding message lists decoded) and the rows that could not
 * be read; refuses a file without one readable row.
 */
export async function readDatasetRows(src: ByteSource): Promise<{ read: ReadResult; total: number }> {
  const read = await readDatasetFile(src);
  if (read.fileFormat === 'csv') {
    // CSV cells are text; only the columns that hold message lists are decoded (csvCells.ts).
    const decoded = decodeCsvCells(read.rows, read.file, read.unit);
    read.rows = decoded.rows;
    read.issues = [...read.issues, ...decoded.issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
  if (read.rows.length === 0) {
    const listed = read.issues.slice(0, 10).map(formatIssue).join('\n');
    throw new DatasetError(
      read.issues[0] ?? { file: read.file, line: null, unit: read.unit, field: null, problem: 'no rows' },
      'Check that the file is a dataset in JSONL, JSON, CSV or Parquet.',
      `${read.file}: no usable rows (${read.issues.length} invalid):\n${listed}`,
      read.issues,
    );
  }
  return { read, total: read.rows.length + read.issues.length };
}

/** Reads a file and converts every row of its detected format (SFT or preference) to a record. */
export async function readAndConvert(src: ByteSource, method: Method | undefined): Promise<Converted> {
  const { read, total } = await readDatasetRows(src);
  const datas = read.rows.map((r) => r.data);
  const fileIssue = (problem: string, hint: string) => new DatasetError({ file: read.file, line: null, unit: read.unit, field: null, problem }, hint);
  const unsupported = unsupportedFormat(datas);
  if (unsupported) throw fileIssue(unsupported.problem, unsupported.hint);
  const format = detectFormat(datas, method);
  if (!format) {
    const cols = [...new Set(datas.slice(0, 100).flatMap((d) => Object.keys(d)))];
    throw fileIssue(`no known dataset format in the columns ${columnList(cols)}`, renameHint(cols) ?? FORMAT_HELP);
  }
  if (method && !methodReads(method, METHOD_INFO[format.method].data)) {
    throw new MethodMismatch(read.file, method, format.method, `${format.name} (${DATA_KINDS[METHOD_INFO[format.method].data]})`, DATA_KINDS[METHOD_INFO[method].data]);
  }
  const issues = [...read.issues];
  const records: Converted['records'] = [];
  for (const row of read.rows) {
    try {
      const rec = format.method === 'sft' ? toSftRecord(format.id, row.data) : toPreferenceRecord(format.id, row.data);
      records.push({ line: row.line, rec });
    } catch (e) {
      if (!(e instanceof RowProblem)) throw e;
      issues.push({ file: read.file, line: row.line, unit: read.unit, field: e.field, problem: e.message });
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { read, formatId: format.id, method: format.method, records, issues, total };
}

/** Column names for a message: quoted, long ones cut, at most 20. */
function columnList(cols: string[]): string {
  if (cols.length === 0) return '(none)';
  const shown = cols.slice(0, 20).map((c) => JSON.stringify(c.length > 40 ? `${c.slice(0, 40)}…` : c));
  return shown.join(', ') + (cols.length > 20 ? ` and ${cols.length - 20} more` : '');
}

/** Format, row count, errors by line and a preview; no tokenizer needed. */
export async function inspectDataset(src: ByteSource, opts: { method?: Method } = {}): Promise<DatasetInspection> {
  const c = await readAndConvert(src, opts.method);
  const first = c.read.rows.slice(0, PREVIEW_ROWS);
  return {
    file: c.read.file,
    fileFormat: c.read.fileFormat,
    compression: c.read.compression,
    format: FORMAT_NAMES[c.formatId],
    formatId: c.formatId,
    method: c.method,
    rows: c.total,
    validRows: c.records.length,
    errors: c.issues,
    preview: first.map((r) => r.data),
    previewLines: first.map((r) => r.line),
    columns: [...new Set(c.read.rows.slice(0, 100).flatMap((r) => Object.keys(r.data)))],
    samplePrompt: c.records.length ? samplePrompt(c.records[0].rec) : null,
    previewRecords: c.records.slice(0, PREVIEW_ROWS),
  };
}

/** A record's last user turn before the first answer: the prompt a sample generation would answer. */
export function samplePrompt(rec: SftRecord | Pick<PreferenceRecord, 'prompt'>): string | null {
  const prompt = 'kind' in rec ? (rec.kind === 'text' ? null : rec.kind === 'conversation' ? rec.messages.slice(0, rec.messages.findIndex((m) => m.role === 'assistant')) : rec.prompt) : rec.prompt;
  if (prompt === null) return null;
  const turns = typeof prompt === 'string' ? (hhToMessages(prompt) ?? [{ role: 'user', content: prompt }]) : prompt;
  const user = turns.filter((m) => m.role === 'user').at(-1);
  return user && user.content.trim() ? user.content.trim() : null;
}

/** Reads, validates, converts and tokenizes a dataset into training rows. */
export async function loadTrainingExamples(src: ByteSource, tokenizer: ChatTokenizer, opts: LoadOptions): Promise<LoadedDataset> {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 2) throw new WhetstoneError(`max_length must be an integer >= 2, got ${opts.maxLength}`, 'Set max_length to the longest sequence to train on, e.g. 1024.');
  const c = await readAndConvert(src, opts.method);
  const issues = c.issues;
  const sft: SftExample[] = [];
  const dpo: PreferenceExample[] = [];
  const lengths: number[] = [];
  let truncated = 0;
  let split = 0;
  let dropped = 0;
  let emptied = 0;
  let prompt: string | null | undefined;
  let templateFailures = 0;
  let firstTemplateError: { line: number; error: ChatTemplateError } | null = null;
  for (const { line, rec } of c.records) {
    try {
      if (c.method === 'sft') {
        const ex = tokenizeSft(tokenizer, rec as SftRecord, opts.completionOnlyLoss);
        lengths.push(ex.ids.length);
        const keep = opts.keepLongRows && !opts.dropLongRows && ex.ids.length > opts.maxLength;
        const fit = keep ? { fit: 'fits' as const, ...ex } : fitSft(ex, opts.maxLength, opts.dropLongRows);
        if (fit.fit === 'dropped') dropped++;
        else if (countedTokens(fit) === 0) emptied++;
        else {
          if (fit.fit === 'truncated') truncated++;
          if (keep) split++;
          sft.push({ ids: fit.ids, trainMask: fit.trainMask, line });
        }
      } else {
        const pair = tokenizePair(tokenizer, rec as PreferenceRecord, { addBosEos: opts.addBosEos });
        lengths.push(pair.prompt.length + Math.max(pair.chosen.length, pair.rejected.length));
        const fit = fitPair(pair, opts.maxLength, opts.dropLongRows);
        if (fit.fit === 'dropped') dropped++;
        else {
          if (fit.fit === 'truncated') truncated++;
          dpo.push({ chosen: joinPair(fit.prompt, fit.chosen), rejected: joinPair(fit.prompt, fit.rejected), line });
        }
      }
    } catch (e) {
      // A row the template or tokenizer rejects (e.g. a role the template refuses) is an invalid row.
      // Without a chat template at all, the problem is the tokenizer, not the row: stop.
      if (!(e instanceof RowProblem || (e instanceof ChatTemplateError && tokenizer.hasChatTemplate))) throw e;
      // Over budget is the template's fault whatever the row: stop with the template's error.
      if (e instanceof ChatTemplateBudgetError) throw e;
      if (e instanceof ChatTemplateError) {
        templateFailures++;
        firstTemplateError ??= { line, error: e };
      }
      const field = e instanceof RowProblem ? e.field : null;
      issues.push({ file: c.read.file, line, unit: c.read.unit, field, problem: e.message });
      continue;
    }
    prompt ??= samplePrompt(rec);
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (firstTemplateError && templateFailures === c.records.length) {
    // The template fails on every row: a template error, not a dataset one.
    const { line, error } = firstTemplateError;
    throw new ChatTemplateError(`${error.message} (on every row of ${c.read.file}: ${templateFailures} of ${templateFailures}; first at ${c.read.unit} ${line})`, error.hint);
  }
  if (!opts.skipInvalidRows) refuseInvalid(c.read.file, issues, c.total);
  const used = c.method === 'sft' ? sft.length : dpo.length;
  const unit = c.read.unit;
  const warnings: string[] = [];
  const rowsWord = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  if (issues.length) {
    const firsts = issues.slice(0, 3).map(formatIssue).join('; ');
    warnings.push(`skipped ${rowsWord(issues.length)} of ${c.total} that ${issues.length === 1 ? 'is' : 'are'} invalid (skip_invalid_rows): ${firsts}${issues.length > 3 ? '; ...' : ''}`);
  }
  if (truncated) warnings.push(`truncated ${rowsWord(truncated)} longer than max_length=${opts.maxLength} tokens (${c.method === 'sft' ? 'the end was cut' : 'the prompt keeps its end, the completions their start'}); set drop_long_rows to leave them out instead`);
  if (split) warnings.push(`${rowsWord(split)} longer than max_length=${opts.maxLength} tokens ${split === 1 ? 'is' : 'are'} split across packed sequences`);
  if (dropped) warnings.push(`dropped ${rowsWord(dropped)} longer than max_length=${opts.maxLength} tokens (drop_long_rows)`);
  if (emptied) warnings.push(`dropped ${rowsWord(emptied)} with no trained token left after truncation to max_length=${opts.maxLength}; raise max_length`);
  if (used === 0 && !opts.allowEmpty) {
    throw new DatasetError(
      { file: c.read.file, line: null, unit, field: null, problem: `no usable rows (${c.total} in the file: ${issues.length} invalid, ${dropped + emptied} too long)` },
      'Fix the rows, or raise max_length.',
    );
  }
  const pairsMethod = opts.method === 'orpo' || opts.method === 'simpo' ? opts.method : 'dpo';
  const examples: TrainingExamples = c.method === 'sft' ? { method: 'sft', rows: sft } : { method: pairsMethod, rows: dpo };
  const trainedTokens = c.method === 'sft' ? sft.reduce((s, r) => s + countedTokens(r), 0) : dpo.reduce((s, r) => s + countedTokens(r.chosen) + countedTokens(r.rejected), 0);
  return {
    examples,
    stats: { rows: c.total, skipped: issues.length, truncated, split, dropped: dropped + emptied, used, tokens: tokenStats(lengths), trainedTokens },
    format: FORMAT_NAMES[c.formatId],
    formatId: c.formatId,
    fileFormat: c.read.fileFormat,
    compression: c.read.compression,
    issues,
    warnings,
    samplePrompt: prompt ?? null,
  };
}

export function tokenStats(lengths: number[]): TokenStats {
  if (lengths.length === 0) return { min: 0, max: 0, mean: 0, p50: 0, p95: 0 };
  const s = [...lengths].sort((a, b) => a - b);
  // Nearest-rank percentiles.
  const pct = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { min: s[0], max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length, p50: pct(50), p95: pct(95) };
}

/**
 * The mask inspector's view of one row: its tokens as text, each flagged trained or not
 * (token t is trained when trainMask[t] is 1). A token that decodes to part of a character is
 * merged with the next ones until the text is whole.
 */
export function maskPreview(tokenizer: ChatTokenizer, example: TokenizedRow): { text: string; trained: boolean }[] {
  const out: { text: string; trained: boolean }[] = [];
  const { ids, trainMask } = example;
  let start = 0;
  for (let i = 0; i < ids.length; i++) {
    // Decode with a few tokens of context so that leading spaces survive decoders that strip them.
    const ctx = ids.slice(Math.max(0, start - 4), start);
    const before = ctx.length ? tokenizer.decode(ctx) : '';
    const full = tokenizer.decode([...ctx, ...ids.slice(start, i + 1)]);
    const text = full.startsWith(before) ? full.slice(before.length) : tokenizer.decode(ids.slice(start, i + 1));
    if (text.endsWith('\uFFFD') && i + 1 < ids.length && i - start < 3) continue;
    let trained = false;
    for (let k = start; k <= i; k++) trained ||= Boolean(trainMask[k]);
    out.push({ text, trained });
    start = i + 1;
  }
  return out;
}
