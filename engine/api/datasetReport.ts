// EngineApi.inspectDataset: what the dataset panel shows for a dropped file. Without a model:
// format, valid rows, errors by line and a preview. With a model: also one example rendered
// through the chat template token by token (trained or not), and token statistics.
import { formatIssue, inspectDataset, loadTrainingExamples, maskPreview, type DatasetIssue } from '../data/dataset.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import type { TokenizedRow } from '../data/examples.ts';
import { WhetstoneError } from '../errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { countLabel } from '../recipe/methods.ts';
import type { DatasetIssueReport, DatasetReport, Method } from './contract.ts';

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
  const inspected = await inspectDataset(src, { method: method ?? undefined });
  const report: DatasetReport = {
    fileName: file.name,
    format: inspected.format,
    method: inspected.method,
    rows: inspected.validRows,
    countLabel: countLabel(inspected.method, inspected.validRows),
    errors: inspected.errors.slice(0, MAX_REPORTED_ERRORS).map(issueReport),
    errorCount: inspected.errors.length,
    preview: inspected.preview.slice(0, PREVIEW_ROWS),
    maskPreview: null,
    tokenStats: null,
  };
  if (!tokenizer || inspected.validRows === 0) return report;
  let loaded;
  try {
    loaded = await loadTrainingExamples(src, tokenizer, {
      method: inspected.method,
      maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
      dropLongRows: false,
      completionOnlyLoss: true,
      skipInvalidRows: true, // the invalid rows are already listed above
    });
  } catch (e) {
    // The rows parse but cannot be tokenized for this model (no chat template, all too long):
    // keep the report and say why there is no mask preview.
    if (!(e instanceof WhetstoneError)) throw e;
    report.errors.push({ line: 0, message: `${e.message} (${e.hint})` });
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
  const ex = loaded.examples;
  const first = ex.method === 'sft' ? ex.rows[0] : ex.rows[0]?.chosen;
  if (first) report.maskPreview = tokenMask(tokenizer, first);
  const t = loaded.stats.tokens;
  report.tokenStats = { min: t.min, max: t.max, mean: t.mean, trainedTokens: loaded.stats.trainedTokens, truncated: loaded.stats.truncated };
  return report;
}

/** maskPreview, or one decoded token per entry if that fails (it must never cost the whole report). */
function tokenMask(tokenizer: ChatTokenizer, row: TokenizedRow): { text: string; trained: boolean }[] {
  try {
    return maskPreview(tokenizer, row);
  } catch {
    return row.ids.map((id, i) => ({ text: tokenizer.decode([id]), trained: Boolean(row.trainMask[i]) }));
  }
}
