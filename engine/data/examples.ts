// What the trainers consume: rows already rendered and tokenized (engine/data does that), each
// with the mask of tokens the loss trains on.
export interface TokenizedRow {
  ids: number[];
  /** 1 where the token is trained on (e.g. assistant spans), 0 elsewhere; same length as ids. */
  trainMask: ArrayLike<number>;
}

export interface SftExample extends TokenizedRow {
  /** Source line (1-based) for messages about this row. */
  line?: number;
  /**
   * A packed row only (data/packing.ts; TRL's seq_lengths): the lengths of the examples (or
   * pieces) packed into it, in order, summing to ids.length. Positions restart at each one and
   * none attends to another; no token predicts the next piece's first token.
   */
  seqLengths?: number[];
}

export interface PreferenceExample {
  chosen: TokenizedRow; // prompt + chosen completion
  rejected: TokenizedRow; // prompt + rejected completion
  line?: number;
}

/** One KTO row: prompt and completion tokens (BOS / EOS as TRL adds them) and its label. */
export interface UnpairedExample {
  prompt: number[];
  completion: number[];
  /** true: a desirable completion (thumbs up), false: an undesirable one. */
  label: boolean;
  line?: number;
}

/** A reward-model pair: prompt + each answer, tokenized whole (TRL's RewardTrainer). */
export interface RewardExample {
  chosen: number[];
  rejected: number[];
  line?: number;
}

/** The rows of a training set, by the method that trains on them (engine/recipe/methods.ts). */
export type TrainingExamples =
  | { method: 'sft'; rows: SftExample[] }
  | { method: 'dpo'; rows: PreferenceExample[] }
  | { method: 'orpo'; rows: PreferenceExample[] }
  | { method: 'simpo'; rows: PreferenceExample[] }
  | { method: 'kto'; rows: UnpairedExample[] }
  | { method: 'reward'; rows: RewardExample[] };

/** Tokens a row trains on (its mask's ones, minus the first token which nothing predicts). */
export function countedTokens(row: TokenizedRow): number {
  let n = 0;
  for (let i = 1; i < row.ids.length; i++) if (row.trainMask[i]) n++;
  return n;
}
