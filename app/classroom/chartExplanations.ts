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

// Rewards of the reference-free methods are β × the answer's average log-probability (no base model in it).
const PAIR_REWARDS =
  'rewards/chosen is β × the average log-probability of the chosen answer\u2019s tokens under the tuned model (no reference model here), rewards/rejected the same for the rejected answer, ' +
  'and rewards/margins their difference, which training widens. They are negative (log-probabilities are), and rise or fall together.';
const PAIR_ACCURACY = 'rewards/accuracies is the share of pairs in a batch where the chosen answer has the higher reward; it climbs towards 1 as the model learns the pairs.';

const ORPO: Record<string, string> = {
  Loss:
    'ORPO loss = the SFT loss of the chosen answers (nll_loss, prompt included) plus β × −log σ(log odds): it teaches the chosen answers and, in the same step, pushes their odds above the rejected ones\u2019. ' +
    'It starts near the SFT loss of the chosen answers and falls as both parts do.',
  Rewards: PAIR_REWARDS,
  'Reward accuracy': PAIR_ACCURACY,
  'Log odds':
    'log_odds_chosen is log(odds of the chosen answer / odds of the rejected one), from their average token probabilities; log_odds_ratio is the mean log σ of it, the part of the loss β weighs. Both rise as the chosen answers win.',
  'NLL of the chosen answers': 'nll_loss is the SFT part of ORPO: the average cross-entropy over every token of the chosen sequences. It falls as the model learns them.',
};

const SIMPO: Record<string, string> = {
  Loss:
    'SimPO loss is −log σ(β × (average log-probability of the chosen answer − of the rejected one) − γ), averaged over the pairs (plus cpo_alpha × the chosen answers\u2019 SFT loss when set). ' +
    'No reference model: the margin must beat the target γ (simpo_gamma) on its own. It falls towards 0 as the margins grow.',
  Rewards: PAIR_REWARDS,
  'Reward accuracy': PAIR_ACCURACY,
};

const KTO: Record<string, string> = {
  Loss:
    'KTO loss is the mean over the rows of desirable_weight × (1 − σ(β(r − KL))) for thumbs-up rows and undesirable_weight × (1 − σ(β(KL − r))) for thumbs-down rows, r being how much more likely the tuned model makes the answer than the base model. ' +
    'A fresh adapter starts at 0.5 (every r and the KL are 0); the loss falls as good answers gain and bad ones lose probability.',
  Rewards:
    'rewards/chosen is β × r averaged over the thumbs-up rows of a batch, rewards/rejected over the thumbs-down rows, rewards/margins their difference (when a batch has both). The margin grows as the model learns your labels.',
  'KL estimate':
    'kl estimates how far the tuned model has moved from the base model: the mean log-ratio on mismatched prompts and answers (each prompt with another row\u2019s answer), never below 0. The loss measures rewards against it.',
};

const REWARD: Record<string, string> = {
  Loss: 'Reward-model loss is −log σ(r_chosen − r_rejected) averaged over the pairs: low when the model scores the chosen answer higher. A fresh score head starts near ln 2 = 0.693.',
  Accuracy: 'accuracy is the share of pairs in a batch where the chosen answer scores higher than the rejected one.',
  Margin: 'margin is the average of r_chosen − r_rejected over a batch: how clearly the reward model separates the two answers.',
  Rewards: 'min_reward, mean_reward and max_reward of the scores of a batch (chosen and rejected answers together). Rewards have no fixed scale: only differences between answers matter.',
};

const BY_METHOD: Partial<Record<Method, Record<string, string>>> = { dpo: DPO, orpo: ORPO, simpo: SIMPO, kto: KTO, reward: REWARD };

const COMMON: Record<string, string> = {
  'Learning rate':
    'learning_rate: how large each update of the adapter is, over the run as the schedule (lr_scheduler_type) sets it — linear falls to 0 at the last step, cosine eases down, constant stays.',
  'Grad norm':
    'grad_norm: the size of the gradient before clipping (max_grad_norm, 1.0 by default, caps it). Spikes are batches that pushed hard; a steady fall means the adapter is settling.',
};

/** The explanation of a chart (by its title) for a run of `method`, or null. */
export function chartExplanation(title: string, method: Method): string | null {
  return (BY_METHOD[method] ?? SFT)[title] ?? COMMON[title] ?? null;
}
