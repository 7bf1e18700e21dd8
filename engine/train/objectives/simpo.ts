// SimPO (TRL's CPOTrainer with loss_type "simpo"): logits = lc - lr - simpo_gamma / beta on
// length-averaged completion log-probs, loss = -logsigmoid(beta * logits) (label_smoothing as TRL)
// + cpo_alpha * the chosen completions' NLL (0 = pure SimPO: TRL then skips it and logs 0); no
// reference model (referenceFree.ts: one forward per sequence). Pairs are tokenized as TRL's CPO
// does (BOS / EOS added where missing; data/methodData.ts). rewards = beta * averaged log-probs.
import type { PreferenceExample } from '../../data/examples.ts';
import { simpoLoss } from '../../ops/preferenceLosses.ts';
import type { ObjectiveDefinition } from './objective.ts';
import { mean, pairRewardMetrics, ReferenceFreeObjective } from './referenceFree.ts';

export const simpo: ObjectiveDefinition<PreferenceExample> = {
  sequencesPerExample: 2,
  create: (run) => {
    const { beta, simpo_gamma: simpoGamma, label_smoothing: labelSmoothing, cpo_alpha: alpha } = run.recipe;
    return new ReferenceFreeObjective(run, {
      wholeRows: false,
      nllWeight: alpha,
      loss: (ctx, a) => simpoLoss(ctx, { ...a, beta, simpoGamma, labelSmoothing }),
      metrics: (v) => {
        const nll = alpha > 0 ? v.nll : 0;
        return { loss: mean(v.pair.map((r) => r[0])) + alpha * nll, nll_loss: nll, ...pairRewardMetrics(v) };
      },
    });
  },
};
