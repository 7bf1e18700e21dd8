// What a dataset file is, from its first bytes: gzip (how Anthropic HH and many hub sets ship,
// .jsonl.gz / .json.gz / .csv.gz) is decompressed here, with DecompressionStream (browsers, Web
// Workers and Node >= 18 all have it). Other compressed or binary containers (zip, zstd, xz,
// bzip2, 7z, tar, Arrow/Feather, pickle, ...) are recognised by their magic bytes and refused
// with what to do instead, so that binary bytes never reach the CSV reader as "column names".
// Browser-safe (no node: imports).
import { MemorySource, type ByteSource } from '../io/byteSource.ts';
import { DatasetError } from './validate.ts';

export type Compression = 'gzip';

const TO_JSONL = 'convert it to JSONL, JSON, CSV or Parquet (with the datasets library: Dataset.to_json("data.jsonl") or .to_parquet("data.parquet"))';

interface Container {
  what: string;
  /** Whether the head (the first bytes of the file) starts this container. */
  test: (b: Uint8Array) => boolean;
  hint: string;
}

const starts = (b: Uint8Array, bytes: number[], at = 0) => b.length >= at + bytes.length && bytes.every((x, i) => b[at + i] === x);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

const CONTAINERS: Container[] = [
  { what: 'a ZIP archive (or an Excel .xlsx workbook)', test: (b) => starts(b, [0x50, 0x4b, 0x03, 0x04]) || starts(b, [0x50, 0x4b, 0x05, 0x06]), hint: 'Unzip it and choose the dataset file inside; save a spreadsheet as CSV (UTF-8).' },
  { what: 'Zstandard-compressed (.zst)', test: (b) => starts(b, [0x28, 0xb5, 0x2f, 0xfd]), hint: 'Decompress it first (zstd -d FILE), or recompress it with gzip.' },
  { what: 'xz-compressed (.xz)', test: (b) => starts(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), hint: 'Decompress it first (xz -d FILE), or recompress it with gzip.' },
  // "BZh" + block size digit + the block magic (pi), so a CSV whose header starts "BZh" is not taken for one.
  { what: 'bzip2-compressed (.bz2)', test: (b) => starts(b, ascii('BZh')) && b[3] >= 0x31 && b[3] <= 0x39 && (starts(b, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59], 4) || starts(b, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90], 4)), hint: 'Decompress it first (bunzip2 FILE), or recompress it with gzip.' },
  { what: 'a 7-Zip archive', test: (b) => starts(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), hint: 'Extract it and choose the dataset file inside.' },
  { what: 'LZ4-compressed', test: (b) => starts(b, [0x04, 0x22, 0x4d, 0x18]), hint: 'Decompress it first (lz4 -d FILE), or recompress it with gzip.' },
  { what: 'a tar archive', test: (b) => starts(b, ascii('ustar'), 257), hint: 'Extract it (tar -xf FILE) and choose the dataset file inside.' },
  { what: 'an Arrow IPC / Feather v2 file', test: (b) => starts(b, ascii('ARROW1')), hint: `Whetstone does not read Arrow files: ${TO_JSONL}.` },
  // The Arrow streaming format (the .arrow files of a datasets cache) starts with a 0xFFFFFFFF continuation marker.
  { what: 'an Arrow stream (a datasets cache .arrow file)', test: (b) => starts(b, [0xff, 0xff, 0xff, 0xff]), hint: `Whetstone does not read Arrow files: load it with datasets.Dataset.from_file(...) and ${TO_JSONL.replace('convert it to', 'save it as')}.` },
  { what: 'a Feather v1 file', test: (b) => starts(b, ascii('FEA1')), hint: `Whetstone does not read Feather files: ${TO_JSONL}.` },
  { what: 'a Python pickle', test: (b) => b[0] === 0x80 && b[1] >= 2 && b[1] <= 5, hint: `Whetstone does not read pickles: ${TO_JSONL}.` },
  { what: 'an SQLite database', test: (b) => starts(b, ascii('SQLite format 3\0')), hint: 'Export the table as CSV or JSONL.' },
  { what: 'an HDF5 file', test: (b) => starts(b, [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), hint: `Whetstone does not read HDF5: ${TO_JSONL}.` },
  { what: 'UTF-16 text', test: (b) => starts(b, [0xff, 0xfe]) || starts(b, [0xfe, 0xff]), hint: 'Save the file as UTF-8.' },
];

const GZIP = [0x1f, 0x8b];

export interface OpenedDataset {
  /** The bytes to parse: the file itself, or its decompressed content (named like the file). */
  src: ByteSource;
  compression: Compression | null;
}

/** Decompresses a gzip file (magic bytes, whatever the extension) and refuses other containers. */
export async function openDatasetBytes(src: ByteSource): Promise<OpenedDataset> {
  const head = await src.read(0, Math.min(src.size, 512));
  refuseContainer(src.name, head, '');
  if (!starts(head, GZIP)) return { src, compression: null };
  const bytes = await gunzip(src);
  const inner = bytes.subarray(0, 512);
  if (starts(inner, GZIP)) refuse(src.name, 'is gzip-compressed twice', 'Decompress it once (gunzip FILE) and choose the result.');
  refuseContainer(src.name, inner, 'gzip-compressed ');
  return { src: new MemorySource(src.name, bytes), compression: 'gzip' };
}

function refuseContainer(file: string, head: Uint8Array, prefix: string): void {
  const hit = CONTAINERS.find((c) => c.test(head));
  if (hit) refuse(file, `is ${prefix}${hit.what}, not a dataset file Whetstone reads (JSONL, JSON, CSV or Parquet, optionally gzip-compressed)`, hit.hint);
}

function refuse(file: string, problem: string, hint: string): never {
  throw new DatasetError({ file, line: null, unit: 'line', field: null, problem }, hint);
}

async function gunzip(src: ByteSource): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    refuse(src.name, 'is gzip-compressed and this runtime has no DecompressionStream', 'Decompress it first (gunzip FILE), or use a current browser or Node 18+.');
  }
  const compressed = await src.read(0, src.size);
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    const stream = new Blob([compressed.slice()]).stream().pipeThrough(new DecompressionStream('gzip'));
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
    }
  } catch (e) {
    refuse(src.name, `is not a valid gzip file (${(e as Error).message})`, 'The file may be cut short or damaged: download it again, or check it with gunzip -t FILE.');
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/**
 * A text format (JSONL, JSON, CSV) whose first bytes hold NUL bytes, or mostly bytes that are not
 * UTF-8, is binary: refuse it instead of reading garbage as rows or column names. (A few bad
 * bytes in a text file are reported line by line by the readers instead.)
 */
export function refuseBinary(file: string, head: Uint8Array): void {
  const sample = head.subarray(0, 8192);
  if (sample.length === 0) return;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(sample);
  let bad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || (c < 0x20 && c !== 9 && c !== 10 && c !== 13)) bad++;
  }
  if (sample.includes(0) || bad > text.length * 0.1) {
    refuse(file, 'is a binary file, not JSONL, JSON or CSV text', 'Choose the dataset file itself: JSONL, JSON, CSV or Parquet (gzip-compressed is fine).');
  }
}
