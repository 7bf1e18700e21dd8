// Float64 references of the preference losses in wgsl/preferenceLosses.wgsl, written the way TRL
// writes them (orpo_trainer.py odds_ratio_loss, cpo_trainer.py cpo_loss "simpo", kto_trainer.py
// kto_loss, reward_trainer.py compute_loss), one pair or row at a time. Gradients are taken by
// finite differences of these in the tests.

export const logsigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log(1 - e^x), x < 0 (TRL: torch.log1p(-torch.exp(x))). */
export const log1mexp = (x: number): number => (x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x)));

export interface OrpoPair {
  /** -beta·logsigmoid(lo): this pair's share of the odds-ratio part (the loss adds the NLL). */
  term: number;
  /** log odds ratio lo = (lc - lr) - (log1mexp(lc) - log1mexp(lr)) (TRL's log_odds_chosen is its mean). */
  logOdds: number;
  /** logsigmoid(lo) (TRL's log_odds_ratio metric is its mean). */
  ratio: number;
  lc: number;
  lr: number;
}

/** One ORPO pair from summed completion log-probs s and token counts n (TRL averages them). */
export function orpoPairRef(sc: number, nc: number, sr: number, nr: number, beta: number): OrpoPair {
  const lc = sc / nc;
  const lr = sr / nr;
  const logOdds = lc - lr - (log1mexp(lc) - log1mexp(lr));
  const ratio = logsigmoid(logOdds);
  return { term: -beta * ratio, logOdds, ratio, lc, lr };
}

export interface SimpoHyper {
  beta: number;
  simpoGamma: number;
  labelSmoothing: number;
}

/** One SimPO pair: z = (lc - lr) - gamma/beta on length-averaged log-probs; term as TRL's cpo_loss. */
export function simpoPairRef(sc: number, nc: number, sr: number, nr: number, h: SimpoHyper): { term: number; z: number; lc: number; lr: number } {
  const lc = sc / nc;
  const lr = sr / nr;
  const z = lc - lr - h.simpoGamma / h.beta;
  const e = h.labelSmoothing;
  return { term: -logsigmoid(h.beta * z) * (1 - e) - logsigmoid(-h.beta * z) * e, z, lc, lr };
}

/** KTO's KL estimate: max(0, mean(policy - reference)) over the mismatched rows of a batch. */
export function ktoKlRef(klPolicy: ArrayLike<number>, klReference: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < klPolicy.length; i++) total += klPolicy[i] - klReference[i];
  return Math.max(0, total / Math.max(klPolicy.length, 1));
}

export interface KtoHyper {
  beta: number;
  desirableWeight: number;
  undesirableWeight: number;
}

/** One KTO row's weighted loss term (the loss is the mean over all rows of the batch). */
export function ktoRowRef(policy: number, reference: number, desirable: boolean, kl: number, h: KtoHyper): number {
  const r = policy - reference;
  return desirable ? h.desirableWeight * (1 - sigmoid(h.beta * (r - kl))) : h.undesirableWeight * (1 - sigmoid(h.beta * (kl - r)));
}

/** One reward-model pair: -logsigmoid(rc - rr) + c·(rc + rr)^2 (the loss is the mean over pairs). */
export function rewardPairRef(rc: number, rr: number, centerRewardsCoefficient: number): number {
  return -logsigmoid(rc - rr) + centerRewardsCoefficient * (rc + rr) ** 2;
}
