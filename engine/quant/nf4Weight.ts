// One NF4-quantized weight (what bitsandbytes' Params4bit + QuantState hold), built on the CPU in
// chunks so a big tensor is never held whole in f32, and its exact dequantization.
//   weight W (shape, e.g. [out, in]) -> packed codes (ceil(n/2) bytes), block scales per 64
//   elements (f32, or double-quantized: 8-bit codes + nested f32 per 256 + offset), quant map.
import { NF4_BLOCKSIZE, NF4_CODE, allocNf4Blocks, dequantizeNf4Into, quantizeNf4Into, type Nf4Dtype } from './nf4.ts';
import { dequantizeNestedAbsmax, doubleQuantize, type NestedAbsmax } from './doubleQuant.ts';

export interface Nf4Weight {
  /** The original weight's shape (quant_state "shape"), row-major. */
  shape: number[];
  numel: number;
  /** What dequantize_4bit returns (quant_state "dtype"): the checkpoint dtype of the weight. */
  dtype: Nf4Dtype;
  /** quant_map: the 16 NF4 values. */
  quantMap: Float32Array;
  /** The packed codes, ceil(numel / 2) bytes (element 2i in the high nibble). */
  packed: Uint8Array;
  /** f32 scale per 64-element block when not double-quantized, else null. */
  absmax: Float32Array | null;
  /** Double-quantized scales, else null. */
  nested: NestedAbsmax | null;
}

export interface QuantizeOptions {
  /** bnb_4bit_use_double_quant. */
  doubleQuant: boolean;
}

/** Reads elements [start, start + count) of the flattened weight as f32 (exact values of its dtype). */
export type ReadElements = (start: number, count: number) => Promise<Float32Array>;

/** Elements quantized per read: 1 Mi elements (4 MiB of f32), a multiple of 64. */
export const QUANT_CHUNK_ELEMENTS = 1 << 20;

/** Quantizes a weight read in chunks of `chunkElements` (a multiple of 64). */
export async function quantizeWeightStreamed(
  read: ReadElements,
  shape: number[],
  dtype: Nf4Dtype,
  opts: QuantizeOptions,
  chunkElements = QUANT_CHUNK_ELEMENTS,
): Promise<Nf4Weight> {
  if (chunkElements <= 0 || chunkElements % NF4_BLOCKSIZE !== 0) throw new RangeError(`chunkElements ${chunkElements} is not a positive multiple of 64`);
  const numel = shape.reduce((p, d) => p * d, 1);
  const blocks = allocNf4Blocks(numel);
  for (let start = 0; start < numel; start += chunkElements) {
    quantizeNf4Into(await read(start, Math.min(chunkElements, numel - start)), start, blocks);
  }
  return finish(shape, numel, dtype, blocks.packed, blocks.absmax, opts);
}

/** Quantizes a weight held in memory (tests, small tensors). */
export function quantizeWeight(values: Float32Array, shape: number[], dtype: Nf4Dtype, opts: QuantizeOptions): Nf4Weight {
  const numel = shape.reduce((p, d) => p * d, 1);
  if (values.length !== numel) throw new RangeError(`quantizeWeight: ${values.length} values for shape [${shape}]`);
  const blocks = allocNf4Blocks(numel);
  quantizeNf4Into(values, 0, blocks);
  return finish(shape, numel, dtype, blocks.packed, blocks.absmax, opts);
}

function finish(shape: number[], numel: number, dtype: Nf4Dtype, packed: Uint8Array, absmax: Float32Array, opts: QuantizeOptions): Nf4Weight {
  const base = { shape: [...shape], numel, dtype, quantMap: NF4_CODE.slice(), packed };
  return opts.doubleQuant ? { ...base, absmax: null, nested: doubleQuantize(absmax) } : { ...base, absmax, nested: null };
}

/** The f32 scale of every 64-element block (dequantized when double-quantized). */
export function blockScales(w: Nf4Weight): Float32Array {
  if (w.nested) return dequantizeNestedAbsmax(w.nested);
  if (!w.absmax) throw new Error('Nf4Weight has neither absmax nor nested absmax');
  return w.absmax;
}

/**
 * dequantize_4bit: the weight as its dtype's values, widened to f32 (elements [start, start +
 * count), all by default). Pass `scales` (blockScales(w)) when dequantizing in several pieces.
 */
export function dequantizeWeight(w: Nf4Weight, start = 0, count = w.numel - start, scales = blockScales(w)): Float32Array {
  return dequantizeNf4Into(w.packed, scales, w.dtype, new Float32Array(count), start, w.quantMap);
}
