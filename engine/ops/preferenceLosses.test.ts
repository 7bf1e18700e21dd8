// The ORPO / SimPO / KTO / reward loss kernels on a real adapter against their float64 references
// (gradients by central finite differences of the references), and the references against the
// PyTorch goldens of scripts/reference/methods_reference.py (per-row values -> TRL's metrics).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { ktoKl, ktoLoss, orpoLoss, rewardLoss, simpoLoss } from './preferenceLosses.ts';
import { ktoKlRef, ktoRowRef, orpoPairRef, rewardPairRef, simpoPairRef } from './preferenceLosses.ref.ts';
import { expectClose, finiteDifference, rng, toF64 } from './testing.ts';

const P = 5; // not a multiple of the 64-wide workgroup
const LOSS_TOL = { atol: 1e-5, rtol: 1e-4 };
const GRAD_TOL = { atol: 1e-6, rtol: 1e-3 };
const col = (a: Float32Array, c: number, n: number) => Array.from({ length: n }, (_, i) => a[i * 4 + c]);

/** 2P completion token counts and summed log-probs whose averages span (-9, 0), including near 0 and ln 2. */
function pairedLogprobs(seed: number): { sums: Float32Array; counts: Float32Array } {
  const r = rng(seed);
  const averages = [-1e-3, -0.69, -0.7, -2.5, -8.9, -0.05, -1.3, -4.2, -0.2, -6];
  const counts = Float32Array.from({ length: 2 * P }, () => 1 + Math.floor(r() * 30));
  const sums = Float32Array.from(counts, (n, i) => averages[i] * n);
  return { sums, counts };
}

/** d_scale · d(term_i)/d(sums) for every pair term, by central differences of a float64 reference. */
function pairGrads(sums: Float32Array, term: (s: Float64Array, i: number) => number, dScale: number): Float64Array {
  const x = toF64(sums);
  const grad = new Float64Array(2 * P);
  for (let i = 0; i < P; i++) {
    const g = finiteDifference((s) => term(s, i), x, [i, P + i], 1e-6 * Math.max(1, Math.abs(x[i])));
    grad[i] = g[0] * dScale;
    grad[P + i] = g[1] * dScale;
  }
  return grad;
}

