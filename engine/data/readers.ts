// Dataset file readers: JSONL (streamed line by line), JSON (an array, or {"data"|"train": [...]}),
// CSV (RFC 4180) and Parquet (hyparquet). Every row keeps where it came from: JSONL the physical
// line, CSV the line where the record starts, JSON arrays and Parquet the row index + 1 ("row N").
// A row that cannot be read (invalid UTF-8, invalid JSON, not an object) becomes an issue naming
// its line; the others are read on. gzip-compressed files are read through (containers.ts), other
// binary files are refused. Browser-safe (no node: imports).
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ByteSource } from '../io/byteSource.ts';
import { openDatasetBytes, refuseBinary, type Compression } from './containers.ts';
import { parseCsv } from './csv.ts';
import { duplicateKeys, fieldPath, jsonErrorOffset, lineOfOffset } from './jsonLocate.ts';
import { DatasetError, type DatasetIssue, type RowUnit } from './validate.ts';

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'parquet';

export interface RawRow {
  /** 1-based physical line (JSONL, CSV) or row index + 1 (JSON array, Parquet). */
  line: number;
  data: Record<string, unknown>;
}

export interface ReadResult {
  file: string;
  fileFormat: FileFormat;
  /** The file was gzip-compressed (its lines are those of the decompressed text). */
  compression: Compression | null;
  unit: RowUnit;
  rows: RawRow[];
  /** Rows that could not be read, one issue each. */
  issues: DatasetIssue[];
}

const CHUNK = 4 << 20;

/** The format an extension names (a trailing .gz is looked through: data.jsonl.gz is JSONL). */
export function formatFromName(name: string): FileFormat | null {
  const m = /\.(jsonl|ndjson|json|csv|parquet)(\.gz)?$/i.exec(name);
  if (!m) return null;
  const ext = m[1].toLowerCase();
  return ext === 'ndjson' ? 'jsonl' : (ext as FileFormat);
}

/** Guesses the format from the first bytes: Parquet magic, a JSON array, JSON lines, else CSV. */
export async function sniffFormat(src: ByteSource): Promise<FileFormat> {
  const head = await src.read(0, Math.min(src.size, 64 << 10));
  if (head.length >= 4 && String.fromCharCode(...head.subarray(0, 4)) === 'PAR1') return 'parquet';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '');
  const first = text.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') {
    const line = text.trimStart().split('\n', 1)[0];
    try {
      JSON.parse(line);
      return 'jsonl';
    } catch {
      return 'json';
    }
  }
  return 'csv';
}

/**
 * Reads every row of a dataset file. gzip is detected by its magic bytes and decompressed; the
 * format comes from the extension, else from the content (Parquet's magic bytes win over an
 * extension that says otherwise).
 */
export async function readDatasetFile(srcFile: ByteSource, format?: FileFormat): Promise<ReadResult> {
  if (srcFile.size === 0) throw emptyFile(srcFile.name);
  const { src, compression } = await openDatasetBytes(srcFile);
  if (src.size === 0) throw emptyFile(src.name);
  const head = await src.read(0, Math.min(src.size, 8192));
  const isParquet = head.length >= 4 && String.fromCharCode(...head.subarray(0, 4)) === 'PAR1';
  const fileFormat = format ?? (isParquet ? 'parquet' : (formatFromName(src.name) ?? (await sniffFormat(src))));
  if (fileFormat !== 'parquet') refuseBinary(src.name, head);
  const read = fileFormat === 'jsonl' ? readJsonl(src) : fileFormat === 'json' ? readJson(src) : fileFormat === 'csv' ? readCsv(src) : readParquet(src);
  return { ...(await read), compression };
}

export function emptyFile(file: string): DatasetError {
  return new DatasetError({ file, line: null, unit: 'line', field: null, problem: 'the file is empty' }, 'Choose a file that holds the dataset rows.');
}

