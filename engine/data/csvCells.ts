// CSV cells are text. A few columns hold structured data whatever the format: lists of messages
// (`messages`, `conversations`, `chosen_messages`, `rejected_messages`), a turn history
// (`history`) and tool schemas (`tools`); `prompt`, `completion`, `chosen` and `rejected` hold
// text or messages (TRL's standard and conversational forms, LLaMA-Factory's single message
// objects). Only those cells are decoded, and only into the structure the column can hold: from
// JSON, or from the Python literal that pandas' to_csv writes for lists of dicts
// (`[{'role': 'user', 'content': 'Hi'}, ...]`, numpy arrays without commas included). Everything
// else stays text: an Alpaca `input` of `[1,7,9,11]` is the text the author wrote.
import type { RawRow } from './readers.ts';
import type { DatasetIssue, RowUnit } from './validate.ts';

/** Columns that always hold structured data (a list, or tools as an object list). */
export const STRUCTURED_COLUMNS = ['messages', 'conversations', 'chosen_messages', 'rejected_messages', 'history', 'tools'];
/** Columns that hold text or messages: decoded only when the cell is a message list or message object. */
export const TEXT_OR_MESSAGE_COLUMNS = ['prompt', 'completion', 'chosen', 'rejected'];

/** Decodes the structured cells of CSV rows in place; a structured cell that does not decode is an issue. */
export function decodeCsvCells(rows: RawRow[], file: string, unit: RowUnit): { rows: RawRow[]; issues: DatasetIssue[] } {
  const issues: DatasetIssue[] = [];
  const out: RawRow[] = [];
  for (const row of rows) {
    const data = { ...row.data };
    let problem: DatasetIssue | null = null;
    for (const col of STRUCTURED_COLUMNS) {
      const v = data[col];
      if (typeof v !== 'string' || v.trim() === '') continue;
      if (col === 'tools' && !/^\s*[[{]/.test(v)) continue; // not a list: let the format say what is wrong
      const decoded = decodeCell(v);
      if (decoded === undefined) {
        problem ??= { file, line: row.line, unit, field: col, problem: 'a CSV cell of this column must hold a list as JSON (or as the Python literal pandas writes), and this one does not parse' };
      } else data[col] = decoded;
    }
    for (const col of TEXT_OR_MESSAGE_COLUMNS) {
      const v = data[col];
      if (typeof v !== 'string' || !/^\s*[[{]/.test(v)) continue;
      const decoded = decodeCell(v);
      if (isMessageList(decoded) || isMessage(decoded)) data[col] = decoded;
    }
    if (problem) issues.push(problem);
    else out.push({ line: row.line, data });
  }
  return { rows: out, issues };
}

function isMessage(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ('role' in v || 'from' in v);
}

function isMessageList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every(isMessage);
}

/** JSON, else a Python literal; undefined when it is neither. */
export function decodeCell(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return parsePythonLiteral(s);
  }
}

/**
 * The Python literals pandas writes for object columns: lists, tuples, dicts, str (single or
 * double quotes, escapes), int, float, True/False/None. numpy's repr of an object array
 * separates items with whitespace instead of commas; that is accepted too. Undefined on anything
 * else (an `array(...)` call, a set, trailing text).
 */
export function parsePythonLiteral(s: string): unknown {
  let i = 0;
  const n = s.length;
  class Bad extends Error {}
  const fail = (): never => {
    throw new Bad();
  };
  const ws = () => {
    while (i < n && /\s/.test(s[i])) i++;
  };
  const items = (close: string, item: () => void): void => {
    ws();
    if (s[i] === close) return void i++;
    for (;;) {
      item();
      ws();
      if (s[i] === ',') {
        i++;
        ws();
        if (s[i] === close) return void i++;
      } else if (s[i] === close) return void i++;
      else if (close !== ']' || i >= n) fail(); // numpy: items separated by whitespace only
    }
  };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === '[' || c === '(') {
      i++;
      const out: unknown[] = [];
      items(c === '[' ? ']' : ')', () => out.push(value()));
      return out;
    }
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      items('}', () => {
        const k = value();
        if (typeof k !== 'string' && typeof k !== 'number') fail();
        ws();
        if (s[i++] !== ':') fail();
        out[String(k)] = value();
      });
      return out;
    }
    if (c === "'" || c === '"') return str(c);
    const m = /^(True|False|None|-?\d+(\.\d*)?([eE][+-]?\d+)?)/.exec(s.slice(i, i + 64));
    if (!m) fail();
    i += m![0].length;
    return m![0] === 'True' ? true : m![0] === 'False' ? false : m![0] === 'None' ? null : Number(m![0]);
  };
  const ESC: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' };
  const str = (q: string): string => {
    i++;
    let out = '';
    for (;;) {
      if (i >= n) fail();
      const c = s[i];
      if (c === q) {
        i++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      if (hex) {
        const h = s.slice(i + 2, i + 2 + hex);
        if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(h)) fail();
        out += String.fromCodePoint(parseInt(h, 16));
        i += 2 + hex;
      } else if (e !== undefined && e in ESC) {
        out += ESC[e];
        i += 2;
      } else {
        out += c; // Python keeps an unknown escape as written
        i++;
      }
    }
  };
  try {
    const v = value();
    ws();
    return i === n ? v : undefined;
  } catch (e) {
    if (e instanceof Bad) return undefined;
    throw e;
  }
}
