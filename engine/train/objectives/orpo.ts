// ORPO (TRL's ORPOTrainer): loss = NLL of the whole chosen sequences (prompt and answer, a token
// mean) - beta * mean(logsigmoid(log_odds)), log_odds = (lc - lr) - (log1mexp(lc) - log1mexp(lr))
// on length-averaged completion log-probs; no reference model (referenceFree.ts: one forward per
// sequence). Pairs are tokenized as TRL's ORPO does (BOS / EOS added where missing; data/methodData.ts).
import type { PreferenceExample } from '../../data/examples.ts';
import { orpoLoss } from '../../ops/preferenceLosses.ts';
import type { ObjectiveDefinition } from './objective.ts';
import { mean, pairRewardMetrics, ReferenceFreeObjective } from './referenceFree.ts';

/** log(sigmoid(x)), stable for large |x|. */
const logsigmoid = (x: number): number => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

export const orpo: ObjectiveDefinition<PreferenceExample> = {
  sequencesPerExample: 2,
  create: (run) => {
    const beta = run.recipe.beta;
    return new ReferenceFreeObjective(run, {
      wholeRows: true,
      nllWeight: 1,
      loss: (ctx, a) => orpoLoss(ctx, { ...a, beta }),
      metrics: (v) => {
        const logOdds = v.pair.map((r) => r[3]);
        return {
          loss: v.nll + mean(v.pair.map((r) => r[0])),
          nll_loss: v.nll,
          log_odds_ratio: mean(logOdds.map(logsigmoid)),
          log_odds_chosen: mean(logOdds),
          ...pairRewardMetrics(v),
        };
      },
    });
  },
};
