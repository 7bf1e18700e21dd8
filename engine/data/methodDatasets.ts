// Dataset loading for KTO (unpaired rows) and reward models (whole prompt + answer sequences),
// beside loadTrainingExamples (SFT, DPO and ORPO/SimPO pairs). Same rules: every invalid row is
// an issue naming its file, line and field; the file is refused unless skip_invalid_rows; every
// truncated or dropped row is counted and said.
//   KTO: TRL's prompt/completion/label rows, or any preference-pair file unpaired as TRL does it
//        (chosen -> true, rejected -> false). Prompt and completion are kept apart: the KL rows of a
//        batch pair prompt i with completion i-1 (klMismatchedRows).
//   Reward: any preference-pair file; each answer tokenized whole with its prompt (rewardRows.ts).
import type { ByteSource } from '../io/byteSource.ts';
import type { RewardExample, TokenizedRow, UnpairedExample } from './examples.ts';
import { ChatTemplateBudgetError, ChatTemplateError } from './chatTemplate.ts';
import { readAndConvert, readDatasetRows, samplePrompt, tokenStats, type LoadStats } from './dataset.ts';
import type { ReadResult } from './readers.ts';
import { detectFormat, FORMAT_HELP, FORMAT_NAMES, type PreferenceRecord } from './formats.ts';
import { toPreferenceRecord } from './records.ts';
import { rewardPairFits, tokenizeRewardPair, tokenizeRewardRecord } from './rewardRows.ts';
import type { ChatTokenizer } from './tokenizer.ts';
import { joinPair, tokenizeUnpaired, type Fit } from './tokenizeRows.ts';
import { isUnpairedData, ktoWeightAdvice, toUnpairedRecord, UNPAIRED_FORMAT, unpairPreferences, type UnpairedRecord } from './unpaired.ts';
import type { Compression } from './containers.ts';
import type { FileFormat } from './readers.ts';
import { DatasetError, formatIssue, refuseInvalid, RowProblem, type DatasetIssue } from './validate.ts';

export interface MethodLoadOptions {
  maxLength: number;
  dropLongRows: boolean;
  skipInvalidRows: boolean;
  /** KTO's desirable_weight / undesirable_weight: TRL's advice when they do not suit the label balance becomes a warning. */
  ktoWeights?: { desirable: number; undesirable: number };
}

export type { RewardExample, UnpairedExample };

interface Loaded<T> {
  examples: T[];
  stats: LoadStats;
  format: string;
  fileFormat: FileFormat;
  compression: Compression | null;
  issues: DatasetIssue[];
  warnings: string[];
  /** The first usable row's prompt as text, e.g. for sample generations. */
  samplePrompt: string | null;
}

/**
 * The unpaired records of a file (TRL's prompt/completion/label rows, or preference pairs unpaired
 * the way TRL does it), with one issue per invalid row; no tokenizer needed.
 */
export async function readUnpairedRecords(src: ByteSource): Promise<{ read: ReadResult; total: number; records: { rec: UnpairedRecord; line: number }[]; issues: DatasetIssue[]; format: string }> {
  const { read, total } = await readDatasetRows(src);
  const datas = read.rows.map((r) => r.data);
  const issues: DatasetIssue[] = [...read.issues];
  const issue = (line: number, e: RowProblem) => issues.push({ file: read.file, line, unit: read.unit, field: e.field, problem: e.message });
  const convert = <T>(fn: (row: Record<string, unknown>) => T): { rec: T; line: number }[] =>
    read.rows.flatMap((row) => {
      try {
        return [{ rec: fn(row.data), line: row.line }];
      } catch (e) {
        if (!(e instanceof RowProblem)) throw e;
        issue(row.line, e);
        return [];
      }
    });
  if (isUnpairedData(datas)) return { read, total, records: convert(toUnpairedRecord), issues, format: UNPAIRED_FORMAT.name };
  const pairFormat = detectFormat(datas, 'dpo');
  if (!pairFormat || pairFormat.method !== 'dpo') {
    throw new DatasetError(
      { file: read.file, line: null, unit: read.unit, field: null, problem: `KTO needs unpaired rows (prompt, completion, label true/false) or preference pairs${pairFormat ? `, not ${pairFormat.name} rows` : ''}` },
      `Give each row a prompt, a completion and a label (true for a good completion, false for a bad one), or use prompt/chosen/rejected pairs. ${FORMAT_HELP}`,
    );
  }
  const records = unpairPreferences(convert((row) => toPreferenceRecord(pairFormat.id, row)));
  return { read, total, records, issues, format: `${FORMAT_NAMES[pairFormat.id]}, unpaired (chosen -> true, rejected -> false)` };
}

