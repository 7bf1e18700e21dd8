// RFC 4180 CSV: comma-separated fields, a header record naming the columns, fields in double
// quotes may hold commas, newlines and doubled quotes (""). Each record remembers the line it
// starts on (and ends on). Every cell is text here; csvCells.ts decodes the few columns that
// hold lists of messages.
import { DatasetError, type DatasetIssue } from './validate.ts';

export interface CsvRecord {
  line: number;
  endLine: number;
  data: Record<string, unknown>;
}

interface Fields {
  line: number;
  endLine: number;
  fields: string[];
  problem?: string;
}

/** Splits CSV text into records of raw fields. */
export function splitCsv(text: string): Fields[] {
  const out: Fields[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let problem: string | undefined;
    let field = '';
    let atFieldStart = true;
    let quoted = false;
    for (;;) {
      if (i >= n) {
        if (quoted) problem = 'a quoted field is never closed (an odd number of " characters)';
        fields.push(field);
        break;
      }
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i++;
            const next = text[i];
            if (i < n && next !== ',' && next !== '\n' && next !== '\r') problem ??= 'characters after a closing quote (write a quote inside a quoted field as "")';
          }
        } else {
          if (c === '\n') line++;
          field += c;
          i++;
        }
        continue;
      }
      if (c === '"' && atFieldStart) {
        quoted = true;
        atFieldStart = false;
        i++;
      } else if (c === ',') {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i++;
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        break;
      } else {
        field += c;
        atFieldStart = false;
        i++;
      }
    }
    const endLine = text[i - 1] === '\n' ? line - 1 : line;
    if (fields.length === 1 && fields[0] === '' && !problem) continue; // blank line
    out.push({ line: start, endLine, fields, problem });
  }
  return out;
}

/** Parses CSV text with a header into row objects; malformed records become issues. */
export function parseCsv(text: string, file: string): { rows: CsvRecord[]; issues: DatasetIssue[] } {
  const records = splitCsv(text);
  if (records.length === 0) {
    throw new DatasetError({ file, line: null, unit: 'line', field: null, problem: 'the file is empty' }, 'Choose a file that holds the dataset rows.');
  }
  const [head, ...body] = records;
  const header = head.fields.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (h === '' || seen.has(h)) {
      throw new DatasetError(
        { file, line: head.line, unit: 'line', field: null, problem: h === '' ? 'the header has an empty column name' : `the header names column "${h}" twice` },
        'The first line of a CSV file names its columns, each once.',
      );
    }
    seen.add(h);
  }
  const rows: CsvRecord[] = [];
  const issues: DatasetIssue[] = [];
  for (const r of body) {
    if (r.problem) {
      issues.push({ file, line: r.line, unit: 'line', field: null, problem: r.problem });
      continue;
    }
    if (r.fields.length !== header.length) {
      issues.push({ file, line: r.line, unit: 'line', field: null, problem: `has ${r.fields.length} field${r.fields.length === 1 ? '' : 's'}, the header has ${header.length}` });
      continue;
    }
    const data: Record<string, unknown> = {};
    header.forEach((h, k) => (data[h] = r.fields[k]));
    rows.push({ line: r.line, endLine: r.endLine, data });
  }
  return { rows, issues };
}
