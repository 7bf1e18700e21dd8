// EngineApi.inspectDataset: what the dataset panel shows for a dropped file. Without a model:
// format, valid rows, errors by line, a preview (preference pairs split as trained: the shared
// prompt once, then the two completions). With a model: also one example rendered through the
// chat template token by token (trained or not), and token statistics.
import { formatIssue, maskPreview, type DatasetIssue, type PreferenceRecord, type SftRecord } from '../data/dataset.ts';
import { firstTrainingRow, inspectMethodData, loadMethodExamples } from '../data/methodData.ts';
import type { ChatMessage } from '../data/chatTemplate.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import type { TokenizedRow } from '../data/examples.ts';
import { WhetstoneError } from '../errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { countLabel } from '../recipe/methods.ts';
import type { DatasetIssueReport, DatasetReport, Method, PairPreview } from './contract.ts';

export const MAX_REPORTED_ERRORS = 50;
export const PREVIEW_ROWS = 20;
export const DEFAULT_MAX_LENGTH = 1024;

export function issueReport(issue: DatasetIssue): DatasetIssueReport {
  const out: DatasetIssueReport = { line: issue.line ?? 0, message: formatIssue(issue) };
  if (issue.field) out.field = issue.field;
  return out;
}

export async function datasetReport(
  file: { name: string; data: ArrayBuffer },
  method: Method | null,
  tokenizer: ChatTokenizer | null,
  options: { maxLength?: number } = {},
): Promise<DatasetReport> {
  const src = new MemorySource(file.name, new Uint8Array(file.data));
  const inspected = await inspectMethodData(src, { method: method ?? undefined });
  const report: DatasetReport = {
    fileName: file.name,
    format: inspected.format,
    compression: inspected.compression,
    method: inspected.method,
    rows: inspected.validRows,
    countLabel: countLabel(inspected.method, inspected.validRows),
    errors: inspected.errors.slice(0, MAX_REPORTED_ERRORS).map(issueReport),
    errorCount: inspected.errors.length,
    preview: inspected.preview.slice(0, PREVIEW_ROWS),
    pairPreview: pairPreview(inspected.previewRecords.slice(0, PREVIEW_ROWS)),
    maskPreview: null,
    tokenStats: null,
  };
  if (!tokenizer || inspected.validRows === 0) return report;
  let loaded;
  try {
    loaded = await loadMethodExamples(src, tokenizer, {
      method: inspected.method,
      maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
      dropLongRows: false,
      completionOnlyLoss: true,
      skipInvalidRows: true, // the invalid rows are already listed above
      allowEmpty: true, // every row refused by the template: the list below names them all
    });
  } catch (e) {
    // The rows parse but cannot be tokenized for this model (no chat template, a template error):
    // keep the report and say why there is no mask preview.
    if (!(e instanceof WhetstoneError)) throw e;
    report.errors.push({ line: 0, message: e.message, hint: e.hint });
    report.errorCount++;
    return report;
  }
  if (loaded.issues.length > inspected.errors.length) {
    // Rows the chat template or tokenizer refused are invalid too.
    report.errors = loaded.issues.slice(0, MAX_REPORTED_ERRORS).map(issueReport);
    report.errorCount = loaded.issues.length;
    report.rows = loaded.stats.rows - loaded.issues.length;
    report.countLabel = countLabel(inspected.method, report.rows);
  }
  const first = firstTrainingRow(loaded.examples);
  if (first) report.maskPreview = tokenMask(tokenizer, first);
  const t = loaded.stats.tokens;
  if (loaded.stats.used > 0) report.tokenStats = { min: t.min, max: t.max, mean: t.mean, p50: t.p50, p95: t.p95, trainedTokens: loaded.stats.trainedTokens, truncated: loaded.stats.truncated };
  return report;
}

/** Preference records as text, or null when the rows are not pairs. */
function pairPreview(records: { line: number; rec: SftRecord | PreferenceRecord }[]): PairPreview[] | null {
  const pairs = records.filter((r): r is { line: number; rec: PreferenceRecord } => 'chosen' in r.rec);
  if (pairs.length === 0) return null;
  return pairs.map(({ line, rec }) => ({ line, prompt: asText(rec.prompt), chosen: asText(rec.chosen), rejected: asText(rec.rejected) }));
}

/** Text as is (HH keeps its "Human:"/"Assistant:" turns); messages as "role: content" lines. */
function asText(v: string | ChatMessage[]): string {
  return typeof v === 'string' ? v.trim() : v.map((m) => `${m.role}: ${m.content}`).join('\n');
}

/** maskPreview, or one decoded token per entry if that fails (it must never cost the whole report). */
function tokenMask(tokenizer: ChatTokenizer, row: TokenizedRow): { text: string; trained: boolean }[] {
  try {
    return maskPreview(tokenizer, row);
  } catch {
    return row.ids.map((id, i) => ({ text: tokenizer.decode([id]), trained: Boolean(row.trainMask[i]) }));
  }
}
