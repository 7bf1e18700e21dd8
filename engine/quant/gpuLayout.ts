// One NF4 weight as one GPU buffer of u32 words, read by engine/wgsl/nf4Weight.wgsl. Everything a
// kernel needs to dequantize any element is in the buffer, so a quantized weight binds like any
// other weight (one binding) and needs no extra uniforms:
//   word 0   numel
//   word 1   word offset of the packed codes: ceil(numel / 2) bytes in bitsandbytes' order (element
//            e in byte e >> 1, the high nibble when e is even), little-endian in the words
//   word 2   word offset of the block scales: double-quantized -> one u8 code per 64-element block,
//            4 per word (block i in byte i & 3); plain -> one f32 per block
//   word 3   word offset of nested_absmax (f32 per 256 blocks; 0 when plain)
//   word 4   word offset of nested_quant_map (256 f32; 0 when plain)
//   word 5   nested_offset (f32 bits)
//   word 6   flags: bit 0 double-quantized; bits 1-2 the dtype a dequantized value is rounded to
//            (0 f32, 1 bf16, 2 f16: dequantize_4bit returns the weight's own dtype)
//   word 7   0 (the kernel ORs it into a product so the compiler cannot fuse code·absmax2 + offset
//            into one fma: bitsandbytes rounds twice)
//   words 8-23  quant_map: the 16 NF4 values (f32)
// Bytes per weight element with double quantization: 0.5 (codes) + 1/64 (block codes) +
// 4/16384 (nested scales) = 0.5159, plus a fixed 1 KiB map and 96-byte header per tensor.
import type { Nf4Dtype } from './nf4.ts';
import { NF4_CODE, nf4Sizes } from './nf4.ts';
import { NESTED_BLOCKSIZE } from './dynamicMap.ts';
import type { Nf4Weight } from './nf4Weight.ts';

export const HEADER_WORDS = 24;
const DTYPE_MODE: Record<Nf4Dtype, number> = { F32: 0, BF16: 1, F16: 2 };

export interface Nf4GpuLayout {
  codes: number;
  scales: number;
  nestedAbsmax: number;
  nestedMap: number;
  /** Total words. */
  words: number;
}

/** Word offsets of each section for a weight of `numel` elements. */
export function nf4GpuLayout(numel: number, nested: boolean): Nf4GpuLayout {
  const { bytes, blocks } = nf4Sizes(numel);
  const codes = HEADER_WORDS;
  const scales = codes + Math.ceil(bytes / 4);
  if (!nested) return { codes, scales, nestedAbsmax: 0, nestedMap: 0, words: scales + blocks };
  const nestedAbsmax = scales + Math.ceil(blocks / 4);
  const nestedMap = nestedAbsmax + Math.ceil(blocks / NESTED_BLOCKSIZE);
  return { codes, scales, nestedAbsmax, nestedMap, words: nestedMap + 256 };
}

/** GPU bytes of one quantized weight of `numel` elements (header and map included). */
export function nf4GpuBytes(numel: number, nested: boolean): number {
  return 4 * nf4GpuLayout(numel, nested).words;
}

/** The buffer contents for `w` (see the header comment). */
export function packNf4ForGpu(w: Nf4Weight): Uint32Array<ArrayBuffer> {
  if (w.quantMap.length !== 16 || w.quantMap.some((v, i) => v !== NF4_CODE[i])) {
    throw new Error('packNf4ForGpu: the kernels implement the standard NF4 quant_map only');
  }
  const nested = w.nested !== null;
  const L = nf4GpuLayout(w.numel, nested);
  const words = new Uint32Array(L.words);
  const bytes = new Uint8Array(words.buffer);
  const f32 = new Float32Array(words.buffer);
  words[0] = w.numel;
  words[1] = L.codes;
  words[2] = L.scales;
  words[3] = L.nestedAbsmax;
  words[4] = L.nestedMap;
  words[6] = (nested ? 1 : 0) | (DTYPE_MODE[w.dtype] << 1);
  words[7] = 0;
  f32.set(w.quantMap, 8);
  bytes.set(w.packed, L.codes * 4);
  if (w.nested) {
    f32[5] = w.nested.offset;
    bytes.set(w.nested.codes, L.scales * 4);
    f32.set(w.nested.absmax2, L.nestedAbsmax);
    f32.set(w.nested.code, L.nestedMap);
  } else {
    f32.set(w.absmax!, L.scales);
  }
  return words;
}

/** Average bytes per weight element of an (out, in) weight: what the memory planner counts. */
export function nf4BytesPerParam(outFeatures: number, inFeatures: number, nested = true): number {
  return nf4GpuBytes(outFeatures * inFeatures, nested) / (outFeatures * inFeatures);
}

