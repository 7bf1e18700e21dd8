// What "Train on my labels" trains: the method, the rows and the recipe, from the labels alone.
//
// Pairs only -> DPO on the preferences (TRL's conversational prompt/chosen/rejected rows). Any
// thumb -> KTO on every label (TRL's unpaired prompt/completion/label rows, `ktoRows`): thumbs as
// they are, each preference as a good and a bad answer, both-bad as two bad ones — so thumbs and
// pairs train together, and a pairs-only set keeps DPO, the method made for pairs.
//
// The recipe sits on top of the current one: sized for a few dozen labels of short answers.
// Measured on the demo model with the CLI (scripts/classroom/measureLabelTraining.ts; numbers in
// README.md): 16 consistent pair labels with DPO took answers naming an animal from 26% to 73%
// (28% -> 61% on held-out prompts) in 23 s on a CPU adapter; 5e-3 moved them a little further but
// broke the answers' fluency. KTO on 16 thumbs by the same rule: see KTO_LABEL_RECIPE.
// Keys are TRL names (the recipe file's keys); the step count is the one knob the page shows.
import { dpoRows, ktoRows, toJsonl, type LabelRecord } from './labels.ts';

export const LABEL_TRAINING_STEPS = 20;

/** The recipe fields set for label training with DPO (the rest of the recipe stays as it is). */
export const LABEL_TRAINING_RECIPE = {
  learning_rate: 2e-3,
  per_device_train_batch_size: 4,
  gradient_accumulation_steps: 1,
  beta: 0.1,
  max_length: 64,
  lora_dropout: 0,
  save_steps: 5,
  logging_steps: 1,
} as const;

/**
 * KTO on thumbs: the same run (batch 4 also meets KTO's minimum of 2 rows, whose KL term pairs
 * each prompt with another row's answer). Measured: 16 thumbs, see README.md.
 */
export const KTO_LABEL_RECIPE = { ...LABEL_TRAINING_RECIPE } as const;

/** KTO needs two rows: its KL estimate pairs each prompt with another row's answer. */
export const MIN_KTO_ROWS = 2;

export const DPO_LABELS_FILE = 'labels.jsonl';
export const KTO_LABELS_FILE = 'labels-kto.jsonl';

export interface LabelTrainingPlan {
  method: 'dpo' | 'kto';
  /** The training file (and `Download labels`): JSONL that `whetstone train` reads as is. */
  fileName: string;
  text: string;
  /** Training rows: DPO pairs, or KTO rows (good + bad). */
  rows: number;
  /** KTO: rows marked good (label true) and bad. */
  good: number;
  bad: number;
  /** Recipe fields (TRL names) set on top of the current recipe, the method included. */
  recipe: Record<string, number | string>;
  /** Why the labels cannot train yet, or null. */
  blocked: string | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * KTO's class weights for `good` desirable and `bad` undesirable rows, as TRL advises (from the
 * KTO paper, Eq. 8: desirable_weight·n_D / (undesirable_weight·n_U) within [1, 4/3]): the smaller
 * side weighs max/min, the larger 1 — the low end of TRL's range, so its warning never shows.
 */
export function ktoWeights(good: number, bad: number): { desirable_weight: number; undesirable_weight: number } {
  const nd = Math.max(good, 1);
  const nu = Math.max(bad, 1);
  return nd >= nu ? { desirable_weight: 1, undesirable_weight: round2(nd / nu) } : { desirable_weight: round2(nu / nd), undesirable_weight: 1 };
}

export function labelTrainingPlan(labels: readonly LabelRecord[]): LabelTrainingPlan {
  if (!labels.some((l) => l.kind === 'thumb')) {
    const rows = dpoRows(labels);
    return {
      method: 'dpo',
      fileName: DPO_LABELS_FILE,
      text: toJsonl(rows),
      rows: rows.length,
      good: 0,
      bad: 0,
      recipe: { method: 'dpo', loss_type: 'sigmoid', ...LABEL_TRAINING_RECIPE },
      blocked: rows.length === 0 ? 'Label a pair with A or B better first (ties and both-bad state no preference).' : null,
    };
  }
  const rows = ktoRows(labels);
  const good = rows.filter((r) => r.label).length;
  const bad = rows.length - good;
  return {
    method: 'kto',
    fileName: KTO_LABELS_FILE,
    text: toJsonl(rows),
    rows: rows.length,
    good,
    bad,
    recipe: { method: 'kto', ...KTO_LABEL_RECIPE, ...ktoWeights(good, bad) },
    blocked: rows.length < MIN_KTO_ROWS ? `Rate at least ${MIN_KTO_ROWS} answers: KTO compares each answer with another one's prompt.` : null,
  };
}
