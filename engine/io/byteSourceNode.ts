// Node-only ByteSource over a file path. Each read opens the file, reads the range with
// positioned reads and closes it, so no file handle outlives a call and the file is never
// loaded whole (shards are GBs). Never import this from browser code.
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkRange, type ByteSource } from './byteSource.ts';
import { CheckpointError, CORRUPT_HINT } from './errors.ts';

/** fs reads are limited to 2 GiB - 1 per call; stay well under. */
const MAX_READ = 1 << 30;

export class NodeFileSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  readonly path: string;
  constructor(path: string, size: number, name = path) {
    this.path = path;
    this.size = size;
    this.name = name;
  }

  /** Stats `path` for its size. A missing file is a CheckpointError naming it. */
  static async open(path: string): Promise<NodeFileSource> {
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new Error('not a regular file');
      size = st.size;
    } catch (e) {
      throw new CheckpointError(path, `cannot open: ${(e as Error).message}`, `Check that ${basename(path)} exists and is readable.`);
    }
    return new NodeFileSource(path, size);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.name, this.size, offset, length);
    const out = new Uint8Array(length);
    const fh = await open(this.path, 'r').catch((e: Error) => {
      throw new CheckpointError(this.name, `cannot open: ${e.message}`, 'The file was moved or deleted while loading; load it again.');
    });
    try {
      let done = 0;
      while (done < length) {
        const want = Math.min(MAX_READ, length - done);
        const { bytesRead } = await fh.read(out, done, want, offset + done);
        if (bytesRead === 0) {
          throw new CheckpointError(
            this.name,
            `file ended at byte ${offset + done}, expected ${this.size} bytes (it shrank while loading)`,
            CORRUPT_HINT,
          );
        }
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return out;
  }
}
