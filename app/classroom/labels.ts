// Classroom labels: what a person said about sampled answers, and the training rows they become.
//
// A pair label (A/B shown side by side) becomes one preference row in TRL's conversational
// format, the one `whetstone train --method dpo` reads as is:
//   {"prompt": [{"role": "user", "content": P}], "chosen": [{"role": "assistant", "content": C}],
//    "rejected": [{"role": "assistant", "content": R}]}
// Ties and "both bad" say no preference: they are kept (and count as labelled) but make no DPO
// row; nor does a pair with an empty answer (the dataset loader refuses empty turns). A thumb label (one answer, good or bad) is TRL's unpaired format for KTO
// ({prompt, completion, label: bool}); `ktoRows` is the hook the KTO method will train on.

/** A/B verdicts, in the order of the buttons (and their keys 1-4). */
export const PAIR_VERDICTS = ['a', 'b', 'tie', 'both_bad'] as const;
export type PairVerdict = (typeof PAIR_VERDICTS)[number];

export const VERDICT_NAMES: Record<PairVerdict, string> = { a: 'A is better', b: 'B is better', tie: 'Tie', both_bad: 'Both bad' };

/** How an answer was sampled (kept so a label says where it came from). */
export interface SamplingRecord {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

interface LabelCommon {
  id: string;
  createdAt: number;
  /** The user message both answers reply to (sent through the model's chat template). */
  prompt: string;
  /** Which model answered: its name, and the run whose adapter was on (null: the base model). */
  model: string;
  adapterRunId: string | null;
}

export interface PairLabel extends LabelCommon {
  kind: 'pair';
  a: string;
  b: string;
  verdict: PairVerdict;
  samplingA: SamplingRecord;
  samplingB: SamplingRecord;
}

/** One answer judged alone: TRL's unpaired (KTO) row. The UI offers it once KTO exists (issue 11). */
export interface ThumbLabel extends LabelCommon {
  kind: 'thumb';
  completion: string;
  label: boolean;
  sampling: SamplingRecord;
}

export type LabelRecord = PairLabel | ThumbLabel;

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface DpoRow {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}

export interface KtoRow {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  label: boolean;
}

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const assistant = (content: string): ChatMessage[] => [{ role: 'assistant', content }];

export function isPair(label: LabelRecord): label is PairLabel {
  return label.kind === 'pair';
}

/** An answer a training row can hold: the dataset loader refuses empty message contents. */
export const isTrainable = (answer: string) => answer.trim() !== '';

/** The labels that make a DPO row: a pair with A or B better, and two different, non-empty answers. */
export function isPreference(label: LabelRecord): label is PairLabel & { verdict: 'a' | 'b' } {
  return label.kind === 'pair' && (label.verdict === 'a' || label.verdict === 'b') && label.a !== label.b && isTrainable(label.a) && isTrainable(label.b);
}

/** One DPO row per preference, oldest label first. */
export function dpoRows(labels: readonly LabelRecord[]): DpoRow[] {
  return oldestFirst(labels)
    .filter(isPreference)
    .map((l) => {
      const [chosen, rejected] = l.verdict === 'a' ? [l.a, l.b] : [l.b, l.a];
      return { prompt: user(l.prompt), chosen: assistant(chosen), rejected: assistant(rejected) };
    });
}

/**
 * Unpaired rows for KTO: thumbs as they are, and each pair unpaired the way TRL's
 * `unpair_preference_dataset` does (chosen -> true, rejected -> false); "both bad" gives two
 * false rows, a tie none (equal is not the same as good).
 */
export function ktoRows(labels: readonly LabelRecord[]): KtoRow[] {
  const rows: KtoRow[] = [];
  const row = (prompt: string, completion: string, label: boolean) => {
    if (isTrainable(completion)) rows.push({ prompt: user(prompt), completion: assistant(completion), label });
  };
  for (const l of oldestFirst(labels)) {
    if (l.kind === 'thumb') row(l.prompt, l.completion, l.label);
    else if (isPreference(l)) {
      row(l.prompt, l.verdict === 'a' ? l.a : l.b, true);
      row(l.prompt, l.verdict === 'a' ? l.b : l.a, false);
    } else if (l.verdict === 'both_bad') {
      row(l.prompt, l.a, false);
      row(l.prompt, l.b, false);
    }
  }
  return rows;
}

/** Rows as JSONL (one JSON object per line, a final newline). */
export function toJsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** "1 pair labelled", "3 pairs labelled". */
export function pairsLabelledText(labels: readonly LabelRecord[]): string {
  const n = labels.filter(isPair).length;
  return `${n} pair${n === 1 ? '' : 's'} labelled`;
}

export function oldestFirst<T extends { createdAt: number; id: string }>(labels: readonly T[]): T[] {
  return [...labels].sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

export function newLabelId(now = Date.now()): string {
  return `label-${now.toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
