// A PEFT adapter onto the GPU: from a folder (any FileSet: a Node folder, dropped files, files
// the page sent) or from the adapter files inside a checkpoint. Checked against the model: every
// tensor present with the right shape, or a CheckpointError naming the first that is not.
import type { GpuContext } from '../gpu/context.ts';
import { memoryFileSet, type FileMap, type FileSet } from '../io/fileSet.ts';
import type { ModelSpec } from '../model/config.ts';
import { moduleShape } from '../model/modules.ts';
import { attachScoreHead, buildAdapter } from './adapter.ts';
import { readText } from '../io/byteSource.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, readAdapterConfig, readPeftWeights } from './peft.ts';
import { parsePeftTask, readScoreWeight } from './seqCls.ts';
import type { LoraAdapter } from './types.ts';

/**
 * Loads adapter_config.json + adapter_model.safetensors onto the GPU (gradients zeroed); a reward
 * model's adapter (task_type SEQ_CLS) comes with its score head.
 */
export async function loadAdapter(ctx: GpuContext, spec: ModelSpec, files: FileSet): Promise<LoraAdapter> {
  const config = await readAdapterConfig(files);
  const { taskType } = parsePeftTask(await readText(files.open(ADAPTER_CONFIG)), `${files.name}/${ADAPTER_CONFIG}`);
  const weights = await readPeftWeights(files.open(ADAPTER_WEIGHTS), config, spec, (m) => moduleShape(spec, m));
  const score = taskType === 'SEQ_CLS' ? await readScoreWeight(files.open(ADAPTER_WEIGHTS), spec.hiddenSize) : null;
  const adapter = buildAdapter(ctx, spec, config, (l, m) => weights.get(`${l}.${m}`)!);
  if (score) attachScoreHead(ctx, adapter, score);
  return adapter;
}

/** Loads the adapter from files held in memory (a checkpoint's, or files the page sent); other files are ignored. */
export function loadAdapterFiles(ctx: GpuContext, spec: ModelSpec, name: string, files: FileMap): Promise<LoraAdapter> {
  const picked: FileMap = {};
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) if (files[f]) picked[f] = files[f];
  return loadAdapter(ctx, spec, memoryFileSet(name, picked));
}
