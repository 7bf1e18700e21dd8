// Dataset validation: one issue per bad row, naming the file, the line (or row) and the field,
// and the policy that refuses a file with invalid rows unless skip_invalid_rows is set.
// Nothing is dropped silently: every skipped, truncated or dropped row is counted and reported.
import { WhetstoneError } from '../errors.ts';

/** How a row is located: the physical line (JSONL, CSV) or the row index + 1 (JSON array, Parquet). */
export type RowUnit = 'line' | 'row';

export interface DatasetIssue {
  file: string;
  /** 1-based line (or row) number; null when the problem is about the whole file. */
  line: number | null;
  unit: RowUnit;
  /** The field at fault, e.g. `messages[2].role`; null when it is about the whole row or file. */
  field: string | null;
  /** What is wrong, without the location. */
  problem: string;
}

/** `FILE line N: field: problem` (or `FILE row N: ...`, or `FILE: ...` for the whole file). */
export function formatIssue(issue: DatasetIssue): string {
  const where = issue.line === null ? issue.file : `${issue.file} ${issue.unit} ${issue.line}`;
  return `${where}: ${issue.field ? `${issue.field}: ` : ''}${issue.problem}`;
}

const DATASET_HINT = 'Fix the rows named above, or set skip_invalid_rows to train on the valid rows only.';

export class DatasetError extends WhetstoneError {
  readonly file: string;
  readonly line: number | null;
  readonly field: string | null;
  /** Every issue found (the message lists the first MAX_LISTED). */
  readonly issues: DatasetIssue[];
  constructor(issue: DatasetIssue, hint = DATASET_HINT, message = formatIssue(issue), issues: DatasetIssue[] = [issue]) {
    super(message, hint);
    this.file = issue.file;
    this.line = issue.line;
    this.field = issue.field;
    this.issues = issues;
  }
}

/**
 * A method was asked for that does not train on this file's kind of data. The engine's hint names
 * no face's control; the CLI replaces it with the flag to pass (cli/dataMethod.ts).
 */
export class MethodMismatch extends DatasetError {
  constructor(
    file: string,
    readonly asked: string,
    /** The method the rows are for (the format's default). */
    readonly suitable: string,
    /** What the rows are, e.g. "Anthropic HH (implicit prompt) (preference pairs)". */
    readonly rowsAre: string,
    /** What the asked method trains on, e.g. "SFT rows". */
    readonly needed: string,
  ) {
    super(
      { file, line: null, unit: 'line', field: null, problem: `the rows are ${rowsAre}, not ${needed}, which method ${asked} trains on` },
      `Use method ${suitable} for this file, or leave the method unset: it is then taken from the data.`,
    );
  }
}

export const MAX_LISTED = 10;

/** Throws a DatasetError listing the first issues (and how many in all) when there are any. */
export function refuseInvalid(file: string, issues: DatasetIssue[], totalRows: number): void {
  if (issues.length === 0) return;
  const listed = issues.slice(0, MAX_LISTED).map(formatIssue);
  const more = issues.length > MAX_LISTED ? `\n... and ${issues.length - MAX_LISTED} more` : '';
  const head = `${file}: ${issues.length} invalid row${issues.length === 1 ? '' : 's'} of ${totalRows}:\n`;
  throw new DatasetError(issues[0], DATASET_HINT, head + listed.join('\n') + more, issues);
}

/** A problem found while converting one row; the caller adds file and line. */
export class RowProblem extends Error {
  readonly field: string | null;
  constructor(field: string | null, problem: string) {
    super(problem);
    this.field = field;
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'text';
  return `a ${typeof value}`;
}

/** A required non-empty string field. */
export function requireText(row: Record<string, unknown>, field: string): string {
  const v = row[field];
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  if (typeof v !== 'string') throw new RowProblem(field, `must be text, got ${describe(v)}`);
  if (v.trim() === '') throw new RowProblem(field, 'is empty');
  return v;
}
