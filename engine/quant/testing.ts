// Test-only helpers shared by the quantization tests: the goldens of
// scripts/reference/nf4_reference.py and the deterministic inputs they were made from.
import { readFileSync } from 'node:fs';
import { f32ToBf16, f32ToF16 } from '../io/dtype.ts';
import { roundToDtype, type Nf4Dtype } from './nf4.ts';

export interface GoldenTensor {
  name: string;
  shape: number[];
  dtype: Nf4Dtype;
  input: { synth?: [number, number]; f32_hex?: string };
  packed_hex: string;
  absmax: number[];
  nested: { offset: number; codes_hex: string; absmax2: number[]; absmax_dequantized: number[] };
  dequantized_hex: string;
  dequantized_no_double_quant_hex: string | null;
}

export interface Nf4Golden {
  dynamic_map: number[];
  nf4_thresholds_f32: number[];
  tensors: GoldenTensor[];
  eval_loss: Record<string, Record<'double_quant' | 'no_double_quant', { base: number; lora: number; num_loss_tokens: number }>>;
}

export const NF4_FIXTURES = 'engine/quant/fixtures';

export function loadNf4Golden(): Nf4Golden {
  return JSON.parse(readFileSync(`${NF4_FIXTURES}/nf4_golden.json`, 'utf8')) as Nf4Golden;
}

/**
 * nf4_reference.py synth(): an LCG (x = x * 1664525 + 1013904223 mod 2^32), u = (x >> 8) / 2^24,
 * v = (u - 0.5) * (1 + (i * 7 mod 13) / 16) * 2^-((i / 64) mod 5) * 2^scaleExp, rounded to f32
 * (every step exact in doubles, so both languages get the same bits).
 */
export function synth(n: number, seed: number, scaleExp: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (((s * 1664525) % 2 ** 32) + 1013904223) % 2 ** 32;
    const u = Math.floor(s / 256) / 2 ** 24;
    out[i] = (u - 0.5) * (1 + ((i * 7) % 13) / 16) * 2 ** -(Math.floor(i / 64) % 5) * 2 ** scaleExp;
  }
  return out;
}

/** The golden tensor's input: the checkpoint values of its dtype, as f32. */
export function goldenInput(t: GoldenTensor): Float32Array {
  if (t.input.f32_hex) return new Float32Array(hexBytes(t.input.f32_hex).buffer);
  const [seed, e] = t.input.synth!;
  const x = synth(t.shape.reduce((p, d) => p * d, 1), seed, e);
  return x.map((v) => roundToDtype(v, t.dtype));
}

export function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesHex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
}

/** Little-endian bit patterns of `values` in `dtype` (f32 values that are exact in that dtype), as hex. */
export function dtypeHex(values: Float32Array, dtype: Nf4Dtype): string {
  if (dtype === 'F32') return bytesHex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  const bits = dtype === 'BF16' ? f32ToBf16(values) : f32ToF16(values);
  values.forEach((v, i) => {
    if (roundToDtype(v, dtype) !== v && !Number.isNaN(v)) throw new Error(`dtypeHex: element ${i} (${v}) is not a ${dtype} value`);
  });
  return bytesHex(new Uint8Array(bits.buffer));
}
