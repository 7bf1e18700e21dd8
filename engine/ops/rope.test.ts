import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext } from '../gpu/context.ts';
import { WhetstoneError } from '../errors.ts';
import { testContext } from '../gpu/testing.ts';
import golden from './rope.golden.json';
import { ropeAttentionScaling, ropeBackward, ropeForward, ropeInvFreq, ropeQKBackward, ropeQKForward } from './rope.ts';
import { defaultInvFreqRef, llama3InvFreqRef, ropeBackwardRef, ropeForwardRef, ropeQKForwardRef } from './rope.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

// f32 rotation of f32 inputs: a few ulps of |x| per output.
const TOL = { atol: 2e-6, rtol: 2e-6 };
const gold = golden.inv_freq as Record<string, number[]>;

async function check(ctx: GpuContext, tokens: number, nHeads: number, headDim: number, positions: number[], invFreq: Float32Array, seed: number): Promise<void> {
  const n = tokens * nHeads * headDim;
  const x = Float64Array.from(toF32(randomArray(n, seed)));
  const dy = Float64Array.from(toF32(randomArray(n, seed + 1)));
  const gx = upload(ctx.device, toF32(x));
  const gdy = upload(ctx.device, toF32(dy));
  const gpos = upload(ctx.device, Uint32Array.from(positions));
  const ginv = upload(ctx.device, invFreq);
  const args = { positions: gpos, invFreq: ginv, tokens, nHeads, headDim };
  ropeForward(ctx, { ...args, x: gx });
  ropeBackward(ctx, { ...args, x: gdy });
  const tag = `tokens=${tokens} heads=${nHeads} headDim=${headDim}`;
  expectClose(await ctx.readF32(gx, n), ropeForwardRef(x, positions, invFreq, tokens, nHeads, headDim), TOL, `forward ${tag}`);
  expectClose(await ctx.readF32(gdy, n), ropeBackwardRef(dy, positions, invFreq, tokens, nHeads, headDim), TOL, `backward ${tag}`);
  for (const b of [gx, gdy, gpos, ginv]) b.destroy();
}

