// Node-only FileSet over a folder on disk (recursively listed once, sizes from stat).
//
// Symbolic links are followed, but only to files inside the model folder's real tree: a Hugging
// Face cache snapshot (~/.cache/huggingface/hub/models--org--name/snapshots/<rev>/) is all links
// into ../../blobs, so for a snapshot folder the tree is its repo folder (models--org--name);
// otherwise it is the folder itself. A link that leads anywhere else is never read: a file we
// would load gets a clear error, other files are left out.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { NodeFileSource } from './byteSourceNode.ts';
import { CheckpointError } from './errors.ts';
import { withFsErrors } from './fsErrors.ts';
import { missingFile, type FileSet } from './fileSet.ts';

/** Files Whetstone reads from a model or adapter folder: a link to outside for one of these is an error. */
const LOADED = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|adapter_config\.json|.*\.safetensors(\.index\.json)?)$/;

/** The real folder links may lead into: the repo folder of an HF cache snapshot, else the folder itself. */
export function allowedTree(realDir: string): string {
  const parent = dirname(realDir);
  const repo = dirname(parent);
  return basename(parent) === 'snapshots' && /^(models|datasets)--/.test(basename(repo)) ? repo : realDir;
}

const inside = (path: string, root: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

export async function openNodeFolder(dir: string): Promise<FileSet> {
  const st = await stat(dir).catch(() => null);
  const hint = 'Pass the folder itself: a model folder holds config.json and .safetensors files, an adapter folder adapter_config.json and adapter_model.safetensors.';
  if (!st) throw new CheckpointError('', `no such folder: ${dir}`, hint);
  if (!st.isDirectory()) throw new CheckpointError(dir, 'is a file, not a folder', hint);
  const realDir = await withFsErrors(dir, 'resolve the folder', () => realpath(dir));
  const root = allowedTree(realDir);
  const files = new Map<string, { path: string; size: number }>();
  const visited = new Set<string>([realDir]);

  const refuse = (rel: string, problem: string) => {
    throw new CheckpointError(join(dir, rel), problem, 'Model files must be in the model folder (symbolic links are followed only inside it, or inside the Hugging Face cache repo folder of a snapshot).');
  };
  const walk = async (real: string, relDir: string): Promise<void> => {
    const entries = await withFsErrors(join(dir, relDir), 'list the folder', () => readdir(real, { withFileTypes: true }));
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      const path = join(real, e.name);
      let target = path;
      let kind: 'file' | 'dir' | 'other' = e.isFile() ? 'file' : e.isDirectory() ? 'dir' : 'other';
      if (e.isSymbolicLink()) {
        const resolved = await realpath(path).catch(() => null);
        if (resolved === null) {
          if (LOADED.test(e.name)) refuse(rel, 'is a broken symbolic link (an incomplete download?)');
          continue;
        }
        if (!inside(resolved, root)) {
          if (LOADED.test(e.name)) refuse(rel, `is a symbolic link to ${resolved}, outside the model folder; refusing to follow it`);
          continue;
        }
        const ts = await stat(resolved);
        target = resolved;
        kind = ts.isFile() ? 'file' : ts.isDirectory() ? 'dir' : 'other';
      }
      if (kind === 'dir') {
        if (visited.has(target)) continue; // a link loop, or a folder seen through another link
        visited.add(target);
        await walk(target, rel);
      } else if (kind === 'file') {
        const size = (await withFsErrors(join(dir, rel), 'read the file size', () => lstat(target))).size;
        files.set(rel, { path: target, size });
      }
    }
  };
  await walk(realDir, '');

  const set: FileSet = {
    name: dir,
    list: () => [...files.keys()].sort(),
    open(file: string) {
      const f = files.get(file);
      if (f === undefined) throw missingFile(set, file, 'Add the file to the folder.');
      return new NodeFileSource(f.path, f.size, join(dir, file));
    },
  };
  return set;
}
