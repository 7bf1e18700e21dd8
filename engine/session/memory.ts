// The memory estimate: GPU memory a training run needs before it starts, against what the device
// allows, with advice naming the recipe values to lower (EngineApi.estimateMemory, and the check
// every training session makes before allocating anything).
//   weights      the loaded model's GPU buffers
//   LoRA         per targeted module r·(in + out) floats × (A, B, dA, dB + AdamW's m, v)
//   activations  LlamaModel.activationBytes(rows, max_length, gradient_checkpointing), rows =
//                per_device_train_batch_size × the objective's sequences per example (DPO: 2,
//                chosen and rejected in one batch)
// with the weights of a 16-bit and of a 4-bit base side by side (quant/weightOptions.ts).
// WebGPU does not say how much memory a GPU has; it only limits one buffer (maxBufferSize) and one
// storage binding (maxStorageBufferBindingSize). So the total is checked against a budget derived
// from those (memoryBudget), and the largest activation (the (rows·T, I) MLP tensors, bound whole)
// against the binding limit.
import { formatBytes } from '../errors.ts';
import type { GpuCaps } from '../gpu/device.ts';
import { GpuOutOfMemory } from '../gpu/errors.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import type { LlamaModel } from '../model/model.ts';
import { moduleShape } from '../model/modules.ts';
import type { Recipe } from '../recipe/schema.ts';
import { OBJECTIVES } from '../train/objectives/index.ts';
import { weightBytesByBase } from '../quant/weightOptions.ts';

export interface MemoryEstimate {
  weightsBytes: number;
  loraBytes: number; // adapter + gradients + optimizer moments
  activationBytes: number; // for per_device_train_batch_size x max_length (x2 rows for DPO)
  totalBytes: number;
  limitBytes: number; // what the device allows for one buffer / in total, as far as WebGPU tells
  fits: boolean;
  advice: string | null; // what to change when it does not fit (batch, max_length, r, checkpointing, load_in_4bit)
  /** The weights are estimated 4-bit (recipe.load_in_4bit, or a pre-quantized checkpoint). */
  loadIn4bit: boolean;
  /** The same recipe with a 16-bit base (null: a pre-quantized checkpoint) and with a 4-bit one (the studio's QLoRA switch). */
  bases: { sixteenBit: BaseEstimate | null; fourBit: BaseEstimate };
}

export interface BaseEstimate {
  weightsBytes: number;
  totalBytes: number;
  fits: boolean;
}

/** Bytes of the loaded model's weights on the GPU. */
export function weightBytes(loaded: LoadedModel): number {
  return loaded.model.weights.buffers.reduce((s, b) => s + b.size, 0);
}

const GiB = 2 ** 30;

/** Total bytes we let one run use: the largest buffer the device allows, kept within [2, 16] GiB (CPU adapters: 4 GiB). */
export function memoryBudget(caps: GpuCaps): number {
  if (caps.isCpu) return 4 * GiB;
  return Math.min(16 * GiB, Math.max(2 * GiB, caps.maxBufferSize));
}

interface Shape {
  batch: number;
  maxLength: number;
  checkpointing: boolean;
  r: number;
}

interface Sizes {
  lora: number;
  activations: number;
  largestBuffer: number;
}

function sizes(model: LlamaModel, recipe: Recipe, s: Shape): Sizes {
  const spec = model.spec;
  const copies = recipe.optim === 'adamw_torch' ? 6 : 4;
  let loraFloats = 0;
  for (const m of recipe.lora_target_modules) {
    const { inFeatures, outFeatures } = moduleShape(spec, m);
    loraFloats += s.r * (inFeatures + outFeatures);
  }
  const rows = s.batch * OBJECTIVES[recipe.method].sequencesPerExample;
  const N = rows * s.maxLength;
  return {
    lora: loraFloats * spec.numLayers * copies * 4,
    activations: model.activationBytes(rows, s.maxLength, s.checkpointing),
    largestBuffer: 4 * N * Math.max(spec.intermediateSize, spec.hiddenSize, spec.numHeads * spec.headDim),
  };
}