describe('preference loss kernels on a real adapter', async () => {
  const ctx = await testContext();
  const out = () => ({ pair: createBuffer(ctx.device, P * 16), logps: createBuffer(ctx.device, 2 * P * 4), dSums: createBuffer(ctx.device, 2 * P * 4) });

  it('ORPO: odds-ratio terms, rewards, log odds, averaged log-probs and d/dsums match float64', async () => {
    const { sums, counts } = pairedLogprobs(1);
    const beta = 0.1;
    const dScale = 1 / 3;
    const o = out();
    orpoLoss(ctx, { sums: upload(ctx.device, sums), counts: upload(ctx.device, counts), ...o, P, beta, dScale });
    const pair = await ctx.readF32(o.pair, 4 * P);
    const ref = Array.from({ length: P }, (_, i) => orpoPairRef(sums[i], counts[i], sums[P + i], counts[P + i], beta));
    expectClose(col(pair, 0, P), ref.map((x) => x.term), LOSS_TOL, 'term');
    expectClose(col(pair, 1, P), ref.map((x) => beta * x.lc), LOSS_TOL, 'rewards/chosen');
    expectClose(col(pair, 2, P), ref.map((x) => beta * x.lr), LOSS_TOL, 'rewards/rejected');
    expectClose(col(pair, 3, P), ref.map((x) => x.logOdds), LOSS_TOL, 'log odds');
    expectClose(await ctx.readF32(o.logps, 2 * P), [...ref.map((x) => x.lc), ...ref.map((x) => x.lr)], LOSS_TOL, 'logps');
    const want = pairGrads(sums, (s, i) => orpoPairRef(s[i], counts[i], s[P + i], counts[P + i], beta).term, dScale);
    expectClose(await ctx.readF32(o.dSums, 2 * P), want, GRAD_TOL, 'd/dsums');
  });

  for (const labelSmoothing of [0, 0.1]) {
    it(`SimPO (label_smoothing ${labelSmoothing}): terms, rewards, logits and d/dsums match float64`, async () => {
      const { sums, counts } = pairedLogprobs(2);
      const h = { beta: 2, simpoGamma: 0.5, labelSmoothing };
      const o = out();
      simpoLoss(ctx, { sums: upload(ctx.device, sums), counts: upload(ctx.device, counts), ...o, P, ...h, dScale: 0.5 });
      const pair = await ctx.readF32(o.pair, 4 * P);
      const ref = Array.from({ length: P }, (_, i) => simpoPairRef(sums[i], counts[i], sums[P + i], counts[P + i], h));
      expectClose(col(pair, 0, P), ref.map((x) => x.term), LOSS_TOL, 'term');
      expectClose(col(pair, 1, P), ref.map((x) => h.beta * x.lc), LOSS_TOL, 'rewards/chosen');
      expectClose(col(pair, 3, P), ref.map((x) => x.z), LOSS_TOL, 'logits');
      const want = pairGrads(sums, (s, i) => simpoPairRef(s[i], counts[i], s[P + i], counts[P + i], h).term, 0.5);
      expectClose(await ctx.readF32(o.dSums, 2 * P), want, GRAD_TOL, 'd/dsums');
    });
  }

  // Mean KL positive (used), then negative (clamped to 0) with every row desirable.
  for (const [name, labels, klShift] of [
    ['mixed labels, KL > 0', [1, 0, 1, 1, 0, 0, 1], 2.5],
    ['all desirable, KL clamped to 0', [1, 1, 1, 1, 1, 1, 1], -2.5],
  ] as const) {
    it(`KTO (${name}): KL, weighted terms, rewards and d/dpolicy match float64`, async () => {
      const n = labels.length;
      const r = rng(3);
      const policy = Float32Array.from({ length: n }, () => -40 - 30 * r());
      const reference = Float32Array.from(policy, (x) => x + 8 * (r() - 0.5));
      const klReference = Float32Array.from({ length: n }, () => -50 - 30 * r());
      const klPolicy = Float32Array.from(klReference, (x) => x + klShift + 2 * (r() - 0.5));
      const h = { beta: 0.1, desirableWeight: 0.8, undesirableWeight: 1.3 };
      const kl = createBuffer(ctx.device, 4);
      const rows = createBuffer(ctx.device, n * 16);
      const dPolicy = createBuffer(ctx.device, n * 4);
      ktoKl(ctx, { klPolicy: upload(ctx.device, klPolicy), klReference: upload(ctx.device, klReference), kl, n });
      ktoLoss(ctx, { policy: upload(ctx.device, policy), reference: upload(ctx.device, reference), labels: upload(ctx.device, Uint32Array.from(labels)), kl, rows, dPolicy, n, ...h, dScale: 1 / n });
      const klRef = ktoKlRef(klPolicy, klReference);
      expect(klRef > 0).toBe(klShift > 0);
      expectClose(await ctx.readF32(kl, 1), [klRef], LOSS_TOL, 'kl');
      const got = await ctx.readF32(rows, 4 * n);
      const terms = labels.map((l, i) => ktoRowRef(policy[i], reference[i], l === 1, klRef, h));
      expectClose(col(got, 0, n), terms, LOSS_TOL, 'terms');
      expectClose(col(got, 1, n), labels.map((_, i) => h.beta * (policy[i] - reference[i])), LOSS_TOL, 'rewards');
      expectClose(col(got, 3, n), labels, { atol: 0, rtol: 0 }, 'labels');
      // The KL is a constant of the gradient (TRL computes it under no_grad).
      const want = finiteDifference((x) => labels.reduce<number>((s, l, i) => s + ktoRowRef(x[i], reference[i], l === 1, klRef, h), 0) / n, toF64(policy), undefined, 1e-4);
      expectClose(await ctx.readF32(dPolicy, n), want, GRAD_TOL, 'd/dpolicy');
    });
  }

  for (const center of [0, 0.01]) {
    it(`reward (center_rewards_coefficient ${center}): Bradley-Terry terms and d/drewards match float64`, async () => {
      const r = rng(4);
      const rewards = Float32Array.from({ length: 2 * P }, () => 6 * (r() - 0.5));
      const pair = createBuffer(ctx.device, P * 16);
      const dRewards = createBuffer(ctx.device, 2 * P * 4);
      rewardLoss(ctx, { rewards: upload(ctx.device, rewards), pair, dRewards, P, centerRewardsCoefficient: center, dScale: 1 / P });
      const got = await ctx.readF32(pair, 4 * P);
      expectClose(col(got, 0, P), Array.from({ length: P }, (_, i) => rewardPairRef(rewards[i], rewards[P + i], center)), LOSS_TOL, 'terms');
      expectClose(col(got, 3, P), Array.from({ length: P }, (_, i) => rewards[i] - rewards[P + i]), LOSS_TOL, 'margins');
      const want = pairGrads(rewards, (s, i) => rewardPairRef(s[i], s[P + i], center), 1 / P);
      expectClose(await ctx.readF32(dRewards, 2 * P), want, GRAD_TOL, 'd/drewards');
    });
  }
});

// ---- the float64 references against PyTorch (methods_reference.py), no GPU ----

const golden = (name: string) => JSON.parse(readFileSync(new URL(`../train/fixtures/${name}_goldens.json`, import.meta.url), 'utf8'));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const GOLDEN_TOL = { atol: 1e-9, rtol: 1e-9 };

function expectMetrics(got: Record<string, number>, want: Record<string, number>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const k of Object.keys(want)) expectClose([got[k]], [want[k]], GOLDEN_TOL, k);
}

