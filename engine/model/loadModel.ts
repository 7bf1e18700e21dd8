// From a checkpoint folder (any FileSet: Node folder, dropped browser files, hub cache) to a model
// ready to run: config -> ModelSpec, tokenizer + chat template, weights streamed to the GPU.
import type { GpuContext } from '../gpu/context.ts';
import { openCheckpoint, type Checkpoint } from '../io/checkpoint.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { FileSet } from '../io/fileSet.ts';
import { readText } from '../io/byteSource.ts';
import { ChatTokenizer } from '../data/tokenizer.ts';
import { buildAdapter } from '../lora/adapter.ts';
import { moduleShape } from '../lora/adapter.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, parsePeftConfig, readPeftWeights } from '../lora/peft.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { modelSpecFromConfig, parameterCount, type ModelSpec } from './config.ts';
import { loadWeights, type LoadProgress } from './loadWeights.ts';
import { LlamaModel } from './model.ts';
import type { WeightType } from './weights.ts';
import { CheckpointError } from '../io/errors.ts';

export interface LoadedModel {
  name: string;
  spec: ModelSpec;
  checkpoint: Checkpoint;
  tokenizer: ChatTokenizer;
  model: LlamaModel;
  parameters: number;
}

export interface LoadModelOptions {
  name?: string;
  dtype?: WeightType;
  gradientCheckpointing?: boolean;
  onProgress?: (p: LoadProgress) => void;
}

export async function loadModel(ctx: GpuContext, files: FileSet, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  const checkpoint = await openCheckpoint(files);
  const spec = modelSpecFromConfig(checkpoint.config, checkpoint.generationConfig);
  const tokenizer = new ChatTokenizer(checkpoint.tokenizerJson!, checkpoint.tokenizerConfig ?? {}, { generationConfig: checkpoint.generationConfig ?? undefined, templateName: `The chat template of ${opts.name ?? files.name}` });
  tokenizer.checkFitsModel(spec.vocabSize); // a tokenizer of another model: refused before any weight is read
  const weights = await loadWeights(ctx, spec, checkpoint, { dtype: opts.dtype, onProgress: opts.onProgress });
  const model = new LlamaModel(ctx, spec, weights, { gradientCheckpointing: opts.gradientCheckpointing ?? false });
  return { name: opts.name ?? files.name, spec, checkpoint, tokenizer, model, parameters: parameterCount(spec) };
}

/** Loads a PEFT adapter (adapter_config.json + adapter_model.safetensors) onto the GPU. */
export async function loadAdapter(ctx: GpuContext, spec: ModelSpec, files: FileSet): Promise<LoraAdapter> {
  const have = new Set(files.list());
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
    if (!have.has(f)) throw new CheckpointError('', `${files.name} has no ${f}`, 'A PEFT adapter folder holds adapter_config.json and adapter_model.safetensors.');
  }
  const config = parsePeftConfig(await readText(files.open(ADAPTER_CONFIG)), `${files.name}/${ADAPTER_CONFIG}`);
  const src: ByteSource = files.open(ADAPTER_WEIGHTS);
  const weights = await readPeftWeights(src, config, spec, (m) => moduleShape(spec, m));
  return buildAdapter(ctx, spec, config, (l, m) => weights.get(`${l}.${m}`)!);
}
