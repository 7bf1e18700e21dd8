// A fused group of NF4 weights (1 to 3 nn.Linears sharing an input, e.g. q|k|v) as one GPU buffer
// of u32 words, read by engine/wgsl/nf4Weight.wgsl as the matmul's `nf4` operand kind
// (ops/operands.ts). Each member keeps its own bitsandbytes quantization (its own 64-element
// blocks over its own flattened (out_i, in) weight, its own double-quant offset and nested scales),
// exactly as transformers quantizes each nn.Linear: concatenating the members along out never
// moves a block boundary, because a member's blocks are indexed from its own first element.
// Everything a kernel needs is in the buffer (one binding, no extra uniforms):
//   word 0        S, the number of members (1 to 3)
//   word 1        flags: bit 0 double-quantized; bits 1-2 the dtype a dequantized value is rounded
//                 to (0 f32, 1 bf16, 2 f16: dequantize_4bit returns the weight's own dtype)
//   word 2        0 (reserved)
//   word 3        0 (the kernel ORs it into a product so the compiler cannot fuse code·absmax2 +
//                 offset into one fma: bitsandbytes rounds twice)
//   words 4-19    quant_map: the 16 NF4 values (f32)
//   words 20 + 6s .. 25 + 6s, member s < 3 (unused members: end = 0xffffffff):
//     +0 end      first element past member s in the flattened concatenated (sum of outs, in) matrix
//     +1 codes    word offset of its packed codes: ceil(n / 2) bytes in bitsandbytes' order (element
//                 e in byte e >> 1, the high nibble when e is even), little-endian in the words
//     +2 scales   word offset of its block scales: double-quantized -> one u8 code per 64-element
//                 block, 4 per word (block i in byte i & 3); plain -> one f32 per block
//     +3 nested   word offset of nested_absmax (f32 per 256 blocks; 0 when plain)
//     +4 map      word offset of nested_quant_map (256 f32; 0 when plain; shared when equal)
//     +5 offset   nested_offset (f32 bits)
// Sections start at multiples of 4 words. Bytes per weight element with double quantization:
// 0.5 (codes) + 1/64 (block codes) + 4/16384 (nested scales) = 0.5159, plus a 160-byte header and
// a 1 KiB map per group.
import { NF4_CODE, nf4Sizes, type Nf4Dtype } from './nf4.ts';
import { NESTED_BLOCKSIZE } from './dynamicMap.ts';
import type { Nf4Weight } from './nf4Weight.ts';

export const HEADER_WORDS = 40;
export const MAX_MEMBERS = 3;
const MEMBER_WORDS = 6;
const DTYPE_MODE: Record<Nf4Dtype, number> = { F32: 0, BF16: 1, F16: 2 };
const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** Words of one member's sections (codes, scales, nested scales), without the shared map. */
function memberWords(numel: number, nested: boolean): number {
  const { bytes, blocks } = nf4Sizes(numel);
  const codes = align4(Math.ceil(bytes / 4));
  if (!nested) return codes + align4(blocks);
  return codes + align4(Math.ceil(blocks / 4)) + align4(Math.ceil(blocks / NESTED_BLOCKSIZE));
}

/**
 * GPU bytes of a group of quantized weights with these element counts (one per member), header and
 * nested map included: what the memory planner counts.
 */
export function nf4GroupBytes(numels: readonly number[], nested: boolean): number {
  const words = HEADER_WORDS + numels.reduce((s, n) => s + memberWords(n, nested), 0) + (nested ? 256 : 0);
  return 4 * words;
}

/** GPU bytes of one quantized weight of `numel` elements as a group of its own. */
export function nf4GpuBytes(numel: number, nested: boolean): number {
  return nf4GroupBytes([numel], nested);
}

/** Average bytes per weight element of an (out, in) weight as a group of its own. */
export function nf4BytesPerParam(outFeatures: number, inFeatures: number, nested = true): number {
  return nf4GpuBytes(outFeatures * inFeatures, nested) / (outFeatures * inFeatures);
}

/** Distinct nested maps of the members (equal maps shared), and each member's map index (-1: plain). */
function nestedMaps(members: readonly Nf4Weight[]): { maps: Float32Array[]; of: number[] } {
  const maps: Float32Array[] = [];
  const of = members.map((w) => {
    if (!w.nested) return -1;
    const code = w.nested.code;
    const i = maps.findIndex((m) => m.length === code.length && m.every((v, j) => Object.is(v, code[j])));
    if (i >= 0) return i;
    maps.push(code);
    return maps.length - 1;
  });
  return { maps, of };
}

/**
 * The buffer contents for the members of a group (in output order). They must share their dtype,
 * their double quantization and their row width; each keeps its own blocks and scales.
 */
export function packNf4Group(members: readonly Nf4Weight[]): Uint32Array<ArrayBuffer> {
  if (members.length < 1 || members.length > MAX_MEMBERS) throw new RangeError(`an NF4 group has 1 to ${MAX_MEMBERS} members, got ${members.length}`);
  const first = members[0];
  const nested = first.nested !== null;
  for (const w of members) {
    if (w.quantMap.length !== 16 || w.quantMap.some((v, i) => v !== NF4_CODE[i])) throw new Error('packNf4Group: the kernels implement the standard NF4 quant_map only');
    if (w.dtype !== first.dtype || (w.nested !== null) !== nested) throw new Error('packNf4Group: members differ in dtype or double quantization');
    if (w.shape.length !== 2 || w.shape[1] !== first.shape[1]) throw new Error(`packNf4Group: members must be 2-D weights of one row width, got [${w.shape}] beside [${first.shape}]`);
  }
  const { maps, of } = nestedMaps(members);
  // nf4GroupBytes counts one map; distinct maps beyond it (rare) are appended.
  const total = nf4GroupBytes(members.map((w) => w.numel), nested) / 4 + 256 * Math.max(0, maps.length - 1);
  const words = new Uint32Array(total);
  const bytes = new Uint8Array(words.buffer);
  const f32 = new Float32Array(words.buffer);
  words[0] = members.length;
  words[1] = (nested ? 1 : 0) | (DTYPE_MODE[first.dtype] << 1);
  f32.set(NF4_CODE, 4);
  for (let s = 0; s < MAX_MEMBERS; s++) words[20 + MEMBER_WORDS * s] = 0xffffffff;
  let at = HEADER_WORDS;
  let end = 0;
  const mapAt: number[] = [];
  members.forEach((w, s) => {
    const h = 20 + MEMBER_WORDS * s;
    const { bytes: codeBytes, blocks } = nf4Sizes(w.numel);
    end += w.numel;
    words[h] = end;
    words[h + 1] = at;
    bytes.set(w.packed.subarray(0, codeBytes), at * 4);
    at += align4(Math.ceil(codeBytes / 4));
    words[h + 2] = at;
    if (!w.nested) {
      f32.set(w.absmax!, at);
      at += align4(blocks);
      return;
    }
    bytes.set(w.nested.codes, at * 4);
    at += align4(Math.ceil(blocks / 4));
    words[h + 3] = at;
    f32.set(w.nested.absmax2, at);
    at += align4(Math.ceil(blocks / NESTED_BLOCKSIZE));
    f32[h + 5] = w.nested.offset;
  });
  maps.forEach((m) => {
    mapAt.push(at);
    f32.set(m, at);
    at += 256;
  });
  of.forEach((i, s) => {
    if (i >= 0) words[20 + MEMBER_WORDS * s + 4] = mapAt[i];
  });
  return words;
}
