// safetensors reader (validated) and writer. File layout:
//   [8 bytes: N, u64 little-endian][N bytes: UTF-8 JSON header][data region]
//   header = { "__metadata__"?: {str: str}, "<name>": {dtype, shape: int[], data_offsets: [begin, end]} ... }
// data_offsets are relative to the data region. The checks are the safetensors project's own
// (DESIGN.md example 9): N bounded, header a JSON object, dtype known, shape non-negative ints,
// byte size == numel * dtype size, offsets inside the file, contiguous, non-overlapping and
// covering the data region exactly, no duplicate names.
import type { ByteSource } from './byteSource.ts';
import { DTYPE_SIZE, isDtype, type Dtype } from './dtype.ts';
import { CheckpointError, CORRUPT_HINT } from './errors.ts';
import { findDuplicateKeys, isPlainObject } from './json.ts';

/** The reference implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte offsets in the file: the tensor is bytes [begin, end). */
  begin: number;
  end: number;
  /** data_offsets as written in the header (relative to the data region). */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  /** `__metadata__` (e.g. {format: "pt"}), {} when absent. */
  metadata: Record<string, string>;
  /** Absolute offset of the data region: 8 + N. */
  dataStart: number;
}

const HINT_FORMAT = 'This is not a valid .safetensors file: ' + CORRUPT_HINT;

function fail(src: ByteSource, problem: string, hint = HINT_FORMAT): never {
  throw new CheckpointError(src.name, problem, hint);
}

/** Reads and validates the header of a safetensors file. Reads only 8 + N bytes. */
export async function readSafetensorsHeader(src: ByteSource): Promise<SafetensorsHeader> {
  if (src.size < 8) fail(src, `file is ${src.size} bytes, too small for a safetensors header (8-byte length + JSON)`);
  const lenBytes = await src.read(0, 8);
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    fail(src, `header length ${n} is larger than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerLen = Number(n);
  if (headerLen + 8 > src.size) {
    fail(src, `header length ${headerLen} is larger than the rest of the file (${src.size - 8} bytes)`);
  }
  const headerBytes = await src.read(8, headerLen);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail(src, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(src, 'header does not start with "{" (not a JSON object)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(src, `header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) fail(src, 'header is not a JSON object');
  const dups = findDuplicateKeys(text);
  if (dups.length > 0) fail(src, `header has duplicate keys: ${dups.slice(0, 5).map((d) => JSON.stringify(d)).join(', ')}`);

  const dataStart = 8 + headerLen;
  const dataSize = src.size - dataStart;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(src, raw);
      continue;
    }
    tensors.set(name, parseTensor(src, name, raw, dataStart, dataSize));
  }
  checkLayout(src, tensors, dataSize);
  return { tensors, metadata, dataStart };
}

function parseMetadata(src: ByteSource, raw: unknown): Record<string, string> {
  if (!isPlainObject(raw)) fail(src, '__metadata__ is not an object of strings');
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(src, `__metadata__.${k} is ${JSON.stringify(v)}, not a string`);
  }
  return raw as Record<string, string>;
}

function parseTensor(src: ByteSource, name: string, raw: unknown, dataStart: number, dataSize: number): TensorInfo {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(raw)) fail(src, `${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string' || !isDtype(dtype)) {
    fail(src, `${where} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(src, `${where} has shape ${JSON.stringify(shape)}; a shape is a list of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    offsets[0] > offsets[1]
  ) {
    fail(src, `${where} has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 <= begin <= end`);
  }
  const [b, e] = offsets as [number, number];
  if (e > dataSize) {
    fail(src, `${where} has data_offsets [${b}, ${e}] past the end of the data region (${dataSize} bytes)`);
  }
  const numel = (shape as number[]).reduce((p, d) => p * BigInt(d), 1n);
  const expected = numel * BigInt(DTYPE_SIZE[dtype]);
  if (expected !== BigInt(e - b)) {
    fail(
      src,
      `${where} (${dtype}, shape [${(shape as number[]).join(', ')}]) should take ${expected} bytes, but data_offsets [${b}, ${e}] give ${e - b}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e, dataOffsets: [b, e] };
}

