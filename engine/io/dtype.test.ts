import { describe, expect, it } from 'vitest';
import { bf16ToF32, bytesToF32, f16BitsToNumber, f16ToF32, f32ToBf16, f32ToBytes, f32ToF16 } from './dtype.ts';

const f16 = (xs: number[]) => Array.from(f32ToF16(new Float32Array(xs)));
const bf16 = (xs: number[]) => Array.from(f32ToBf16(new Float32Array(xs)));

describe('F16 <-> F32', () => {
  it('decodes known bit patterns', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0x8000, 0x7c00, 0xfc00];
    const want = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, -0, Infinity, -Infinity];
    const got = Array.from(f16ToF32(new Uint16Array(bits)));
    expect(got).toEqual(want);
    expect(Object.is(got[7], -0)).toBe(true);
    expect(Number.isNaN(f16ToF32(new Uint16Array([0x7e00]))[0])).toBe(true);
  });

  it('encodes with round-to-nearest-even, overflow to Inf and subnormals', () => {
    expect(f16([1, -2, 65504, 0.1, -0])).toEqual([0x3c00, 0xc000, 0x7bff, 0x2e66, 0x8000]);
    // Overflow: 65519 is below the halfway point to 65536 (65520), 65520 ties and rounds to Inf.
    expect(f16([65519, 65520, 1e6, -1e6, Infinity])).toEqual([0x7bff, 0x7c00, 0x7c00, 0xfc00, 0x7c00]);
    // Ties at 1.0: 1+2^-11 is halfway between 0x3c00 and 0x3c01 -> even (0x3c00); 1+3*2^-11 -> 0x3c02.
    expect(f16([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20])).toEqual([0x3c00, 0x3c02, 0x3c01]);
    // Subnormals: 2^-24 is the smallest; 2^-25 ties to 0 (even); 1.5*2^-25 -> 1; 3*2^-25 ties to 2.
    expect(f16([2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 3 * 2 ** -25, 2 ** -26, 1023 * 2 ** -24])).toEqual([1, 0, 1, 2, 0, 0x03ff]);
    // Just below the smallest normal, halfway between 0x03ff and 0x0400 -> 0x0400 (even).
    expect(f16([2 ** -14 * (1 - 2 ** -11)])).toEqual([0x0400]);
    const nan = f16([NaN])[0];
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x03ff).not.toBe(0);
  });

  it('round-trips every finite f16 bit pattern and keeps NaN', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) expect(Number.isNaN(f16BitsToNumber(back[h]))).toBe(true);
      else if (back[h] !== h) expect.fail(`0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  it('picks the nearest f16 (ties to even) for random floats', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const xs = new Float32Array(20000).map(() => (rand() - 0.5) * 2 ** Math.floor(rand() * 44 - 28));
    const hs = f32ToF16(xs);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const h = hs[i];
      const d = Math.abs(x - f16BitsToNumber(h));
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) > 0x7bff || (n & 0x8000) !== (h & 0x8000)) continue;
        const dn = Math.abs(x - f16BitsToNumber(n));
        if (dn < d || (dn === d && (h & 1) === 1)) expect.fail(`x=${x}: got 0x${h.toString(16)}, 0x${n.toString(16)} is nearer or even`);
      }
    }
  });
});

describe('BF16 <-> F32', () => {
  it('decodes known bit patterns', () => {
    expect(Array.from(bf16ToF32(new Uint16Array([0x3f80, 0xc049, 0x0001, 0x7f80, 0xff80, 0x8000])))).toEqual([
      1, -3.140625, 2 ** -133, Infinity, -Infinity, -0,
    ]);
  });

  it('encodes with round-to-nearest-even', () => {
    expect(bf16([1, -2, Math.PI, 0])).toEqual([0x3f80, 0xc000, 0x4049, 0]);
    expect(bf16([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20])).toEqual([0x3f80, 0x3f82, 0x3f81]);
    // f32 max is past the last bf16 halfway point: rounds to Inf (as PyTorch does).
    expect(bf16([3.4028234663852886e38, -3.4028234663852886e38])).toEqual([0x7f80, 0xff80]);
    const nan = bf16([NaN])[0];
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
  });

  it('round-trips every non-NaN bf16 bit pattern', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToBf16(bf16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      const isNan = (h & 0x7f80) === 0x7f80 && h & 0x7f;
      if (isNan) expect(Number.isNaN(bf16ToF32(new Uint16Array([back[h]]))[0])).toBe(true);
      else if (back[h] !== h) expect.fail(`0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });
});

describe('bytesToF32 / f32ToBytes', () => {
  const values = new Float32Array([1, -2.5, 0.15625, 65504, -0.0009765625, 3]);

  for (const dtype of ['F32', 'F16', 'BF16', 'F64'] as const) {
    it(`round-trips ${dtype}, aligned and at an odd byte offset`, () => {
      const bytes = f32ToBytes(values, dtype);
      expect(bytes.byteLength).toBe(values.length * { F32: 4, F16: 2, BF16: 2, F64: 8 }[dtype]);
      const want = dtype === 'BF16' ? bf16ToF32(f32ToBf16(values)) : values;
      expect(Array.from(bytesToF32(bytes, dtype))).toEqual(Array.from(want));
      const shifted = new Uint8Array(bytes.byteLength + 1);
      shifted.set(bytes, 1);
      expect(Array.from(bytesToF32(shifted.subarray(1), dtype))).toEqual(Array.from(want));
    });
  }

  it('converts an unaligned tensor larger than one chunk into a caller-given array', () => {
    const n = (1 << 20) * 2 + 7; // more than two 1M-element scratch chunks
    const src = new Uint16Array(n).map((_, i) => (0x3f80 + (i % 97)) & 0xffff);
    const raw = new Uint8Array(n * 2 + 1);
    raw.set(new Uint8Array(src.buffer), 1);
    const out = new Float32Array(n + 4);
    bytesToF32(raw.subarray(1), 'BF16', out.subarray(2, 2 + n));
    const want = bf16ToF32(src);
    expect(out[0]).toBe(0);
    expect(out[n + 2]).toBe(0);
    for (const i of [0, 1, 96, 1 << 20, (1 << 20) + 1, n - 1]) expect(out[2 + i]).toBe(want[i]);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (out[2 + i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('rejects a byte count that is not a whole number of elements', () => {
    expect(() => bytesToF32(new Uint8Array(3), 'F16')).toThrow(/whole number/);
  });
});
