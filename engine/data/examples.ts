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
}

export interface PreferenceExample {
  chosen: TokenizedRow; // prompt + chosen completion
  rejected: TokenizedRow; // prompt + rejected completion
  line?: number;
}

export type TrainingExamples = { method: 'sft'; rows: SftExample[] } | { method: 'dpo'; rows: PreferenceExample[] };

/** Tokens a row trains on (its mask's ones, minus the first token which nothing predicts). */
export function countedTokens(row: TokenizedRow): number {
  let n = 0;
  for (let i = 1; i < row.ids.length; i++) if (row.trainMask[i]) n++;
  return n;
}
