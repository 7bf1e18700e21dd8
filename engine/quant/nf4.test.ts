// The NF4 quantizer against the goldens of scripts/reference/nf4_reference.py (bitsandbytes'
// algorithm re-implemented in torch float32): codes, absmax, nested values and dequantized weights
// must be bit-identical.
import { describe, expect, it } from 'vitest';
import { createDynamicMap, dQuantize, dynamicMap, torchLinspaceF32 } from './dynamicMap.ts';
import { dequantizeNestedAbsmax, doubleQuantize } from './doubleQuant.ts';
import { NF4_CODE, NF4_THRESHOLDS, nf4Code, quantizeNf4 } from './nf4.ts';
import { blockScales, dequantizeWeight, quantizeWeight, quantizeWeightStreamed } from './nf4Weight.ts';
import { bytesHex, dtypeHex, goldenInput, loadNf4Golden } from './testing.ts';

const golden = loadNf4Golden();

describe('NF4 quantization (bitsandbytes-exact)', () => {
  it('builds the dynamic map exactly (256 sorted f32 values) and the NF4 thresholds', () => {
    const map = createDynamicMap();
    expect(Array.from(map)).toEqual(golden.dynamic_map);
    expect(map.length).toBe(256);
    expect(map[0]).toBeCloseTo(-0.99297, 4);
    expect(map[255]).toBe(1);
    expect(Array.from(NF4_THRESHOLDS)).toEqual(golden.nf4_thresholds_f32);
    // torch's scalar path is start + step·i from each end: both ends are exact.
    const ls = torchLinspaceF32(0.1, 1, 65);
    expect([ls[0], ls[64]]).toEqual([Math.fround(0.1), 1]);
  });

  it('nf4Code is the nearest NF4 value, with a value exactly on a threshold going to the lower code', () => {
    for (let i = 0; i < 15; i++) {
      const t = NF4_THRESHOLDS[i];
      expect(nf4Code(t)).toBe(i);
      expect(nf4Code(Math.fround(t + Math.abs(t) * 2 ** -20 + 2 ** -40))).toBe(i + 1);
    }
    expect(nf4Code(NaN)).toBe(0);
    expect(nf4Code(2)).toBe(15);
    expect(nf4Code(-2)).toBe(0);
    const notNearest: number[] = [];
    for (let k = 0; k <= 2000; k++) {
      const x = Math.fround(-1 + k / 1000 + 1e-7);
      const dist = (c: number) => Math.abs(x - NF4_CODE[c]);
      const c = nf4Code(x);
      for (let j = 0; j < 16; j++) if (dist(c) > dist(j) + 1e-7) notNearest.push(x);
    }
    expect(notNearest).toEqual([]);
  });

  it('dQuantize finds the nearest dynamic-map code, and code 0 for NaN', () => {
    const map = dynamicMap();
    const notNearest: number[] = [];
    for (let k = 0; k <= 4000; k++) {
      const x = Math.fround(-1 + k / 2000);
      const q = dQuantize(map, x);
      let best = 0;
      for (let j = 1; j < 256; j++) if (Math.abs(map[j] - x) < Math.abs(map[best] - x)) best = j;
      if (Math.abs(map[q] - x) > Math.abs(map[best] - x) + 1e-7) notNearest.push(x);
    }
    expect(notNearest).toEqual([]);
    expect(dQuantize(map, NaN)).toBe(0);
    expect(dQuantize(map, 1)).toBe(255);
  });

  for (const t of golden.tensors) {
    it(`${t.name}: codes, absmax, nested values and dequantized weights equal the reference`, () => {
      const x = goldenInput(t);
      const plain = quantizeWeight(x, t.shape, t.dtype, { doubleQuant: false });
      expect(bytesHex(plain.packed)).toBe(t.packed_hex);
      expect(Array.from(plain.absmax!)).toEqual(t.absmax);
      if (t.dequantized_no_double_quant_hex) expect(dtypeHex(dequantizeWeight(plain), t.dtype)).toBe(t.dequantized_no_double_quant_hex);

      const dq = quantizeWeight(x, t.shape, t.dtype, { doubleQuant: true });
      expect(bytesHex(dq.packed)).toBe(t.packed_hex);
      expect(dq.nested!.offset).toBe(t.nested.offset);
      expect(bytesHex(dq.nested!.codes)).toBe(t.nested.codes_hex);
      expect(Array.from(dq.nested!.absmax2)).toEqual(t.nested.absmax2);
      expect(Array.from(blockScales(dq))).toEqual(t.nested.absmax_dequantized);
      expect(dtypeHex(dequantizeWeight(dq), t.dtype)).toBe(t.dequantized_hex);
    });
  }

  it('streams: chunks of a few blocks give the same result as the whole tensor', async () => {
    const t = golden.tensors.find((g) => g.name === 'rows_130x131_bf16')!;
    const x = goldenInput(t);
    const reads: number[] = [];
    const w = await quantizeWeightStreamed(
      async (start, count) => {
        reads.push(count);
        return x.slice(start, start + count);
      },
      t.shape,
      t.dtype,
      { doubleQuant: true },
      64 * 7,
    );
    expect(Math.max(...reads)).toBe(64 * 7);
    expect(bytesHex(w.packed)).toBe(t.packed_hex);
    expect(bytesHex(w.nested!.codes)).toBe(t.nested.codes_hex);
    expect(dtypeHex(dequantizeWeight(w, 1000, 5000), t.dtype)).toBe(t.dequantized_hex.slice(4000, 24000));
  });

  it('double quantization: 1 byte per block, absmax within half a code step of the original', () => {
    const x = goldenInput(golden.tensors.find((g) => g.name === 'rows_130x131_bf16')!);
    const { absmax } = quantizeNf4(x);
    const n = doubleQuantize(absmax);
    expect(n.codes.length).toBe(absmax.length);
    expect(n.absmax2.length).toBe(2);
    const back = dequantizeNestedAbsmax(n);
    const worst = Math.max(...Array.from(absmax, (a, i) => Math.abs(back[i] - a) / n.absmax2[Math.floor(i / 256)]));
    expect(worst).toBeLessThan(0.0075); // half the widest gap of the dynamic map (near ±1: 0.0141)
  });
});
