import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { DPO_LOSS_TYPES } from './dpoLoss.ts';
import { dpoLoss } from './dpoLoss.ts';
import { dpoLossRef } from './dpoLoss.ref.ts';
import { expectClose, randomArray } from './testing.ts';

describe('DPO loss on a real adapter', () => {
  const P = 5;
  const pol = Float32Array.from(randomArray(2 * P, 11, 30)); // summed log-probs of realistic size
  const ref = Float32Array.from(randomArray(2 * P, 12, 30));
  for (const type of DPO_LOSS_TYPES) {
    for (const eps of type === 'sigmoid' || type === 'robust' ? [0, 0.1] : [0]) {
      it(`${type} (label_smoothing ${eps}): loss, rewards and d/dpolicy match float64`, async () => {
        const ctx = await testContext();
        const beta = 0.1;
        const pair = createBuffer(ctx.device, P * 16);
        const dPol = createBuffer(ctx.device, 2 * P * 4);
        dpoLoss(ctx, { policy: upload(ctx.device, pol), reference: upload(ctx.device, ref), pair, dPolicy: dPol, P, beta, lossType: type, labelSmoothing: eps, dScale: 1 / P });
        const got = await ctx.readF32(pair, 4 * P);
        const gotD = await ctx.readF32(dPol, 2 * P);
        const loss = [], rc = [], rr = [], dRef = new Float64Array(2 * P);
        for (let i = 0; i < P; i++) {
          const f = (pc: number, pr: number) => dpoLossRef(pc, pr, ref[i], ref[P + i], beta, type, eps);
          loss.push(f(pol[i], pol[P + i]));
          rc.push(beta * (pol[i] - ref[i]));
          rr.push(beta * (pol[P + i] - ref[P + i]));
          const h = 1e-5;
          dRef[i] = ((f(pol[i] + h, pol[P + i]) - f(pol[i] - h, pol[P + i])) / (2 * h)) / P;
          dRef[P + i] = ((f(pol[i], pol[P + i] + h) - f(pol[i], pol[P + i] - h)) / (2 * h)) / P;
        }
        const col = (c: number) => Array.from({ length: P }, (_, i) => got[i * 4 + c]);
        expectClose(col(0), loss, { atol: 1e-5, rtol: 1e-4 }, 'loss');
        expectClose(col(1), rc, { atol: 1e-5, rtol: 1e-5 }, 'rewards/chosen');
        expectClose(col(2), rr, { atol: 1e-5, rtol: 1e-5 }, 'rewards/rejected');
        // The gradient is checked against finite differences of the float64 reference.
        expectClose(gotD, dRef, { atol: 1e-5, rtol: 1e-3 }, 'dL/dpolicy');
      });
    }
  }

  it('identical policy and reference give ln 2 for sigmoid DPO (a fresh adapter)', async () => {
    const ctx = await testContext();
    const P1 = 3;
    const same = upload(ctx.device, Float32Array.from([-10, -20, -5, -12, -7, -30]));
    const pair = createBuffer(ctx.device, P1 * 16);
    const dPol = createBuffer(ctx.device, 2 * P1 * 4);
    dpoLoss(ctx, { policy: same, reference: same, pair, dPolicy: dPol, P: P1, beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, dScale: 1 });
    const got = await ctx.readF32(pair, 4 * P1);
    for (let i = 0; i < P1; i++) expect(got[i * 4]).toBeCloseTo(Math.LN2, 6);
  });
});