/** Offsets sorted by begin must tile [0, dataSize) exactly: no gap, no overlap, nothing after. */
function checkLayout(src: ByteSource, tensors: Map<string, TensorInfo>, dataSize: number): void {
  const sorted = [...tensors.values()].sort((x, y) => x.dataOffsets[0] - y.dataOffsets[0] || x.dataOffsets[1] - y.dataOffsets[1]);
  let pos = 0;
  let prev: TensorInfo | null = null;
  for (const t of sorted) {
    const [b] = t.dataOffsets;
    if (b < pos) {
      fail(src, `tensor ${JSON.stringify(t.name)} [${t.dataOffsets}] overlaps tensor ${JSON.stringify(prev!.name)} [${prev!.dataOffsets}]`);
    }
    if (b > pos) {
      fail(src, `gap of ${b - pos} bytes before tensor ${JSON.stringify(t.name)} (data_offsets must be contiguous)`);
    }
    pos = t.dataOffsets[1];
    prev = t;
  }
  if (pos !== dataSize) {
    fail(src, `the tensors cover ${pos} bytes but the data region is ${dataSize} bytes (${dataSize - pos} extra bytes at the end)`);
  }
}

/**
 * The raw little-endian bytes of a tensor, or of bytes [byteOffset, byteOffset + byteLength) of
 * it (to stream a big tensor in chunks). Read-only: may share memory with the source.
 */
export async function readTensorBytes(src: ByteSource, info: TensorInfo, byteOffset = 0, byteLength?: number): Promise<Uint8Array> {
  const total = info.end - info.begin;
  const len = byteLength ?? total - byteOffset;
  if (byteOffset < 0 || len < 0 || byteOffset + len > total) {
    throw new RangeError(`${src.name}: tensor ${info.name} is ${total} bytes; cannot read [${byteOffset}, ${byteOffset + len})`);
  }
  return src.read(info.begin + byteOffset, len);
}

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Little-endian bytes, numel * dtype size long. */
  data: Uint8Array;
}

/** A tensor's header entry: its data follows the previous entry's in the data region. */
export interface SafetensorsEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
}

/**
 * The first bytes of a safetensors file whose data region holds `entries` in the given order:
 * the u64 length and the JSON header, padded with spaces to a multiple of 8 bytes so the data
 * region is aligned. (A writer that streams tensor data appends each tensor's bytes after it.)
 */
export function encodeSafetensorsHeader(entries: SafetensorsEntry[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`writeSafetensors: metadata ${k} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of entries) {
    if (t.name === '__metadata__' || Object.prototype.hasOwnProperty.call(header, t.name)) {
      throw new TypeError(`writeSafetensors: duplicate or reserved tensor name ${JSON.stringify(t.name)}`);
    }
    if (!isDtype(t.dtype)) throw new TypeError(`writeSafetensors: unknown dtype ${t.dtype}`);
    const numel = t.shape.reduce((p, d) => p * d, 1);
    if (numel * DTYPE_SIZE[t.dtype] !== t.byteLength) {
      throw new TypeError(`writeSafetensors: ${t.name} (${t.dtype}, [${t.shape}]) needs ${numel * DTYPE_SIZE[t.dtype]} bytes, got ${t.byteLength}`);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  return out;
}

/**
 * Serialises tensors as safetensors, like the reference `serialize`: names sorted, data packed
 * contiguously, header padded with spaces to a multiple of 8 bytes so the data region is aligned.
 */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header = encodeSafetensorsHeader(
    sorted.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.data.byteLength })),
    metadata,
  );
  const out = new Uint8Array(header.byteLength + sorted.reduce((s, t) => s + t.data.byteLength, 0));
  out.set(header, 0);
  let pos = header.byteLength;
  for (const t of sorted) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}