describe('preference loss references reproduce the PyTorch goldens (TRL metric names)', () => {
  it('ORPO: loss = NLL of the chosen sequences + mean odds-ratio term; log odds and every metric', () => {
    const g = golden('orpo');
    const { chosen: nc, rejected: nr } = g.completion_tokens as { chosen: number[]; rejected: number[] };
    const { chosen: lc, rejected: lr } = g.logps_length_averaged as { chosen: number[]; rejected: number[] };
    const pairs = lc.map((_, i) => orpoPairRef(lc[i] * nc[i], nc[i], lr[i] * nr[i], nr[i], g.beta));
    expectClose(pairs.map((p) => p.logOdds), g.log_odds, GOLDEN_TOL, 'log odds');
    const rc = pairs.map((p) => g.beta * p.lc);
    const rr = pairs.map((p) => g.beta * p.lr);
    expectMetrics(
      {
        loss: g.metrics.nll_loss + mean(pairs.map((p) => p.term)),
        nll_loss: g.metrics.nll_loss,
        log_odds_ratio: mean(pairs.map((p) => p.ratio)),
        log_odds_chosen: mean(pairs.map((p) => p.logOdds)),
        'rewards/chosen': mean(rc),
        'rewards/rejected': mean(rr),
        'rewards/accuracies': mean(rc.map((c, i) => (c > rr[i] ? 1 : 0))),
        'rewards/margins': mean(rc.map((c, i) => c - rr[i])),
        'logps/chosen': mean(lc),
        'logps/rejected': mean(lr),
      },
      g.metrics,
    );
  });

  it('SimPO: loss = mean term + cpo_alpha · NLL of the chosen completions (with and without smoothing)', () => {
    const g = golden('simpo');
    for (const v of Object.values(g.variants) as Record<string, never>[]) {
      const { chosen: lc, rejected: lr } = v['logps_length_averaged'] as { chosen: number[]; rejected: number[] };
      const h = { beta: v['beta'], simpoGamma: v['simpo_gamma'], labelSmoothing: v['label_smoothing'] };
      const terms = lc.map((_, i) => simpoPairRef(lc[i], 1, lr[i], 1, h));
      expectClose(terms.map((t) => t.term), v['loss_per_pair'], GOLDEN_TOL, 'loss per pair');
      expectClose(terms.map((t) => t.z), v['logits'], GOLDEN_TOL, 'logits');
      const m = v['metrics'] as Record<string, number>;
      expectClose([mean(terms.map((t) => t.term)) + v['cpo_alpha'] * m['nll_loss']], [m['loss']], GOLDEN_TOL, 'loss');
    }
  });

  it('KTO: KL from the rotated pairs (clamped), weighted row terms, loss as the mean over rows, metrics', () => {
    const g = golden('kto');
    for (const b of Object.values(g.batches) as Record<string, never>[]) {
      const kl = ktoKlRef(b['kl_policy_logps'], b['kl_reference_logps']);
      const rows = b['rows'] as { label: boolean }[];
      const pol = b['policy_logps'] as number[];
      const ref = b['reference_logps'] as number[];
      const h = { beta: g.beta, desirableWeight: b['desirable_weight'], undesirableWeight: b['undesirable_weight'] };
      const terms = rows.map((r, i) => ktoRowRef(pol[i], ref[i], r.label, kl, h));
      expectClose(terms, b['loss_per_row'], GOLDEN_TOL, 'loss per row');
      const chosen = rows.flatMap((r, i) => (r.label ? [i] : []));
      const rejected = rows.flatMap((r, i) => (r.label ? [] : [i]));
      const m: Record<string, number> = { loss: mean(terms), kl };
      const reward = (i: number) => g.beta * (pol[i] - ref[i]);
      if (chosen.length) Object.assign(m, { 'rewards/chosen': mean(chosen.map(reward)), 'logps/chosen': mean(chosen.map((i) => pol[i])) });
      if (rejected.length) Object.assign(m, { 'rewards/rejected': mean(rejected.map(reward)), 'logps/rejected': mean(rejected.map((i) => pol[i])) });
      if (chosen.length && rejected.length) m['rewards/margins'] = m['rewards/chosen'] - m['rewards/rejected'];
      expectMetrics(m, b['metrics']);
    }
  });

  it('reward: Bradley-Terry loss with centering, accuracy, margin, min/mean/max_reward', () => {
    const g = golden('reward');
    const { chosen: rc, rejected: rr } = g.rewards as { chosen: number[]; rejected: number[] };
    const all = [...rc, ...rr];
    expectClose([mean(rc.map((c, i) => rewardPairRef(c, rr[i], 0)))], [g.loss_without_centering], GOLDEN_TOL, 'loss without centering');
    expectMetrics(
      {
        loss: mean(rc.map((c, i) => rewardPairRef(c, rr[i], g.center_rewards_coefficient))),
        accuracy: mean(rc.map((c, i) => (c > rr[i] ? 1 : 0))),
        margin: mean(rc.map((c, i) => c - rr[i])),
        min_reward: Math.min(...all),
        mean_reward: mean(all),
        max_reward: Math.max(...all),
      },
      g.metrics,
    );
  });
});
