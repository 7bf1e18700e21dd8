// Random-access bytes of one file, without loading the whole file: a checkpoint shard can be
// several GB, and the safetensors reader reads the header and then one tensor at a time.
// Browser-safe: the Node file implementation lives in byteSourceNode.ts.
import { CheckpointError, CORRUPT_HINT } from './errors.ts';

export interface ByteSource {
  /** A name for messages: a path, a File name, or a hub path. */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset + length). Resolves to exactly `length` bytes or rejects with a
   * CheckpointError (range past the end, file shorter than `size`). The result may share memory
   * with the source (MemorySource): treat it as read-only.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Throws unless [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new RangeError(`${name}: bad read range offset=${offset} length=${length}`);
  }
  if (offset + length > size) {
    throw new CheckpointError(
      name,
      `read of ${length} bytes at offset ${offset} goes past the end of the file (${size} bytes)`,
      CORRUPT_HINT,
    );
  }
}

/** A Uint8Array held in memory (tests, files fetched whole, safetensors just written). */
export class MemorySource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly bytes: Uint8Array;
  constructor(name: string, bytes: Uint8Array) {
    this.name = name;
    this.bytes = bytes;
    this.size = bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.size, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/** A browser Blob or File (a dropped folder, a Cache Storage response body). Reads with blob.slice(). */
export class BlobSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  private readonly blob: Blob;
  constructor(name: string, blob: Blob) {
    this.name = name;
    this.blob = blob;
    this.size = blob.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.size, offset, length);
    let buf: ArrayBuffer;
    try {
      buf = await this.blob.slice(offset, offset + length).arrayBuffer();
    } catch (e) {
      throw new CheckpointError(
        this.name,
        `could not read ${length} bytes at offset ${offset}: ${(e as Error).message}`,
        'The file may have been moved or changed since it was chosen; choose the folder again.',
      );
    }
    if (buf.byteLength !== length) {
      throw new CheckpointError(this.name, `asked for ${length} bytes at offset ${offset}, got ${buf.byteLength}`, CORRUPT_HINT);
    }
    return new Uint8Array(buf);
  }
}

/** Reads the whole source as UTF-8 text (small files only: config.json, tokenizer.json). */
export async function readText(src: ByteSource): Promise<string> {
  const bytes = await src.read(0, src.size);
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
