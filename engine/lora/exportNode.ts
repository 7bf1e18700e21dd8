// Node writer for a MergedExport (export.ts): every file is streamed to a temporary name in the
// output folder, and only when all of them are complete are they renamed into place, so an
// interrupted export never leaves a half-written model.safetensors under its real name.
// An existing output folder is allowed: the files we write are replaced, every other file is left
// alone. We refuse (before writing anything) when the folder holds files that would make the
// result load wrongly: other weight files (*.safetensors, model.safetensors.index.json that we
// would not overwrite: transformers could pick them instead of ours) or a PEFT adapter
// (adapter_config.json: transformers would then load the folder as an adapter).
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { WEIGHTS_INDEX } from '../io/checkpoint.ts';
import { CheckpointError } from '../io/errors.ts';
import { fsError, withFsErrors } from '../io/fsErrors.ts';
import type { MergedExport } from './export.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './peft.ts';

export interface WriteExportOptions {
  /** Folders the output must not be (the base model, the adapter): refused when equal. */
  inputDirs?: string[];
  /** What is written, for messages (default "merged model"). */
  what?: string;
}

/** Files in `dir` that would conflict with the export (see the header comment). */
async function conflicts(dir: string, ours: Set<string>): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter(
    (f) => !ours.has(f) && (f.endsWith('.safetensors') || f === WEIGHTS_INDEX || f === ADAPTER_CONFIG || f === ADAPTER_WEIGHTS),
  );
}

/** Writes every file of `exp` into `outputDir` (created if missing). Returns the paths written. */
export async function writeMergedExport(exp: Pick<MergedExport, 'files'>, outputDir: string, opts: WriteExportOptions = {}): Promise<string[]> {
  const out = resolve(outputDir);
  const what = opts.what ?? 'merged model';
  for (const d of opts.inputDirs ?? []) {
    if (resolve(d) === out) {
      throw new CheckpointError(outputDir, 'is also an input folder', opts.what ? `Write the ${what} to a new folder (--output_dir), not over its input.` : 'Write the merged model to a new folder (--output_dir), not over the base model or the adapter.');
    }
  }
  const st = await stat(out).catch(() => null);
  if (st && !st.isDirectory()) throw new CheckpointError(outputDir, 'exists and is not a folder', 'Pass a folder path for --output_dir.');
  const ours = new Set(exp.files.map((f) => f.name));
  const bad = await conflicts(out, ours);
  if (bad.length > 0) {
    throw new CheckpointError(
      outputDir,
      `already holds ${bad.join(', ')}, which the ${what} would not replace`,
      `Use an empty folder for --output_dir, or remove those files: a loader could read them instead of the ${opts.what ? `${what}'s` : 'merged'} weights.`,
    );
  }
  await withFsErrors(outputDir, 'create the folder', () => mkdir(out, { recursive: true }));
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps: string[] = [];
  try {
    for (const f of exp.files) {
      const tmp = join(out, `.${f.name}.${tag}.tmp`);
      temps.push(tmp);
      const fh = await open(tmp, 'w');
      let written = 0;
      try {
        for await (const chunk of f.chunks()) {
          let pos = 0;
          while (pos < chunk.byteLength) {
            const { bytesWritten } = await fh.write(chunk, pos, chunk.byteLength - pos);
            pos += bytesWritten;
          }
          written += chunk.byteLength;
        }
      } finally {
        await fh.close();
      }
      if (written !== f.size) throw new Error(`writeMergedExport: ${f.name} produced ${written} bytes, planned ${f.size}`);
    }
    const paths: string[] = [];
    for (const [i, f] of exp.files.entries()) {
      const dest = join(out, f.name);
      await rename(temps[i], dest);
      paths.push(dest);
    }
    return paths;
  } catch (e) {
    for (const t of temps) await unlink(t).catch(() => undefined);
    throw fsError(e, outputDir, 'write the merged model', 'Free some disk space or pick another --output_dir; the files written there before are unchanged.');
  }
}
