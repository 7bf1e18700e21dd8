// `--model DIR|HUB_ID`: a local folder, or a Hugging Face hub id (downloaded once into
// ~/.cache/whetstone/hub, with progress). The access token comes from --token or HF_TOKEN and is
// only ever sent in request headers.
import { existsSync } from 'node:fs';
import { openNodeFolder } from '../engine/io/fileSetNode.ts';
import type { FileSet } from '../engine/io/fileSet.ts';
import { downloadFromHub } from '../engine/io/hub.ts';
import { NodeHubCache } from '../engine/io/hubCacheNode.ts';
import { CheckpointError } from '../engine/io/errors.ts';
import { createReporter } from './progress.ts';

export interface ModelSourceOptions {
  revision?: string;
  token?: string;
  quiet?: boolean;
}

const HUB_ID = /^[\w-][\w.-]*\/[\w-][\w.-]*$/;

export async function openModelFiles(model: string, opts: ModelSourceOptions = {}): Promise<FileSet> {
  if (existsSync(model)) return openNodeFolder(model);
  // "org/name" is a hub id; anything else (./x, /x, a/b/c, x) is a path that does not exist.
  if (!HUB_ID.test(model)) {
    throw new CheckpointError('', `no such folder: ${model}`, 'Pass a local model folder or a Hugging Face id such as HuggingFaceTB/SmolLM2-135M-Instruct.');
  }
  const reporter = createReporter();
  const { files } = await downloadFromHub({
    repo: model,
    revision: opts.revision ?? 'main',
    accessToken: opts.token ?? process.env.HF_TOKEN,
    cache: new NodeHubCache(process.env.WHETSTONE_CACHE),
    onProgress: opts.quiet
      ? undefined
      : (p) => reporter.update(p.bytesTotal ? p.bytesDone / p.bytesTotal : 0, `downloading ${model}: ${p.file} ${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB`),
  });
  reporter.done();
  return files;
}
