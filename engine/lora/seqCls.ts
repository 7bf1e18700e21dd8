// A LoRA reward model as PEFT saves one (PeftModelForSequenceClassification, num_labels 1):
//   adapter_config.json: task_type "SEQ_CLS", modules_to_save ["classifier", "score"] (PEFT adds both
//     names for every sequence-classification model; only `score` exists on Llama-family models)
//   adapter_model.safetensors: the LoRA tensors, plus base_model.model.score.weight (1, hidden) F32,
//     the score head trained in full (modules_to_save: PEFT's saved state dict drops the
//     ".modules_to_save.default" part of its name).
// AutoModelForSequenceClassification.from_pretrained(base, num_labels=1) + PeftModel.from_pretrained
// load it. Fresh heads are initialised as transformers initialises a Linear: normal(0, initializer_range).
import { bytesToF32, f32ToBytes } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import type { ByteSource } from '../io/byteSource.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from '../io/safetensors.ts';
import { seededUniform } from '../util/random.ts';
import type { GpuContext } from '../gpu/context.ts';
import { readLoraWeights, type InitialWeights } from './adapter.ts';
import { ADAPTER_CONFIG, parsePeftConfig, peftConfigJson, peftLoraTensors, peftWeightsBytes } from './peft.ts';
import type { LoraAdapter, LoraConfig } from './types.ts';

export const SCORE_KEY = 'base_model.model.score.weight';
/** What PEFT writes into modules_to_save for a SEQ_CLS task. */
export const SEQ_CLS_MODULES_TO_SAVE = ['classifier', 'score'] as const;

export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_CLS';

/** adapter_config.json of a LoRA reward model (the causal-LM config with PEFT's SEQ_CLS fields). */
export function peftSeqClsConfigJson(config: LoraConfig, baseModel: string): string {
  const json = JSON.parse(peftConfigJson(config, baseModel)) as Record<string, unknown>;
  json.task_type = 'SEQ_CLS';
  json.modules_to_save = [...SEQ_CLS_MODULES_TO_SAVE];
  return JSON.stringify(json, null, 2) + '\n';
}

/** adapter_model.safetensors of a LoRA reward model: the LoRA tensors and the score head (1, H). */
export function peftSeqClsWeightsBytes(config: LoraConfig, numLayers: number, weights: Map<string, InitialWeights>, score: Float32Array): Uint8Array {
  const tensors = peftLoraTensors(config, numLayers, weights);
  tensors.push({ name: SCORE_KEY, dtype: 'F32', shape: [1, score.length], data: f32ToBytes(score, 'F32') });
  return writeSafetensors(tensors, { format: 'pt' });
}

/**
 * The task of an adapter_config.json (a missing task_type is read as CAUSAL_LM, what Whetstone
 * wrote before reward models) and its LoRA part. A SEQ_CLS adapter must save `score`.
 */
export function parsePeftTask(text: string, file = ADAPTER_CONFIG): { taskType: PeftTaskType; lora: LoraConfig } {
  const lora = parsePeftConfig(text, file);
  const c = JSON.parse(text) as Record<string, unknown>;
  const task = c.task_type ?? 'CAUSAL_LM';
  if (task !== 'CAUSAL_LM' && task !== 'SEQ_CLS') {
    throw new CheckpointError(file, `has task_type ${JSON.stringify(task)}`, 'Whetstone loads causal-LM adapters (CAUSAL_LM) and reward models (SEQ_CLS).');
  }
  if (task === 'SEQ_CLS') {
    const keep = Array.isArray(c.modules_to_save) ? c.modules_to_save : [];
    if (!keep.includes('score')) {
      throw new CheckpointError(file, 'is a SEQ_CLS adapter whose modules_to_save does not list "score"', 'A reward model saves its score head: modules_to_save ["classifier", "score"] (PEFT adds them for SEQ_CLS).');
    }
  }
  return { taskType: task, lora };
}

/** Reads score.weight (1, hiddenSize) of a reward-model adapter file as F32. */
export async function readScoreWeight(src: ByteSource, hiddenSize: number): Promise<Float32Array> {
  const header = await readSafetensorsHeader(src);
  const info = header.tensors.get(SCORE_KEY) ?? header.tensors.get(SCORE_KEY.replace(/\.weight$/, '.modules_to_save.default.weight'));
  if (!info) throw new CheckpointError(src.name, `has no tensor ${SCORE_KEY}`, 'A reward-model adapter (task_type SEQ_CLS) saves its score head; this file has none.');
  if (info.shape.length !== 2 || info.shape[1] !== hiddenSize) {
    throw new CheckpointError(src.name, `tensor ${SCORE_KEY} has shape [${info.shape}], expected [1, ${hiddenSize}]`, 'The reward model was trained for a model with another hidden size.');
  }
  if (info.shape[0] !== 1) {
    throw new CheckpointError(src.name, `tensor ${SCORE_KEY} has ${info.shape[0]} outputs (num_labels ${info.shape[0]})`, 'Whetstone reward models have one output (num_labels 1), as TRL\'s RewardTrainer trains them.');
  }
  if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
    throw new CheckpointError(src.name, `tensor ${SCORE_KEY} has dtype ${info.dtype}`, 'The score head must be F32, F16 or BF16.');
  }
  return bytesToF32(await readTensorBytes(src, info), info.dtype);
}

/** A fresh score head: normal(0, initializerRange) per weight (transformers' Linear init), seeded. */
export function freshScoreWeight(hiddenSize: number, initializerRange: number, seed: number): Float32Array {
  const rand = seededUniform(seed);
  const out = new Float32Array(hiddenSize);
  for (let h = 0; h < hiddenSize; h += 2) {
    // Box-Muller: two independent normals from two uniforms in (0, 1].
    const u = 1 - rand();
    const v = rand();
    const radius = Math.sqrt(-2 * Math.log(u)) * initializerRange;
    out[h] = radius * Math.cos(2 * Math.PI * v);
    if (h + 1 < hiddenSize) out[h + 1] = radius * Math.sin(2 * Math.PI * v);
  }
  return out;
}


/**
 * The two files of an adapter on the GPU, as PEFT saves it: a causal-LM LoRA, or with a score
 * head a SEQ_CLS reward model (the head in modules_to_save). Final adapters and checkpoints alike.
 */
export async function adapterFileBytes(ctx: GpuContext, adapter: LoraAdapter, numLayers: number, baseModel: string): Promise<{ config: string; weights: Uint8Array }> {
  const lora = await readLoraWeights(ctx, adapter);
  if (!adapter.score) return { config: peftConfigJson(adapter.config, baseModel), weights: peftWeightsBytes(adapter.config, numLayers, lora) };
  const score = await ctx.readF32(adapter.score.weight, adapter.score.size);
  return { config: peftSeqClsConfigJson(adapter.config, baseModel), weights: peftSeqClsWeightsBytes(adapter.config, numLayers, lora, score) };
}
