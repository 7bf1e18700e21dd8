// Float64 reference of the DPO losses (TRL dpo_trainer.py dpo_loss) for one pair.
import type { DpoLossType } from './dpoLoss.ts';

const logsigmoid = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

/** Loss of one pair from policy/reference summed log-probs of chosen (c) and rejected (r). */
export function dpoLossRef(pc: number, pr: number, rc: number, rr: number, beta: number, type: DpoLossType, eps = 0): number {
  const z = pc - pr - (rc - rr);
  switch (type) {
    case 'ipo':
      return (z - 1 / (2 * beta)) ** 2;
    case 'hinge':
      return Math.max(0, 1 - beta * z);
    case 'robust':
      return (-logsigmoid(beta * z) * (1 - eps) + logsigmoid(-beta * z) * eps) / (1 - 2 * eps);
    default:
      return -logsigmoid(beta * z) * (1 - eps) - logsigmoid(-beta * z) * eps;
  }
}