/** KTO rows from an unpaired file, or from a preference-pair file unpaired the way TRL does it. */
export async function loadUnpairedExamples(src: ByteSource, tokenizer: ChatTokenizer, opts: MethodLoadOptions): Promise<Loaded<UnpairedExample> & { desirable: number; undesirable: number }> {
  const { read, total, records, issues, format } = await readUnpairedRecords(src);
  const issue = (line: number, e: RowProblem | ChatTemplateError) => issues.push({ file: read.file, line, unit: read.unit, field: e instanceof RowProblem ? e.field : null, problem: e.message });
  const examples: UnpairedExample[] = [];
  const lengths: number[] = [];
  let truncated = 0;
  let dropped = 0;
  for (const { rec, line } of records) {
    try {
      const t = tokenizeUnpaired(tokenizer, rec);
      lengths.push(t.prompt.length + t.completion.length);
      const fit = fitUnpaired(t.prompt, t.completion, opts.maxLength, opts.dropLongRows);
      if (fit.fit === 'dropped') dropped++;
      else {
        if (fit.fit === 'truncated') truncated++;
        examples.push({ prompt: fit.prompt, completion: fit.completion, label: rec.label, line });
      }
    } catch (e) {
      issue(line, rowProblem(e, tokenizer));
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (!opts.skipInvalidRows) refuseInvalid(read.file, issues, total);
  const desirable = examples.filter((x) => x.label).length;
  const warnings = commonWarnings(issues, total, truncated, dropped, opts.maxLength, 'the prompt keeps its end, the completion its start');
  if (examples.length === 0) throw noUsableRows(read.file, read.unit, total, issues.length, dropped);
  const advice = opts.ktoWeights ? ktoWeightAdvice(desirable, examples.length - desirable, opts.ktoWeights.desirable, opts.ktoWeights.undesirable) : null;
  if (advice) warnings.push(advice);
  const trainedTokens = examples.reduce((s, x) => s + x.completion.length, 0);
  return {
    examples,
    desirable,
    undesirable: examples.length - desirable,
    stats: { rows: total, skipped: issues.length, truncated, dropped, used: examples.length, tokens: tokenStats(lengths), trainedTokens },
    format,
    fileFormat: read.fileFormat,
    compression: read.compression,
    issues,
    warnings,
    samplePrompt: records.length ? samplePrompt(records[0].rec) : null,
  };
}

/** Reward-model pairs: prompt + chosen and prompt + rejected tokenized whole; longer ones dropped (TRL). */
export async function loadRewardExamples(src: ByteSource, tokenizer: ChatTokenizer, opts: Omit<MethodLoadOptions, 'dropLongRows'>): Promise<Loaded<RewardExample>> {
  const c = await readAndConvert(src, 'reward');
  if (c.method === 'sft') {
    throw new DatasetError(
      { file: c.read.file, line: null, unit: c.read.unit, field: null, problem: `the rows are ${FORMAT_NAMES[c.formatId]} (SFT data), not preference pairs` },
      'A reward model learns from pairs: prompt/chosen/rejected (or chosen/rejected with the prompt inside).',
    );
  }
  const issues = c.issues;
  const examples: RewardExample[] = [];
  const lengths: number[] = [];
  let dropped = 0;
  for (const { line, rec } of c.records) {
    try {
      const pair = tokenizeRewardPair(tokenizer, rec as PreferenceRecord);
      lengths.push(Math.max(pair.chosen.length, pair.rejected.length));
      if (rewardPairFits(pair, opts.maxLength)) examples.push({ ...pair, line });
      else dropped++;
    } catch (e) {
      const problem = rowProblem(e, tokenizer);
      issues.push({ file: c.read.file, line, unit: c.read.unit, field: problem instanceof RowProblem ? problem.field : null, problem: problem.message });
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (!opts.skipInvalidRows) refuseInvalid(c.read.file, issues, c.total);
  const warnings = commonWarnings(issues, c.total, 0, 0, opts.maxLength, '');
  if (dropped) warnings.push(`dropped ${dropped} pair${dropped === 1 ? '' : 's'} with a sequence longer than max_length=${opts.maxLength} tokens (reward pairs are never truncated, as in TRL); raise max_length to keep them`);
  if (examples.length === 0) throw noUsableRows(c.read.file, c.read.unit, c.total, issues.length, dropped);
  const trainedTokens = examples.reduce((s, x) => s + x.chosen.length + x.rejected.length, 0);
  return {
    examples,
    stats: { rows: c.total, skipped: issues.length, truncated: 0, dropped, used: examples.length, tokens: tokenStats(lengths), trainedTokens },
    format: FORMAT_NAMES[c.formatId],
    fileFormat: c.read.fileFormat,
    compression: c.read.compression,
    issues,
    warnings,
    samplePrompt: c.records.length ? samplePrompt(c.records[0].rec) : null,
  };
}

/**
 * KTO truncation, with the DPO rule for one completion: the prompt keeps its last
 * min(P, max(L - C, floor(L/2))) tokens, the completion its first L - kept.
 */
export function fitUnpaired(prompt: number[], completion: number[], maxLength: number, dropLongRows: boolean): { fit: Fit; prompt: number[]; completion: number[] } {
  if (prompt.length + completion.length <= maxLength) return { fit: 'fits', prompt, completion };
  if (dropLongRows) return { fit: 'dropped', prompt: [], completion: [] };
  const keep = Math.min(prompt.length, Math.max(maxLength - completion.length, Math.floor(maxLength / 2)));
  return { fit: 'truncated', prompt: prompt.slice(prompt.length - keep), completion: completion.slice(0, maxLength - keep) };
}

/** A KTO row as a training sequence: prompt + completion, the completion trained. */
export function unpairedRow(ex: UnpairedExample): TokenizedRow {
  return joinPair(ex.prompt, ex.completion);
}

/**
 * The KL rows of a KTO batch (TRL _get_kl_dataset): completions rotated by one, so row i pairs
 * prompt i with completion i-1 (row 0 with the last completion), fitted to maxLength like any row.
 */
export function klMismatchedRows(batch: UnpairedExample[], maxLength: number): TokenizedRow[] {
  return batch.map((ex, i) => {
    const other = batch[(i - 1 + batch.length) % batch.length];
    const fit = fitUnpaired(ex.prompt, other.completion, maxLength, false);
    return joinPair(fit.prompt, fit.completion);
  });
}

/**
 * A row's own problem (an invalid row); anything else stops the load: a template over its budget,
 * or no chat template at all (the tokenizer's problem, not the row's).
 */
function rowProblem(e: unknown, tokenizer: ChatTokenizer): RowProblem | ChatTemplateError {
  if (e instanceof ChatTemplateBudgetError) throw e;
  if (e instanceof RowProblem || (e instanceof ChatTemplateError && tokenizer.hasChatTemplate)) return e;
  throw e;
}

function commonWarnings(issues: DatasetIssue[], total: number, truncated: number, dropped: number, maxLength: number, howTruncated: string): string[] {
  const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  const out: string[] = [];
  if (issues.length) {
    const firsts = issues.slice(0, 3).map(formatIssue).join('; ');
    out.push(`skipped ${rows(issues.length)} of ${total} that ${issues.length === 1 ? 'is' : 'are'} invalid (skip_invalid_rows): ${firsts}${issues.length > 3 ? '; ...' : ''}`);
  }
  if (truncated) out.push(`truncated ${rows(truncated)} longer than max_length=${maxLength} tokens (${howTruncated}); set drop_long_rows to leave them out instead`);
  if (dropped && howTruncated) out.push(`dropped ${rows(dropped)} longer than max_length=${maxLength} tokens (drop_long_rows)`);
  return out;
}

function noUsableRows(file: string, unit: DatasetIssue['unit'], total: number, invalid: number, tooLong: number): DatasetError {
  return new DatasetError({ file, line: null, unit, field: null, problem: `no usable rows (${total} in the file: ${invalid} invalid, ${tooLong} too long)` }, 'Fix the rows, or raise max_length.');
}

/** A row to score (`whetstone score`): a pair's two sequences, or an SFT row's one. */
export type ScoreRow = { line: number; chosen: number[]; rejected: number[] } | { line: number; sequence: number[] };

/**
 * The rows of any file as whole sequences for a reward model: preference pairs as their chosen and
 * rejected sequences (tokenized as for training), SFT rows as the conversation or prompt + answer.
 * Invalid rows refuse the file unless skipInvalidRows; rows longer than maxLength are left out
 * and counted in a warning (a cut answer would be scored for what is missing).
 */
export async function loadScoreRows(src: ByteSource, tokenizer: ChatTokenizer, opts: Omit<MethodLoadOptions, 'dropLongRows'>): Promise<{ rows: ScoreRow[]; format: string; warnings: string[] }> {
  const c = await readAndConvert(src, undefined);
  const issues = c.issues;
  const rows: ScoreRow[] = [];
  let tooLong = 0;
  for (const { line, rec } of c.records) {
    try {
      const row: ScoreRow = 'chosen' in rec ? { line, ...tokenizeRewardPair(tokenizer, rec) } : { line, sequence: tokenizeRewardRecord(tokenizer, rec) };
      const longest = 'sequence' in row ? row.sequence.length : Math.max(row.chosen.length, row.rejected.length);
      if (longest > opts.maxLength) tooLong++;
      else rows.push(row);
    } catch (e) {
      const problem = rowProblem(e, tokenizer);
      issues.push({ file: c.read.file, line, unit: c.read.unit, field: problem instanceof RowProblem ? problem.field : null, problem: problem.message });
    }
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (!opts.skipInvalidRows) refuseInvalid(c.read.file, issues, c.total);
  const warnings = commonWarnings(issues, c.total, 0, 0, opts.maxLength, '');
  if (tooLong) warnings.push(`left out ${tooLong} row${tooLong === 1 ? '' : 's'} longer than max_length=${opts.maxLength} tokens; raise --max_length to score them`);
  if (rows.length === 0) throw noUsableRows(c.read.file, c.read.unit, c.total, issues.length, tooLong);
  return { rows, format: FORMAT_NAMES[c.formatId], warnings };
}
