// `--model DIR|HUB_ID`: a local folder, or a Hugging Face hub id (downloaded once into
// ~/.cache/whetstone/hub, with progress). The access token comes from --token or HF_TOKEN and is
// only ever sent in request headers. `--offline` (or HF_HUB_OFFLINE=1, as the Hugging Face tools
// read it) loads a hub model from the cache without any request; HF_ENDPOINT names a mirror.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Option } from 'commander';
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
  /** Only the cache, no request (default: HF_HUB_OFFLINE, which --offline sets). */
  offline?: boolean;
  /** Only the tokenizer's files (for `whetstone data`): no weights are downloaded. */
  tokenizerOnly?: boolean;
}

const HUB_ID = /^[\w-][\w.-]*\/[\w-][\w.-]*$/;
const TOKENIZER_FILES = new Set(['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);

/** HF_HUB_OFFLINE as huggingface_hub reads it: 1, ON, YES or TRUE (any case). */
export function hubOfflineFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'ON', 'YES', 'TRUE'].includes((env.HF_HUB_OFFLINE ?? '').trim().toUpperCase());
}

/**
 * The `--offline` flag of every command that takes --model: it sets HF_HUB_OFFLINE=1 for this
 * process, so it means exactly what the environment variable means.
 */
export function offlineOption(): Option {
  return new Option('--offline', 'load a hub model from the cache only, without network requests (same as HF_HUB_OFFLINE=1)').argParser(() => {
    process.env.HF_HUB_OFFLINE = '1';
    return true;
  });
}

/**
 * adapter_config.json's base_model_name_or_path for `--model`, as PEFT users expect to find it: the
 * hub id; for a folder inside a Hugging Face cache (models--ORG--NAME/snapshots/REV) that hub id;
 * for any other folder its name (never the relative path typed, which means nothing elsewhere).
 */
export function baseModelName(model: string): string {
  if (!existsSync(model) && HUB_ID.test(model)) return model;
  const path = resolve(model);
  const cached = /(?:^|[/\\])models--([^/\\]+?)--([^/\\]+)[/\\]snapshots[/\\][^/\\]+[/\\]?$/.exec(path);
  return cached ? `${cached[1]}/${cached[2]}` : basename(path);
}

export async function openModelFiles(model: string, opts: ModelSourceOptions = {}): Promise<FileSet> {
  if (existsSync(model)) return openNodeFolder(model);
  // "org/name" is a hub id; anything else (./x, /x, a/b/c, x) is a path that does not exist.
  if (!HUB_ID.test(model)) {
    throw new CheckpointError('', `no such folder: ${model}`, 'Pass a local model folder or a Hugging Face id such as HuggingFaceTB/SmolLM2-135M-Instruct.');
  }
  const offline = opts.offline ?? hubOfflineFromEnv();
  const reporter = createReporter();
  let files: FileSet;
  try {
    ({ files } = await downloadFromHub({
      repo: model,
      revision: opts.revision ?? 'main',
      accessToken: opts.token ?? process.env.HF_TOKEN,
      cache: new NodeHubCache(process.env.WHETSTONE_CACHE),
      hubUrl: process.env.HF_ENDPOINT || undefined, // a mirror, as huggingface_hub reads it
      offline,
      only: opts.tokenizerOnly ? (path) => TOKENIZER_FILES.has(path) : undefined,
      onProgress: opts.quiet
        ? undefined
        : (p) => reporter.update(p.bytesTotal ? p.bytesDone / p.bytesTotal : 0, `downloading ${model}: ${p.file} ${(p.bytesDone / 1e6).toFixed(1)}/${(p.bytesTotal / 1e6).toFixed(1)} MB`),
    }));
  } catch (e) {
    // Offline and not (fully) cached: say which switch to turn off.
    if (offline && e instanceof CheckpointError && /in the cache/.test(e.message)) {
      throw new CheckpointError('', e.message, 'Run the command once online (without --offline and HF_HUB_OFFLINE=1) to download the model into the cache.');
    }
    throw e;
  } finally {
    reporter.done();
  }
  return files;
}
