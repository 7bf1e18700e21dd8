// ORPO, SimPO (CPO loss_type "simpo"), KTO and Bradley-Terry reward losses on the GPU, each fused
// with its gradient w.r.t. its per-row inputs (summed completion log-probs, or rewards), so a step
// needs no readback between forward and backward. Formulas: wgsl/preferenceLosses.wgsl; float64
// references: preferenceLosses.ref.ts. Every `d*` output is d_scale · d(term)/d(input).
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/preferenceLosses.wgsl?raw';

const SOURCE: KernelSource = { name: 'preferenceLosses', code };
const WG = 64;

interface Hyper {
  beta?: number;
  simpoGamma?: number;
  labelSmoothing?: number;
  desirableWeight?: number;
  undesirableWeight?: number;
  centerRewardsCoefficient?: number;
  dScale: number;
}

function params(n: number, h: Hyper): Params {
  return new Params().u32({ n }).f32({
    beta: h.beta ?? 0,
    simpo_gamma: h.simpoGamma ?? 0,
    label_smoothing: h.labelSmoothing ?? 0,
    desirable_weight: h.desirableWeight ?? 0,
    undesirable_weight: h.undesirableWeight ?? 0,
    center_coefficient: h.centerRewardsCoefficient ?? 0,
    d_scale: h.dScale,
  });
}

/** Inputs shared by ORPO and SimPO: P pairs as 2P rows [chosen..., rejected...]. */
export interface PairedLogprobArgs {
  sums: Binding; // (2P) f32 summed completion log-probs
  counts: Binding; // (2P) f32 completion token counts (> 0)
  pair: Binding; // (P, 4) f32 out, see each op
  logps: Binding; // (2P) f32 out: sums / counts (TRL's logps/* metrics)
  dSums: Binding; // (2P) f32 out: dScale · dterm/dsums
  P: number;
  beta: number;
  dScale: number;
}

/**
 * TRL ORPOTrainer.odds_ratio_loss on length-averaged log-probs l = sums / counts:
 * pair (P, 4) = [-beta·logsigmoid(lo), beta·lc, beta·lr, lo], lo = (lc - lr) - (log1mexp(lc) - log1mexp(lr)).
 * The ORPO loss is the chosen sequences' NLL plus the mean of column 0.
 */
export function orpoLoss(ctx: GpuContext, a: PairedLogprobArgs): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'orpo_loss_forward' }, [a.sums, a.counts, a.pair, a.dSums, a.logps], params(a.P, a), [Math.ceil(a.P / WG)]);
}

/**
 * TRL CPOTrainer.cpo_loss, loss_type "simpo", on length-averaged log-probs: z = (lc - lr) - gamma/beta,
 * pair (P, 4) = [-logsig(beta z)(1 - e) - logsig(-beta z) e, beta·lc, beta·lr, z]. The SimPO loss is
 * the mean of column 0 plus cpo_alpha times the chosen completions' NLL.
 */
export function simpoLoss(ctx: GpuContext, a: PairedLogprobArgs & { simpoGamma: number; labelSmoothing: number }): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'simpo_loss_forward' }, [a.sums, a.counts, a.pair, a.dSums, a.logps], params(a.P, a), [Math.ceil(a.P / WG)]);
}

/**
 * KTO's KL estimate of a batch (TRL KTOTrainer.kto_loss): kl (1) f32 = max(0, mean(klPolicy - klReference))
 * over the n mismatched (prompt i, completion i-1) rows; it gets no gradient.
 */
export function ktoKl(ctx: GpuContext, a: { klPolicy: Binding; klReference: Binding; kl: Binding; n: number }): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'kto_kl_forward' }, [null, null, null, null, null, null, null, a.kl, a.klPolicy, a.klReference], params(a.n, { dScale: 0 }), [1]);
}

export interface KtoLossArgs {
  policy: Binding; // (n) f32 summed completion log-probs, adapter on
  reference: Binding; // (n) f32 same, adapter off
  labels: Binding; // (n) u32: 1 desirable (label true), 0 undesirable
  kl: Binding; // (1) f32 from ktoKl
  rows: Binding; // (n, 4) f32 out: [term, beta·(policy - reference), policy, label]
  dPolicy: Binding; // (n) f32 out: dScale · dterm/dpolicy
  n: number;
  beta: number;
  desirableWeight: number;
  undesirableWeight: number;
  dScale: number;
}

/** TRL KTOTrainer.kto_loss (loss_type "kto"): the loss is the mean of column 0 over all rows. */
export function ktoLoss(ctx: GpuContext, a: KtoLossArgs): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'kto_loss_forward' }, [a.policy, null, a.rows, a.dPolicy, null, a.reference, a.labels, a.kl], params(a.n, a), [Math.ceil(a.n / WG)]);
}

export interface RewardLossArgs {
  rewards: Binding; // (2P) f32 score-head outputs [chosen..., rejected...]
  pair: Binding; // (P, 4) f32 out: [term, rc, rr, rc - rr]
  dRewards: Binding; // (2P) f32 out: dScale · dterm/drewards
  P: number;
  centerRewardsCoefficient: number; // 0 = TRL's None
  dScale: number;
}

/** TRL RewardTrainer.compute_loss: term = -logsigmoid(rc - rr) + c·(rc + rr)^2; the loss is their mean. */
export function rewardLoss(ctx: GpuContext, a: RewardLossArgs): void {
  ctx.dispatch({ source: SOURCE, entryPoint: 'reward_loss_forward' }, [a.rewards, null, a.pair, a.dRewards], params(a.P, a), [Math.ceil(a.P / WG)]);
}
