// How kernels read their operands: one small WGSL function per operand slot, generated here and
// put in the kernel's preamble, so matmul.wgsl (and embedding.wgsl) hold only the tiling and never
// the storage format. This is the extension point for new weight formats.
//
// For a slot X (a, b, a2, b2 of the matmul; table of the embedding) the preamble declares X's
// bindings and defines
//   fn X_load(z: u32, r: u32, c: u32) -> f32         element (row r, column c) of batch item z's
//                                                     storage matrix, as f32
//   fn X_load4(z: u32, r: u32, c: u32) -> vec4<f32>  columns c .. c+3 (c a multiple of 4)
// with the flat element index i = X_off + z * X_batch + r * X_ld + c from the kernel's Params.
//
// The tile loaders call X_load4 only when the launcher's vec4 check passed (then the slot is
// generated with `vec4`); X_load is always available.
// Kinds:
//   f32      array<f32>.
//   f16      packed pairs in array<u32> (element 2w in the low half of word w), unpack2x16float:
//            2 bytes per weight without the shader-f16 feature.
//   bf16     packed pairs, widened by a 16-bit shift: a BF16 checkpoint keeps its exact values.
//   dropout  f32 times the dropout mask of (seed of item z, r * X_ld + c) (dropoutHash.wgsl): the
//            LoRA input drop(x) without materialising it; every item z has its own mask.
//   lora_bd  the virtual block-diagonal matrix (rows: out features of a fused group, columns:
//            S·r) built from the group's stacked LoRA B rows; see LoraSegments in matmul.ts.
//   split2   a (rows, ld) matrix stored as two buffers: columns [0, split) in X, the rest in X_hi
//            (gate and up halves of the fused MLP projection).
//
//   nf4      a frozen 4-bit weight group (QLoRA): bitsandbytes NF4 codes and block scales of 1 to 3
//            members concatenated along rows, one self-describing array<u32> (quant/gpuLayout.ts),
//            dequantized per element by nf4Weight.wgsl exactly as dequantize_4bit; ~0.52 bytes per
//            weight. One whole weight (offset 0, not batched), one nf4 slot per kernel.
//
// Adding a format: add a kind here whose X_load decodes element i; give X_load4 the same meaning
// for 4 consecutive elements (or four X_load calls). Nothing in matmul.wgsl changes.
import nf4Fetch from '../wgsl/nf4Weight.wgsl?raw';

export type StorageKind = 'f32' | 'f16' | 'bf16';
export type OperandKind = StorageKind | 'dropout' | 'lora_bd' | 'split2' | 'nf4';

/** Bytes one element takes in a buffer of this storage kind. */
export function elementBytes(kind: StorageKind): number {
  return kind === 'f32' ? 4 : 2;
}

/** Kinds whose storage is a plain strided matrix (offset, ld, batch stride apply). */
export function isStrided(kind: OperandKind): boolean {
  return kind === 'f32' || kind === 'f16' || kind === 'bf16' || kind === 'dropout';
}

export interface OperandSlot {
  /** Slot name; the kernel's Params must have `${name}_off`, `${name}_ld` (and `${name}_batch` when batched). */
  name: string;
  kind: OperandKind;
  binding: number;
  /** split2: binding of the high columns. */
  hiBinding?: number;
  /** Whether the slot has a batch stride field (a, b: yes; a2, b2: no). */
  batched: boolean;
}

/**
 * WGSL declarations and the X_load / X_load4 functions of one slot. With `vec4` the storage is
 * declared once as vec4-wide words (X_v4) and both functions read it (one declaration per binding
 * in a module: WGSL forbids two variables at one binding in the same entry point); without, as
 * scalars, and X_load4 is four scalar loads.
 */
