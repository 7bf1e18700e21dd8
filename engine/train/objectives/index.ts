// The registry of training objectives: one line per method. Adding a method:
//   1. its entry in engine/recipe/methods.ts (menu label, example unit, default learning rate),
//   2. its objective in this folder (a file like sft.ts, dpo.ts or kto.ts, implementing objective.ts),
//   3. one line below (the type makes 1 without 2 and 3 a compile error),
// plus the recipe keys only it reads (engine/recipe/fields.ts, `methods: ['your_method']`) and,
// when its rows are a new shape, that shape in engine/data/examples.ts.
import type { TrainingExamples } from '../../data/examples.ts';
import type { Method } from '../../recipe/methods.ts';
import { dpo } from './dpo.ts';
import { kto } from './kto.ts';
import type { Objective, ObjectiveDefinition, ObjectiveRun } from './objective.ts';
import { orpo } from './orpo.ts';
import { reward } from './reward.ts';
import { sft } from './sft.ts';
import { simpo } from './simpo.ts';

/** The example type of method M (SftExample for sft, PreferenceExample for dpo, ...). */
export type ExampleOf<M extends Method> = Extract<TrainingExamples, { method: M }>['rows'][number];

export const OBJECTIVES: { [M in Method]: ObjectiveDefinition<ExampleOf<M>> } = {
  sft,
  dpo,
  orpo,
  simpo,
  kto,
  reward,
};

/** The objective of `method` for this run; it takes the rows of a TrainingExamples of that method. */
export function createObjective(method: Method, run: ObjectiveRun): Objective<unknown> {
  return (OBJECTIVES[method] as ObjectiveDefinition<unknown>).create(run);
}

export type { EvalResult, LogEntry, MicroBatch, Objective, ObjectiveRun, RecordedStep } from './objective.ts';
