// How a model's decoder linears are loaded in 4-bit (QLoRA), as transformers does with
// BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=...):
//   a pre-quantized checkpoint (config.json has a bitsandbytes quantization_config, e.g. the hub's
//     *-bnb-4bit repos) is 4-bit whatever was asked: its weights are read as saved, never
//     re-quantized; its own bnb_4bit_use_double_quant holds; modules it left 16-bit
//     (llm_int8_skip_modules) stay 16-bit;
//   else, with load_in_4bit, each linear weight is quantized on load, streamed in 4 MiB pieces
//     (never the whole model in f32), exactly as bitsandbytes quantizes it (quant/nf4.ts).
// Embeddings, norms, biases and the LM head are never quantized (model/loadWeights.ts).
import type { Checkpoint } from '../io/checkpoint.ts';
import { DTYPE_SIZE, bytesToF32, isFloatDtype } from '../io/dtype.ts';
import { WhetstoneError } from '../errors.ts';
import { CheckpointError } from '../io/errors.ts';
import { assertFiniteWeights } from '../io/finiteCheck.ts';
import { QUANT_STATE_FP4, QUANT_STATE_NF4, bnbQuantizedWeights, parseQuantizationConfig, readBnbNf4Weight } from './bnbFormat.ts';
import type { WeightsQuantization } from '../model/weights.ts';
import type { Nf4Dtype } from './nf4.ts';
import { quantizeWeightStreamed, type Nf4Weight } from './nf4Weight.ts';

/** What the user asked for (transformers' BitsAndBytesConfig names). */
export interface FourBitOptions {
  /** load_in_4bit: NF4 decoder linears (QLoRA). */
  loadIn4bit?: boolean;
  /** bnb_4bit_use_double_quant (transformers' default: false). */
  doubleQuant?: boolean;
}

/** The load options of a recipe's QLoRA keys (bnb_4bit_quant_type is nf4: resolveRecipe refuses fp4). */
export function fourBitOptions(recipe: { load_in_4bit: boolean; bnb_4bit_use_double_quant: boolean }): FourBitOptions {
  return { loadIn4bit: recipe.load_in_4bit, doubleQuant: recipe.bnb_4bit_use_double_quant };
}

/**
 * A training run's load_in_4bit must be how its model was loaded (the faces load it from the
 * recipe; a pre-quantized checkpoint is 4-bit whatever the recipe says).
 */
export function checkLoadedAsRecipe(quantization: WeightsQuantization | null, recipe: { load_in_4bit: boolean }): void {
  if (quantization?.preQuantized) return;
  if (Boolean(quantization) !== recipe.load_in_4bit) {
    throw new WhetstoneError(
      `The recipe says load_in_4bit ${recipe.load_in_4bit} but the model was loaded ${quantization ? 'in 4-bit' : 'in 16-bit'}.`,
      'Load the model again with the recipe (whetstone train loads it as load_in_4bit says).',
    );
  }
}

/** How this checkpoint's linears are loaded: null = 16-bit. */
export interface FourBitPlan {
  /** The checkpoint holds NF4 weights already (read as saved). */
  preQuantized: boolean;
  doubleQuant: boolean;
  /** Pre-quantized: the weights the file holds in NF4 (the others are 16-bit). */
  quantized: ReadonlySet<string> | null;
}

export function fourBitPlan(ckpt: Checkpoint, opts: FourBitOptions): FourBitPlan | null {
  const config = parseQuantizationConfig(ckpt.config);
  if (config) return { preQuantized: true, doubleQuant: config.doubleQuant, quantized: new Set(bnbQuantizedWeights(ckpt)) };
  if (!opts.loadIn4bit) return null;
  return { preQuantized: false, doubleQuant: opts.doubleQuant ?? false, quantized: null };
}

/** The tensors a pre-quantized weight is stored as, besides `name` itself. */
const COMPANIONS = ['absmax', 'quant_map', 'nested_absmax', 'nested_quant_map', QUANT_STATE_NF4, QUANT_STATE_FP4];

/** File bytes of weight `name`, its 4-bit companions (absmax, quant_state, ...) included. */
export function storedBytes(ckpt: Checkpoint, name: string): number {
  let bytes = 0;
  for (const n of [name, ...COMPANIONS.map((s) => `${name}.${s}`)]) {
    const t = ckpt.tensors.get(n);
    if (t) bytes += t.end - t.begin;
  }
  return bytes;
}

/** Whether the checkpoint stores `name` in 4-bit (so its 16-bit shape checks do not apply). */
export function isStoredIn4bit(plan: FourBitPlan | null, name: string): boolean {
  return plan?.quantized?.has(name) ?? false;
}

const READ_ELEMENTS = 1 << 20; // 4 MiB of f32 per piece

/**
 * The linear weight `name` (shape [out, in] from config.json) in NF4: read as saved, or quantized
 * from its 16-bit values piece by piece. null: the plan keeps it 16-bit (a module a pre-quantized
 * checkpoint left unquantized).
 */
export async function readNf4Linear(ckpt: Checkpoint, name: string, shape: [number, number], plan: FourBitPlan): Promise<Nf4Weight | null> {
  if (plan.preQuantized) return isStoredIn4bit(plan, name) ? readBnbNf4Weight(ckpt, name, shape) : null;
  const t = ckpt.tensor(name);
  const dtype = t.dtype;
  if (!isFloatDtype(dtype) || dtype === 'F64') throw new CheckpointError(t.file, `tensor ${name} is ${t.dtype}`, 'Model weights must be BF16, F16 or F32.');
  const size = DTYPE_SIZE[dtype];
  const read = async (start: number, count: number) => {
    const values = bytesToF32(await ckpt.readTensorBytes(name, start * size, count * size), dtype);
    assertFiniteWeights(values, name, t.file, start);
    return values;
  };
  return quantizeWeightStreamed(read, shape, dtype as Nf4Dtype, { doubleQuant: plan.doubleQuant }, READ_ELEMENTS);
}