export function estimateTrainingMemory(loaded: LoadedModel, caps: GpuCaps, recipe: Recipe): MemoryEstimate {
  const byBase = weightBytesByBase(loaded, recipe.bnb_4bit_use_double_quant);
  const loadIn4bit = recipe.load_in_4bit || byBase.sixteenBit === null;
  const quantized = loaded.model.weights.quantization;
  // As loaded when the recipe loads it so (measured buffers), else as the recipe would load it.
  const loadedAsRecipe = Boolean(quantized) === loadIn4bit && (!quantized || quantized.preQuantized || quantized.doubleQuant === recipe.bnb_4bit_use_double_quant);
  const weightsBytes = loadedAsRecipe ? weightBytes(loaded) : loadIn4bit ? byBase.fourBit : byBase.sixteenBit!;
  const limitBytes = memoryBudget(caps);
  const shape: Shape = { batch: recipe.per_device_train_batch_size, maxLength: recipe.max_length, checkpointing: recipe.gradient_checkpointing, r: recipe.lora_r };
  const fitsWithWeights = (w: number, s: Shape): boolean => {
    const z = sizes(loaded.model, recipe, s);
    return w + z.lora + z.activations <= limitBytes && z.largestBuffer <= caps.maxStorageBufferBindingSize;
  };
  const fitsWith = (s: Shape) => fitsWithWeights(weightsBytes, s);
  const z = sizes(loaded.model, recipe, shape);
  const totalBytes = weightsBytes + z.lora + z.activations;
  const fits = fitsWith(shape);
  const base = (w: number): BaseEstimate => ({ weightsBytes: w, totalBytes: w + z.lora + z.activations, fits: fitsWithWeights(w, shape) });
  const bases = { sixteenBit: byBase.sixteenBit === null ? null : base(byBase.sixteenBit), fourBit: base(byBase.fourBit) };
  const estimate: MemoryEstimate = { weightsBytes, loraBytes: z.lora, activationBytes: z.activations, totalBytes, limitBytes, fits, advice: null, loadIn4bit, bases };
  if (fits) return estimate;

  const tips: string[] = [];
  if (!loadIn4bit && bases.fourBit.fits) {
    tips.push(`Turn on load_in_4bit (QLoRA): the weights then take ${formatBytes(byBase.fourBit)} instead of ${formatBytes(weightsBytes)}.`);
  }
  const tiny: Shape = { batch: 1, maxLength: Math.min(shape.maxLength, 128), checkpointing: true, r: Math.min(shape.r, 4) };
  if (weightsBytes >= limitBytes || !fitsWith(tiny)) {
    if (tips.length === 0) tips.push(`The model's weights alone take ${formatBytes(weightsBytes)} of the ${formatBytes(limitBytes)} this GPU allows: pick a smaller model.`);
  } else {
    if (!shape.checkpointing && fitsWith({ ...shape, checkpointing: true })) {
      tips.push('Turn on gradient_checkpointing (it recomputes activations instead of keeping them).');
    }
    const cp = shape.checkpointing || fitsWith({ ...shape, checkpointing: true });
    let batch = shape.batch;
    while (batch > 1 && !fitsWith({ ...shape, batch, checkpointing: cp })) batch = Math.floor(batch / 2);
    if (batch < shape.batch && fitsWith({ ...shape, batch, checkpointing: cp })) {
      const accum = Math.ceil(shape.batch / batch) * recipe.gradient_accumulation_steps;
      tips.push(`Lower per_device_train_batch_size from ${shape.batch} to ${batch} (raise gradient_accumulation_steps to ${accum} to keep the effective batch).`);
    } else if (!fitsWith({ ...shape, batch: 1, checkpointing: cp })) {
      let len = shape.maxLength;
      while (len > 64 && !fitsWith({ ...shape, batch: 1, maxLength: len, checkpointing: cp })) len = Math.floor(len / 2);
      if (shape.batch > 1) tips.push(`Lower per_device_train_batch_size from ${shape.batch} to 1 (raise gradient_accumulation_steps to keep the effective batch).`);
      tips.push(`Lower max_length from ${shape.maxLength} to ${len} or less (longer rows are truncated).`);
    }
    if (z.lora > limitBytes / 4) tips.push(`Use a smaller lora_r than ${shape.r} (the adapter and its optimizer state take ${formatBytes(z.lora)}).`);
  }
  const detail = z.largestBuffer > caps.maxStorageBufferBindingSize ? ` One activation tensor would take ${formatBytes(z.largestBuffer)}, over the ${formatBytes(caps.maxStorageBufferBindingSize)} a GPU binding allows.` : '';
  estimate.advice = `This run needs about ${formatBytes(totalBytes)} of GPU memory; about ${formatBytes(limitBytes)} is available.${detail} ${tips.join(' ')}`.trim();
  return estimate;
}

/** What to lower when the estimate fit but the GPU still ran out. */
export function genericAdvice(recipe: Recipe): string {
  const tips = [`lower per_device_train_batch_size (now ${recipe.per_device_train_batch_size}) or max_length (now ${recipe.max_length})`];
  if (!recipe.gradient_checkpointing) tips.push('turn on gradient_checkpointing');
  tips.push(`use a smaller lora_r (now ${recipe.lora_r})`);
  const s = tips.join(', ');
  return `${s[0].toUpperCase()}${s.slice(1)}; or close other GPU-heavy tabs and apps.`;
}

/**
 * The GpuOutOfMemory a training run reports, with the estimate's breakdown: before training when
 * the estimate does not fit (cause null), or when the first step's allocations failed (cause = the
 * GPU's message). The hint says what to change.
 */
export function trainingOutOfMemory(estimate: MemoryEstimate, recipe: Recipe, cause: string | null): GpuOutOfMemory {
  const need = `needs about ${formatBytes(estimate.totalBytes)} (weights ${formatBytes(estimate.weightsBytes)}, LoRA + optimizer ${formatBytes(estimate.loraBytes)}, activations ${formatBytes(estimate.activationBytes)})`;
  const message = cause
    ? `GPU out of memory at the first training step (${cause}). This run ${need}.`
    : `GPU out of memory: this run ${need}; about ${formatBytes(estimate.limitBytes)} is available.`;
  return new GpuOutOfMemory(message, estimate.advice ?? genericAdvice(recipe), {
    requestedBytes: estimate.totalBytes,
    limitBytes: estimate.limitBytes,
    weightsBytes: estimate.weightsBytes,
    loraBytes: estimate.loraBytes,
    activationBytes: estimate.activationBytes,
  });
}
