import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { scoreHeadBackward, scoreHeadForward, scorePositions } from './scoreHead.ts';
import { scoreHeadBackwardRef, scoreHeadRef } from './scoreHead.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

const PAD = 9;

describe('score head (reward model) on a real adapter', async () => {
  const ctx = await testContext();

  it('scorePositions: the rightmost non-pad token, as transformers pools *ForSequenceClassification', () => {
    const T = 6;
    const ids = [
      [1, 2, 3, PAD, PAD, PAD], // right padding
      [1, 2, PAD, 4, 5, PAD], // a pad-valued token inside the row, then padding
      [1, 2, 3, 4, 5, 6], // full
      [PAD, PAD, PAD, PAD, PAD, PAD], // nothing but padding: 0, like argmax of zeros
      [1, 2, 3, 4, PAD, PAD], // ends in EOS == pad: scored at the token before
    ].flat();
    expect(Array.from(scorePositions(ids, 5, T, PAD))).toEqual([2, 4, 5, 0, 3]);
  });

  // H = 40 (tiny-llama) and 67 are not multiples of the 64/256-wide workgroups.
  for (const [B, T, H] of [
    [3, 7, 40],
    [5, 4, 67],
  ] as const) {
    it(`B=${B}, T=${T}, H=${H}: rewards, dHidden and dWeight (accumulated) match float64`, async () => {
      const hidden = Float64Array.from(toF32(randomArray(B * T * H, B + T + H)));
      const w = Float64Array.from(toF32(randomArray(H, 2, 0.5)));
      const pos = Uint32Array.from({ length: B }, (_, b) => (b * 5 + 3) % T);
      const dRewards = Float64Array.from(toF32(randomArray(B, 3)));
      const args = { hidden: upload(ctx.device, toF32(hidden)), weight: upload(ctx.device, toF32(w)), positions: upload(ctx.device, pos), B, T, H };
      const rewards = createBuffer(ctx.device, B * 4);
      scoreHeadForward(ctx, { ...args, rewards });
      expectClose(await ctx.readF32(rewards, B), scoreHeadRef(hidden, w, pos, B, T, H), { atol: 1e-5, rtol: 1e-5 }, 'rewards');

      const prior = Float64Array.from(toF32(randomArray(H, 4)));
      const dWeight = upload(ctx.device, toF32(prior));
      const dHidden = upload(ctx.device, new Float32Array(B * T * H).fill(123)); // overwritten everywhere
      scoreHeadBackward(ctx, { ...args, dRewards: upload(ctx.device, toF32(dRewards)), dHidden, dWeight, accumulate: true });
      const ref = scoreHeadBackwardRef(hidden, w, pos, dRewards, B, T, H);
      expectClose(await ctx.readF32(dHidden, B * T * H), ref.dHidden, { atol: 1e-6, rtol: 1e-5 }, 'dHidden');
      expectClose(await ctx.readF32(dWeight, H), ref.dWeight.map((g, h) => g + prior[h]), { atol: 1e-5, rtol: 1e-5 }, 'dWeight (accumulated)');
      scoreHeadBackward(ctx, { ...args, dRewards: upload(ctx.device, toF32(dRewards)), dHidden, dWeight, accumulate: false });
      expectClose(await ctx.readF32(dWeight, H), ref.dWeight, { atol: 1e-5, rtol: 1e-5 }, 'dWeight (overwritten)');
    });
  }

  it('the reference backward matches finite differences', () => {
    const [B, T, H] = [2, 3, 5];
    const hidden = randomArray(B * T * H, 5);
    const w = randomArray(H, 6);
    const pos = [2, 0];
    const d = randomArray(B, 7);
    const ref = scoreHeadBackwardRef(hidden, w, pos, d, B, T, H);
    expectClose(finiteDifference((x) => dotWith(scoreHeadRef(x, w, pos, B, T, H), d), hidden), ref.dHidden, { atol: 1e-8, rtol: 1e-6 }, 'dHidden');
    expectClose(finiteDifference((x) => dotWith(scoreHeadRef(hidden, x, pos, B, T, H), d), w), ref.dWeight, { atol: 1e-8, rtol: 1e-6 }, 'dWeight');
  });
});