describe('rope on a real adapter', () => {
  for (const tokens of [1, 3, 7]) {
    for (const [nHeads, headDim] of [[1, 2], [3, 6], [2, 10]]) {
      it(`forward + backward match float64, tokens=${tokens} heads=${nHeads} headDim=${headDim}`, async () => {
        const ctx = await testContext();
        const positions = Array.from({ length: tokens }, (_, t) => 3 * t + 1);
        await check(ctx, tokens, nHeads, headDim, positions, ropeInvFreq(headDim, 10000), tokens * 100 + headDim);
      });
    }
  }

  // SmolLM2: 9 heads (q) / 3 heads (k) x headDim 64, positions 0..N and far out to ~8000.
  const far = [0, 1, 2, 3, 17, 100, 511, 1000, 2047, 4095, 7777, 7999, 8000, 8191];
  for (const theta of [1e4, 1e6]) {
    it(`SmolLM2 shapes (9 and 3 heads x 64) at positions up to 8191, theta=${theta}`, async () => {
      const ctx = await testContext();
      const inv = ropeInvFreq(64, theta);
      await check(ctx, far.length, 9, 64, far, inv, 31);
      await check(ctx, 20, 3, 64, Array.from({ length: 20 }, (_, t) => t), inv, 32);
    });
  }

  it('llama3-scaled frequencies at long positions (~100k), Qwen3 headDim 128', async () => {
    const ctx = await testContext();
    const inv = ropeInvFreq(128, 500000, { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
    await check(ctx, 4, 2, 128, [0, 8192, 65535, 131071], inv, 33);
  });

  it('q and k heads of fused q|k|v rows in one dispatch, with the KV-cache sink at position 5 (3 + 1 heads x 6, odd row tail)', async () => {
    const ctx = await testContext();
    const a = { tokens: 3, nHeads: 3, nKvHeads: 1, headDim: 6, stride: 3 * 6 + 2 * 6 + 1, qOffset: 0, kOffset: 18, vOffset: 24 };
    const n = a.tokens * a.stride;
    const x = Float64Array.from(toF32(randomArray(n, 51)));
    const positions = [5, 6, 7];
    const inv = ropeInvFreq(6, 1e4);
    const kd = a.nKvHeads * a.headDim;
    const maxT = 9;
    const cache0 = Float64Array.from(toF32(randomArray(maxT * kd, 52)));
    const gx = upload(ctx.device, toF32(x));
    const k = upload(ctx.device, toF32(cache0));
    const v = upload(ctx.device, toF32(cache0));
    const args = { ...a, positions: upload(ctx.device, Uint32Array.from(positions)), invFreq: upload(ctx.device, inv) };
    ropeQKForward(ctx, { ...args, x: gx, cache: { k, v, vOffset: a.vOffset, position: 5 } });
    const want = ropeQKForwardRef(x, positions, inv, a);
    expectClose(await ctx.readF32(gx, n), want.x, TOL, 'rows');
    // Cache rows 5..7 hold this call's k and v; the rest is untouched.
    const cacheWant = (rows: Float64Array) => Float64Array.from(cache0, (c, i) => (i >= 5 * kd && i < 8 * kd ? rows[i - 5 * kd] : c));
    expectClose(await ctx.readF32(k, maxT * kd), cacheWant(want.k), TOL, 'k cache');
    expectClose(await ctx.readF32(v, maxT * kd), cacheWant(want.v), { atol: 0, rtol: 0 }, 'v cache');
    // The backward on gradient rows undoes the forward on the q and k heads (and leaves v alone).
    ropeQKBackward(ctx, { ...args, x: gx });
    expectClose(await ctx.readF32(gx, n), x, { atol: 1e-6, rtol: 1e-6 }, 'backward undoes forward');
  });

  it('forward then backward is the identity (rotations are orthogonal)', async () => {
    const ctx = await testContext();
    const [tokens, nHeads, headDim] = [5, 9, 64];
    const n = tokens * nHeads * headDim;
    const x = toF32(randomArray(n, 41));
    const gx = upload(ctx.device, x);
    const args = { x: gx, positions: upload(ctx.device, Uint32Array.from([0, 5, 300, 4000, 8100])), invFreq: upload(ctx.device, ropeInvFreq(64, 1e4)), tokens, nHeads, headDim };
    ropeForward(ctx, args);
    ropeBackward(ctx, args);
    expectClose(await ctx.readF32(gx, n), x, { atol: 1e-6, rtol: 1e-6 }, 'x');
  });

  it('pairs wrap into a 2-D grid past the per-dimension workgroup limit', async () => {
    const real = await testContext();
    const ctx = new GpuContext(real.device, { ...real.caps, maxComputeWorkgroupsPerDimension: 3 });
    // 7 * 9 * 32 = 2016 pairs = 8 workgroups of 256 on a 3-wide grid.
    await check(ctx, 7, 9, 64, [0, 1, 2, 3, 9, 70, 8000], ropeInvFreq(64, 1e4), 42);
  });

  it('the reference backward matches finite differences', () => {
    const [tokens, nHeads, headDim] = [2, 3, 6];
    const positions = [7, 8000];
    const inv = ropeInvFreq(headDim, 1e4);
    const x = randomArray(tokens * nHeads * headDim, 51);
    const w = randomArray(tokens * nHeads * headDim, 52);
    const numeric = finiteDifference((v) => dotWith(ropeForwardRef(v, positions, inv, tokens, nHeads, headDim), w), x);
    expectClose(numeric, ropeBackwardRef(w, positions, inv, tokens, nHeads, headDim), { atol: 1e-7, rtol: 1e-6 }, 'dL/dx');
  });
});

describe('ropeInvFreq', () => {
  it('matches PyTorch f32 (HF default formula) to the last bit or one ulp, and float64 to f32 precision', () => {
    for (const [key, headDim, theta] of [['default theta=1e4 d=64', 64, 1e4], ['default theta=1e6 d=128', 128, 1e6]] as const) {
      const got = ropeInvFreq(headDim, theta);
      expectClose(got, gold[key], { atol: 0, rtol: 1.2e-7 }, key);
      expectClose(got, defaultInvFreqRef(headDim, theta), { atol: 0, rtol: 2e-7 }, `${key} vs float64`);
    }
  });

  it('linear scaling divides by factor (rope_type or legacy type)', () => {
    expectClose(ropeInvFreq(64, 1e4, { rope_type: 'linear', factor: 4 }), gold['linear factor=4 theta=1e4 d=64'], { atol: 0, rtol: 1.2e-7 }, 'linear');
    expectClose(ropeInvFreq(64, 1e4, { type: 'linear', factor: 4 }), gold['linear factor=4 theta=1e4 d=64'], { atol: 0, rtol: 1.2e-7 }, 'legacy type');
  });

  it('llama3 scaling matches PyTorch (HF formula) and the float64 formula written out', () => {
    const cases = [
      ['llama3 theta=5e5 d=64 factor=32', 64, 32],
      ['llama3 theta=5e5 d=128 factor=8', 128, 8],
    ] as const;
    for (const [key, headDim, factor] of cases) {
      const scaling = { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
      const got = ropeInvFreq(headDim, 500000, scaling);
      expectClose(got, gold[key], { atol: 0, rtol: 1.2e-7 }, `${key} vs torch`);
      expectClose(got, llama3InvFreqRef(defaultInvFreqRef(headDim, 500000), factor, 1, 4, 8192), { atol: 0, rtol: 5e-7 }, `${key} vs float64`);
      // The three bands are all present: unscaled high frequencies, divided low ones, smoothed middle.
      const base = ropeInvFreq(headDim, 500000);
      expect(got[0]).toBe(base[0]);
      expect(got[headDim / 2 - 1]).toBeCloseTo(base[headDim / 2 - 1] / factor, 12);
      expect(got.some((v, i) => v < base[i] && v > base[i] / factor)).toBe(true);
    }
  });

  it('takes rope_scaling as parsed from config.json (Llama-3.2-1B), and rope_type "default"', () => {
    const config = JSON.parse('{"rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}}') as Record<string, Record<string, unknown>>;
    expect(Array.from(ropeInvFreq(64, 500000, config.rope_scaling))).toEqual(gold['llama3 theta=5e5 d=64 factor=32']);
    expect(ropeInvFreq(64, 1e4, { rope_type: 'default', rope_theta: 1e4 })).toEqual(ropeInvFreq(64, 1e4));
    expect(() => ropeInvFreq(64, 1e4, { rope_type: 'linear', factor: '2' })).toThrow(/factor/);
  });

  it('attention scaling is 1 for these types; unsupported types throw a typed error', () => {
    expect(ropeAttentionScaling(null)).toBe(1);
    expect(ropeAttentionScaling({ rope_type: 'llama3', factor: 8 })).toBe(1);
    expect(ropeAttentionScaling({ type: 'linear', factor: 2 })).toBe(1);
    expect(() => ropeInvFreq(64, 1e4, { rope_type: 'yarn', factor: 4 })).toThrow(WhetstoneError);
    expect(() => ropeAttentionScaling({ rope_type: 'dynamic', factor: 4 })).toThrow(WhetstoneError);
    expect(() => ropeInvFreq(64, 1e4, { rope_type: 'llama3', factor: 8 })).toThrow(/low_freq_factor/);
  });
});