export function operandWgsl(s: OperandSlot, vec4 = false): string {
  const X = s.name;
  const at = `@group(0) @binding(${s.binding}) var<storage, read>`;
  const index = `p.${X}_off${s.batched ? ` + z * p.${X}_batch` : ''} + r * p.${X}_ld + c`;
  const unused = s.batched ? '' : '  _ = z;\n';
  const scalar4 = `fn ${X}_load4(z: u32, r: u32, c: u32) -> vec4<f32> {
  return vec4<f32>(${X}_load(z, r, c), ${X}_load(z, r, c + 1u), ${X}_load(z, r, c + 2u), ${X}_load(z, r, c + 3u));
}
`;
  switch (s.kind) {
    case 'f32':
      if (!vec4) return `${at} ${X}: array<f32>;\nfn ${X}_load(z: u32, r: u32, c: u32) -> f32 {\n${unused}  return ${X}[${index}];\n}\n${scalar4}`;
      return `${at} ${X}_v4: array<vec4<f32>>;
fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
${unused}  let i = ${index};
  return ${X}_v4[i / 4u][i % 4u];
}
fn ${X}_load4(z: u32, r: u32, c: u32) -> vec4<f32> {
${unused}  return ${X}_v4[(${index}) / 4u];
}
`;
    case 'f16':
    case 'bf16': {
      const half = (w: string) => (s.kind === 'f16' ? `unpack2x16float(${w})[i & 1u]` : `bitcast<f32>(select(${w} << 16u, ${w} & 0xffff0000u, (i & 1u) == 1u))`);
      const four =
        s.kind === 'f16'
          ? 'vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y))'
          : 'vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u))';
      if (!vec4) return `${at} ${X}: array<u32>;\nfn ${X}_load(z: u32, r: u32, c: u32) -> f32 {\n${unused}  let i = ${index};\n  return ${half(`${X}[i >> 1u]`)};\n}\n${scalar4}`;
      return `${at} ${X}_v4: array<vec2<u32>>;
fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
${unused}  let i = ${index};
  let word = ${X}_v4[i >> 2u][(i >> 1u) & 1u];
  return ${half('word')};
}
fn ${X}_load4(z: u32, r: u32, c: u32) -> vec4<f32> {
${unused}  let w = ${X}_v4[(${index}) / 4u];
  return ${four};
}
`;
    }
    case 'dropout':
      return `${at} ${X}: array<f32>;
fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
  let seed = dropout_seed(p.drop_seed, z);
  return ${X}[${index}] * dropout_keep_scale(seed, p.drop_threshold, p.drop_scale, r * p.${X}_ld + c);
}
${scalar4}`;
    case 'lora_bd':
      return `${at} ${X}: array<f32>;
fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
  _ = z;
  let s = seg_of(r);
  let blk = seg_blk(s);
  if (blk == NO_BLOCK || c / p.seg_r != blk) { return 0.0; }
  return ${X}[p.${X}_off + (r - seg_start(s) + seg_base(s)) * p.seg_r + c % p.seg_r];
}
${scalar4}`;
    case 'nf4':
      // The binding is named nf4_buf (what nf4Weight.wgsl reads), so one slot per kernel may be nf4.
      return `${at} nf4_buf: array<u32>;
${nf4Fetch}
fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
${unused}  return nf4_load(${index});
}
fn ${X}_load4(z: u32, r: u32, c: u32) -> vec4<f32> {
${unused}  return nf4_load4(${index});
}
`;
    case 'split2': {
      const hi = `@group(0) @binding(${s.hiBinding}) var<storage, read>`;
      const lo = (i: string) => (vec4 ? `${X}_v4[(${i}) / 4u][(${i}) % 4u]` : `${X}[${i}]`);
      const up = (i: string) => (vec4 ? `${X}_hi_v4[(${i}) / 4u][(${i}) % 4u]` : `${X}_hi[${i}]`);
      const decl = vec4 ? `${at} ${X}_v4: array<vec4<f32>>;\n${hi} ${X}_hi_v4: array<vec4<f32>>;\n` : `${at} ${X}: array<f32>;\n${hi} ${X}_hi: array<f32>;\n`;
      const load4 = vec4
        ? `fn ${X}_load4(z: u32, r: u32, c: u32) -> vec4<f32> {
  _ = z;
  if (c < p.split) { return ${X}_v4[(r * p.split + c) / 4u]; }
  return ${X}_hi_v4[(r * (p.${X}_ld - p.split) + c - p.split) / 4u];
}
`
        : scalar4;
      return `${decl}fn ${X}_load(z: u32, r: u32, c: u32) -> f32 {
  _ = z;
  if (c < p.split) { return ${lo(`r * p.split + c`)}; }
  return ${up(`r * (p.${X}_ld - p.split) + c - p.split`)};
}
${load4}`;
    }
  }
}

/**
 * Helpers of the lora_bd kind: which of up to 3 row segments a row falls in, where it starts, the
 * LoRA block it uses (NO_BLOCK: a module without LoRA) and its first row in the stacked B rows.
 */
export const SEGMENT_WGSL = `const NO_BLOCK: u32 = 0xffffffffu;
fn seg_of(r: u32) -> u32 { return select(select(2u, 1u, r < p.seg_end1), 0u, r < p.seg_end0); }
fn seg_start(s: u32) -> u32 { return select(select(p.seg_end1, p.seg_end0, s == 1u), 0u, s == 0u); }
fn seg_blk(s: u32) -> u32 { return select(select(p.seg_blk2, p.seg_blk1, s == 1u), p.seg_blk0, s == 0u); }
fn seg_base(s: u32) -> u32 { return select(select(p.seg_base2, p.seg_base1, s == 1u), p.seg_base0, s == 0u); }
fn seg_end(s: u32) -> u32 { return select(select(p.seg_end2, p.seg_end1, s == 1u), p.seg_end0, s == 0u); }
`;
