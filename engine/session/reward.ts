// Using a reward model (an adapter with a score head, PEFT task_type SEQ_CLS), the same for both
// faces: the rewards of whole sequences (`whetstone score`, the reward distribution), and best-of-N
// sampling, i.e. rejection sampling as the open alignment recipes use it: N answers from the
// policy, each scored by the reward model, the best kept.
import { tokenizeRewardSequence } from '../data/rewardRows.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import { WhetstoneError } from '../errors.ts';
import { batchFromRows, uploadBatch } from '../model/batch.ts';
import type { LoraAdapter, ScoreHead } from '../model/loraTypes.ts';
import type { LlamaModel } from '../model/model.ts';
import { scoreHeadForward, scorePositions } from '../ops/scoreHead.ts';
import { chatPrompt, generateText, type GenerationSettings } from './chat.ts';

/** Sampling temperature of best-of-N when none is given (greedy answers would all be the same). */
export const BEST_OF_N_TEMPERATURE = 1;

/** The adapter's score head, or an error saying the adapter is not a reward model. */
export function requireScoreHead(adapter: LoraAdapter | null, what: string): ScoreHead {
  if (adapter?.score) return adapter.score;
  throw new WhetstoneError(
    `${what} is not a reward model: its adapter_config.json has no task_type "SEQ_CLS" with a score head`,
    'Train one with --method reward (or in the studio: Method "Reward model"), and pass its folder.',
  );
}

/** Rewards of whole sequences (prompt + answer token ids), `batchSize` per forward pass. */
export async function scoreSequences(model: LlamaModel, adapter: LoraAdapter, sequences: number[][], padId: number, batchSize = 8): Promise<number[]> {
  const { ctx } = model;
  const score = requireScoreHead(adapter, 'the adapter');
  const H = model.spec.hiddenSize;
  const out: number[] = [];
  for (let i = 0; i < sequences.length; i += batchSize) {
    const rows = sequences.slice(i, i + batchSize).map((ids) => ({ ids, trainMask: new Uint8Array(ids.length) }));
    const batch = uploadBatch(ctx, batchFromRows(rows, padId));
    const hidden = model.forwardHidden(batch, { lora: adapter, train: false });
    const positions = ctx.uploadTemporary(scorePositions(batch.cpu.ids, batch.B, batch.T, padId));
    const rewards = ctx.pool.acquire(batch.B * 4, undefined, 'rewards');
    scoreHeadForward(ctx, { hidden, weight: score.weight, positions, B: batch.B, T: batch.T, H, rewards });
    out.push(...(await ctx.readF32(rewards, batch.B)));
    ctx.pool.release(rewards);
    batch.destroy();
  }
  return out;
}

export interface BestOfN {
  /** Every answer with its reward, in the order generated. */
  candidates: { text: string; reward: number }[];
  /** Index of the answer with the highest reward. */
  best: number;
}

/**
 * Samples `n` answers to one user message from the policy (the model with `policy`, or the base
 * when null; seeds seed, seed + 1, ...), scores each as prompt + answer with the reward model, and
 * returns them all with the best one's index. onCandidate sees each answer as it is finished.
 */
export async function bestOfN(
  model: LlamaModel,
  tokenizer: ChatTokenizer,
  message: string,
  policy: LoraAdapter | null,
  reward: LoraAdapter,
  settings: Partial<GenerationSettings> & { n: number },
  onCandidate?: (index: number, text: string) => void,
): Promise<BestOfN> {
  requireScoreHead(reward, 'the reward adapter');
  const { n, ...rest } = settings;
  const prompt = chatPrompt(tokenizer, message);
  const seed = rest.seed ?? 0;
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const { text } = await generateText(model, tokenizer, prompt.ids, policy, { temperature: BEST_OF_N_TEMPERATURE, ...rest, seed: seed + i });
    texts.push(text);
    onCandidate?.(i, text);
  }
  const sequences = texts.map((text) => tokenizeRewardSequence(tokenizer, message, text));
  const rewards = await scoreSequences(model, reward, sequences, tokenizer.padId);
  const best = rewards.reduce((b, r, i) => (r > rewards[b] ? i : b), 0);
  return { candidates: texts.map((text, i) => ({ text, reward: rewards[i] })), best };
}