/** Splits a source into lines of bytes (without \n or \r\n), reading CHUNK bytes at a time. */
export async function* byteLines(src: ByteSource): AsyncGenerator<{ line: number; bytes: Uint8Array }> {
  let carry = new Uint8Array(0);
  let line = 0;
  for (let off = 0; off < src.size; off += CHUNK) {
    const chunk = await src.read(off, Math.min(CHUNK, src.size - off));
    let buf = chunk;
    if (carry.length) {
      buf = new Uint8Array(carry.length + chunk.length);
      buf.set(carry);
      buf.set(chunk, carry.length);
    }
    let start = 0;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, start)) {
      yield { line: ++line, bytes: trimCr(buf.subarray(start, i)) };
      start = i + 1;
    }
    carry = buf.slice(start);
  }
  if (carry.length) yield { line: line + 1, bytes: trimCr(carry) };
}

function trimCr(b: Uint8Array): Uint8Array {
  return b.length && b[b.length - 1] === 13 ? b.subarray(0, b.length - 1) : b;
}

function issue(file: string, line: number, problem: string, unit: RowUnit = 'line', field: string | null = null): DatasetIssue {
  return { file, line, unit, field, problem };
}

/** JSON.parse's complaint without the engine's wording around it. */
function jsonProblem(e: unknown): string {
  return `invalid JSON: ${(e as Error).message.replace(/^JSON\.parse: /, '')}`;
}

type Read = Omit<ReadResult, 'compression'>;

async function readJsonl(src: ByteSource): Promise<Read> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const rows: RawRow[] = [];
  const issues: DatasetIssue[] = [];
  for await (const { line, bytes } of byteLines(src)) {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      issues.push(issue(src.name, line, `invalid UTF-8 (byte ${firstBadByte(bytes) + 1} of the line)`));
      continue;
    }
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (text.trim() === '') continue; // blank lines are not rows
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      issues.push(issue(src.name, line, jsonProblem(e)));
      continue;
    }
    if (!isObject(value)) {
      issues.push(issue(src.name, line, `expected a JSON object, got ${kind(value)}`));
      continue;
    }
    const dup = duplicateKeys(text, 1)[0];
    if (dup) issues.push(duplicateIssue(src.name, line, 'line', dup));
    else rows.push({ line, data: value });
  }
  if (rows.length === 0 && issues.length === 0) throw emptyFile(src.name);
  return { file: src.name, fileFormat: 'jsonl', unit: 'line', rows, issues };
}

/** Index of the first byte where UTF-8 decoding fails. */
export function firstBadByte(bytes: Uint8Array): number {
  const d = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, by bisection (a prefix cut inside a character also fails, so allow 3 bytes).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    let ok = false;
    for (let k = 0; k <= 3 && !ok && mid + k <= bytes.length; k++) {
      try {
        d.decode(bytes.subarray(0, mid + k));
        ok = true;
      } catch {
        /* try a longer prefix */
      }
    }
    if (ok) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Decodes a whole file as UTF-8, or throws a DatasetError naming the first bad line. */
async function decodeWhole(src: ByteSource): Promise<string> {
  const bytes = await src.read(0, src.size);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    const at = firstBadByte(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 10) line++;
    throw new DatasetError(issue(src.name, line, 'invalid UTF-8'), 'Save the file as UTF-8.');
  }
}

