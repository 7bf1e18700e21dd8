// From a checkpoint folder (any FileSet: Node folder, dropped browser files, hub cache) to a model
// ready to run: config -> ModelSpec, tokenizer + chat template, weights streamed to the GPU.
import type { GpuContext } from '../gpu/context.ts';
import { openCheckpoint, type Checkpoint } from '../io/checkpoint.ts';
import type { FileSet } from '../io/fileSet.ts';
import { ChatTokenizer } from '../data/tokenizer.ts';
import { modelSpecFromConfig, parameterCount, type ModelSpec } from './config.ts';
import { loadWeights, type LoadProgress } from './loadWeights.ts';
import { LlamaModel } from './model.ts';
import type { WeightType } from './weights.ts';
import type { FourBitOptions } from '../quant/loadNf4.ts';

export interface LoadedModel {
  name: string;
  spec: ModelSpec;
  checkpoint: Checkpoint;
  tokenizer: ChatTokenizer;
  model: LlamaModel;
  parameters: number;
}

export interface LoadModelOptions extends FourBitOptions {
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
  const weights = await loadWeights(ctx, spec, checkpoint, { dtype: opts.dtype, onProgress: opts.onProgress, loadIn4bit: opts.loadIn4bit, doubleQuant: opts.doubleQuant });
  const model = new LlamaModel(ctx, spec, weights, { gradientCheckpointing: opts.gradientCheckpointing ?? false });
  return { name: opts.name ?? files.name, spec, checkpoint, tokenizer, model, parameters: parameterCount(spec) };
}
