// RunStore in a Node folder, laid out like the HF Trainer's output_dir:
//   output_dir/adapter_config.json, adapter_model.safetensors, metrics.jsonl, checkpoint-N/...
// A checkpoint is written to a temporary folder and renamed when complete.
import { appendFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileMap, RunStore } from './runStore.ts';

export class FolderRunStore implements RunStore {
  constructor(readonly dir: string) {}

  async init(resume: boolean): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (!resume) await rm(join(this.dir, 'metrics.jsonl'), { force: true });
  }

  async saveCheckpoint(step: number, files: FileMap): Promise<void> {
    const final = join(this.dir, `checkpoint-${step}`);
    const tmp = join(this.dir, `.checkpoint-${step}.tmp-${process.pid}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    for (const [name, data] of Object.entries(files)) await writeFile(join(tmp, name), data);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  }

  async saveFinal(files: FileMap): Promise<void> {
    for (const [name, data] of Object.entries(files)) {
      const tmp = join(this.dir, `.${name}.tmp-${process.pid}`);
      await writeFile(tmp, data);
      await rename(tmp, join(this.dir, name));
    }
  }

  async appendMetrics(row: Record<string, number | string>): Promise<void> {
    await appendFile(join(this.dir, 'metrics.jsonl'), JSON.stringify(row) + '\n');
  }
}

/** Reads every file of a checkpoint folder. */
export async function readCheckpointFolder(dir: string): Promise<FileMap> {
  const out: FileMap = {};
  for (const name of await readdir(dir)) out[name] = new Uint8Array(await readFile(join(dir, name)));
  return out;
}
