// Plain-language explanations of the run charts, shown on hover or tap. They answer the two most
// asked DPO questions ("why is my loss 0.693?", "why are my rewards negative?") where the
// numbers appear. Metric names are TRL's.
import type { Method } from '../../engine/api/contract.ts';

const DPO: Record<string, string> = {
  Loss:
    'DPO loss is −log σ(margin), averaged over the pairs of a batch; the margin is how much more the tuned model prefers the chosen answer over the rejected one than the base model did (rewards/margins). ' +
    'Every DPO run starts at ln 2 = 0.693: a fresh adapter adds nothing yet (LoRA starts with B = 0), so the tuned model is the base model, the margin is 0, σ(0) = ½ and −ln ½ = 0.693. ' +
    'It falls as the model takes on your preferences. Near 0 on a few dozen pairs, it has learnt these pairs by heart: check the answers, not only the number.',
  Rewards:
    'rewards/chosen is β × (log-probability of the chosen answer under the tuned model − under the base model): above 0, the tuned model likes the chosen answer more than the base model did. ' +
    'rewards/rejected is the same for the rejected answer, and rewards/margins = chosen − rejected, the gap DPO widens. All three start at 0. ' +
    'Rewards often go negative, the chosen one included: DPO only asks for a wider margin, and the easiest way there is to make both answers less likely than before, the rejected one faster. A negative rewards/chosen with a growing margin is normal.',
  'Reward accuracy':
    'rewards/accuracies is the share of pairs in a batch where rewards/chosen > rewards/rejected: where the model now prefers your chosen answer by more than the base model did. ' +
    'It starts at 0 (on the first step every reward is exactly 0, and a tie does not count) and climbs towards 1 as the model learns the pairs.',
};

const SFT: Record<string, string> = {
  Loss:
    'SFT loss is the average cross-entropy over the trained tokens (the answers; the mask inspector shows which): how surprised the model is by each of them. ' +
    'Lower means the dataset\u2019s answers have become more likely; exp(loss) is the perplexity. A loss far below the start on a small dataset means it is being memorised.',
};

const COMMON: Record<string, string> = {
  'Learning rate':
    'learning_rate: how large each update of the adapter is, over the run as the schedule (lr_scheduler_type) sets it — linear falls to 0 at the last step, cosine eases down, constant stays.',
  'Grad norm':
    'grad_norm: the size of the gradient before clipping (max_grad_norm, 1.0 by default, caps it). Spikes are batches that pushed hard; a steady fall means the adapter is settling.',
};

/** The explanation of a chart (by its title) for a run of `method`, or null. */
export function chartExplanation(title: string, method: Method): string | null {
  return (method === 'dpo' ? DPO : SFT)[title] ?? COMMON[title] ?? null;
}
