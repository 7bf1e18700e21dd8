// A folder of files, wherever it lives: a Node folder (fileSetNode.ts), the File objects of a
// folder dropped in the browser, bytes in memory, or a hub download in a cache (hub.ts).
// Names are relative paths with '/' separators ("config.json", "onnx/model.onnx").
import { BlobSource, MemorySource, type ByteSource } from './byteSource.ts';
import { CheckpointError } from './errors.ts';

/** Files in memory by name: a checkpoint-N folder, an adapter, what the page sends. */
export type FileMap = Record<string, Uint8Array>;

export interface FileSet {
  /** For messages: a folder path, "dropped folder <name>", "hub <repo>@<revision>". */
  readonly name: string;
  list(): string[];
  /** Throws CheckpointError when `name` is not in list(). */
  open(name: string): ByteSource;
}

export function missingFile(set: FileSet, file: string, hint: string): CheckpointError {
  return new CheckpointError('', `${set.name} has no ${file}`, hint);
}

/** Files held in memory (tests, small generated checkpoints). */
export function memoryFileSet(name: string, files: Record<string, Uint8Array | Blob>): FileSet {
  const map = new Map(Object.entries(files));
  return {
    name,
    list: () => [...map.keys()].sort(),
    open(file: string): ByteSource {
      const v = map.get(file);
      if (v === undefined) throw missingFile(this, file, 'Add the file to the folder.');
      return v instanceof Uint8Array ? new MemorySource(file, v) : new BlobSource(file, v);
    },
  };
}

/**
 * The File objects of a folder chosen with <input webkitdirectory> or dropped: their
 * webkitRelativePath is "<folder>/<file>"; the common top folder is stripped. Files chosen one by
 * one (no relative path) keep their plain names.
 */
export function browserFileSet(files: Iterable<File>, name?: string): FileSet {
  const list = [...files];
  const paths = list.map((f) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name);
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '')));
  const strip = tops.size === 1 && !tops.has('') ? [...tops][0] + '/' : '';
  const map: Record<string, Blob> = {};
  list.forEach((f, i) => {
    map[strip ? paths[i].slice(strip.length) : paths[i]] = f;
  });
  return memoryFileSet(name ?? (strip ? `folder ${strip.slice(0, -1)}` : 'the chosen files'), map);
}
