// Node-only FileSet over a folder on disk (recursively listed once, sizes from stat).
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { NodeFileSource } from './byteSourceNode.ts';
import { CheckpointError } from './errors.ts';
import { missingFile, type FileSet } from './fileSet.ts';

export async function openNodeFolder(dir: string): Promise<FileSet> {
  const st = await stat(dir).catch(() => null);
  const hint = 'Pass the folder itself: a model folder holds config.json and .safetensors files, an adapter folder adapter_config.json and adapter_model.safetensors.';
  if (!st) throw new CheckpointError('', `no such folder: ${dir}`, hint);
  if (!st.isDirectory()) throw new CheckpointError(dir, 'is a file, not a folder', hint);
  const sizes = new Map<string, number>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
    const rel = relative(dir, full).split(/[\\/]/).join('/');
    sizes.set(rel, (await stat(full)).size);
  }
  const set: FileSet = {
    name: dir,
    list: () => [...sizes.keys()].sort(),
    open(file: string) {
      const size = sizes.get(file);
      if (size === undefined) throw missingFile(set, file, 'Add the file to the folder.');
      return new NodeFileSource(join(dir, file), size);
    },
  };
  return set;
}