async function readJson(src: ByteSource): Promise<Read> {
  const text = await decodeWhole(src);
  if (text.trim() === '') throw emptyFile(src.name);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // A file of JSON lines saved as .json: read it as JSONL.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    if (lines.length > 1 && isObject(tryParse(lines[0]))) return readJsonl(src);
    const at = jsonErrorOffset(text);
    const line = lineOfOffset(text, at < 0 ? 0 : at);
    throw new DatasetError(issue(src.name, line, jsonProblem(e)), 'Fix the JSON syntax at the place named above.');
  }
  let list: unknown = value;
  if (isObject(value)) list = Array.isArray(value['data']) ? value['data'] : Array.isArray(value['train']) ? value['train'] : isObject(value) ? [value] : value;
  if (!Array.isArray(list)) {
    throw new DatasetError(
      { file: src.name, line: null, unit: 'row', field: null, problem: `expected a JSON array of rows (or {"data": [...]}), got ${kind(value)}` },
      'A JSON dataset is a list of objects, one per row; JSON lines (.jsonl) also work.',
    );
  }
  // Keys given twice: in a row, that row is invalid; the key that holds the rows, the whole file.
  const rowsKey = isObject(value) ? (Array.isArray(value['data']) ? 'data' : Array.isArray(value['train']) ? 'train' : null) : null;
  const single = isObject(value) && rowsKey === null;
  const dupRows = new Map<number, DatasetIssue>();
  for (const path of duplicateKeys(text, 1000)) {
    if (rowsKey !== null && path.length === 1 && path[0] === rowsKey) {
      throw new DatasetError(duplicateIssue(src.name, null, 'row', path), 'Give each key once: JSON keeps only the last of two, so the rows of the first were lost.');
    }
    const inRows = single ? [0, ...path] : rowsKey === null ? path : path[0] === rowsKey ? path.slice(1) : null;
    if (!inRows || typeof inRows[0] !== 'number' || inRows.length < 2) continue; // outside the rows (metadata)
    const at = inRows[0];
    if (!dupRows.has(at)) dupRows.set(at, duplicateIssue(src.name, at + 1, 'row', inRows.slice(1)));
  }
  const rows: RawRow[] = [];
  const issues: DatasetIssue[] = [];
  list.forEach((v, i) => {
    const dup = dupRows.get(i);
    if (!isObject(v)) issues.push(issue(src.name, i + 1, `expected a JSON object, got ${kind(v)}`, 'row'));
    else if (dup) issues.push(dup);
    else rows.push({ line: i + 1, data: v });
  });
  if (list.length === 0) throw emptyFile(src.name);
  return { file: src.name, fileFormat: 'json', unit: 'row', rows, issues };
}

async function readCsv(src: ByteSource): Promise<Read> {
  const bytes = await src.read(0, src.size);
  const issues: DatasetIssue[] = [];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Report each line that is not UTF-8; parse the rest with replacement characters and drop
    // the records that touch a bad line.
    const bad = new Set<number>();
    for await (const { line, bytes: b } of byteLines(src)) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(b);
      } catch {
        bad.add(line);
        issues.push(issue(src.name, line, `invalid UTF-8 (byte ${firstBadByte(b) + 1} of the line)`));
      }
    }
    const parsed = parseCsv(new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, ''), src.name);
    const rows = parsed.rows.filter((r) => ![...bad].some((l) => l >= r.line && l <= r.endLine));
    return { file: src.name, fileFormat: 'csv', unit: 'line', rows: rows.map(({ line, data }) => ({ line, data })), issues: [...issues, ...parsed.issues].sort(byLine) };
  }
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') throw emptyFile(src.name);
  const parsed = parseCsv(text, src.name);
  return { file: src.name, fileFormat: 'csv', unit: 'line', rows: parsed.rows.map(({ line, data }) => ({ line, data })), issues: parsed.issues };
}

/** A key given twice in one object: JSON.parse would keep the last one without a word. */
function duplicateIssue(file: string, line: number | null, unit: RowUnit, path: (string | number)[]): DatasetIssue {
  const key = String(path.at(-1));
  const parent = path.slice(0, -1);
  return { file, line, unit, field: parent.length ? fieldPath(parent) : null, problem: `the key ${JSON.stringify(key)} appears twice in one object (JSON would keep only the last one)` };
}

function byLine(a: DatasetIssue, b: DatasetIssue): number {
  return (a.line ?? 0) - (b.line ?? 0);
}

async function readParquet(src: ByteSource): Promise<Read> {
  const file = {
    byteLength: src.size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? src.size, src.size);
      const bytes = await src.read(start, stop - start);
      return bytes.slice().buffer;
    },
  };
  let objects: Record<string, unknown>[];
  try {
    objects = (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[];
  } catch (e) {
    throw new DatasetError(
      { file: src.name, line: null, unit: 'row', field: null, problem: `not a readable Parquet file: ${(e as Error).message}` },
      'Export the dataset again as Parquet, JSONL or CSV.',
    );
  }
  if (objects.length === 0) throw emptyFile(src.name);
  const rows = objects.map((o, i) => ({ line: i + 1, data: plain(o) as Record<string, unknown> }));
  return { file: src.name, fileFormat: 'parquet', unit: 'row', rows, issues: [] };
}

/** Parquet values as JSON-like values: int64 BigInts become numbers, nested lists/structs kept. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Uint8Array || v instanceof Date) return v;
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

function kind(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'string' ? 'a string' : `a ${typeof v}`;
}

function tryParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
