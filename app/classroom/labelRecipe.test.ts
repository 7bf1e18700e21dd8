import { describe, expect, it } from 'vitest';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { KTO_LABELS_FILE, ktoWeights, labelTrainingPlan, MIN_KTO_ROWS } from './labelRecipe.ts';
import type { LabelRecord, PairLabel, ThumbLabel } from './labels.ts';

const sampling = { temperature: 1, topP: 0.95, maxNewTokens: 24, seed: 1 };
const pair = (id: string, createdAt: number, verdict: PairLabel['verdict']): PairLabel => ({
  id,
  kind: 'pair',
  createdAt,
  prompt: `${id}?`,
  a: `${id} A`,
  b: `${id} B`,
  verdict,
  model: 'demo',
  adapterRunId: null,
  samplingA: sampling,
  samplingB: sampling,
});
const thumb = (id: string, createdAt: number, label: boolean, completion = `${id} answer`): ThumbLabel => ({ id, kind: 'thumb', createdAt, prompt: `${id}?`, completion, label, model: 'demo', adapterRunId: null, sampling });
const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** TRL's advice (KTO paper, Eq. 8): desirable_weight·n_D / (undesirable_weight·n_U) within [1, 4/3]. */
const inTrlRange = (good: number, bad: number, w: { desirable_weight: number; undesirable_weight: number }) => {
  const ratio = (w.desirable_weight * Math.max(good, 1)) / (w.undesirable_weight * Math.max(bad, 1));
  return ratio >= 1 - 0.01 && ratio <= 4 / 3 + 0.01;
};

describe('what "Train on my labels" trains', () => {
  it('pairs only: DPO on the preferences, the file `whetstone train --method dpo` reads', () => {
    const plan = labelTrainingPlan([pair('p1', 1, 'a'), pair('p2', 2, 'tie'), pair('p3', 3, 'b')]);
    expect(plan).toMatchObject({ method: 'dpo', fileName: 'labels.jsonl', rows: 2, blocked: null, recipe: { method: 'dpo', loss_type: 'sigmoid', per_device_train_batch_size: 4 } });
    expect(lines(plan.text).map((r) => Object.keys(r))).toEqual([
      ['prompt', 'chosen', 'rejected'],
      ['prompt', 'chosen', 'rejected'],
    ]);
    expect(resolveRecipe(plan.recipe).method).toBe('dpo');
    expect(labelTrainingPlan([pair('p', 1, 'tie')]).blocked).toMatch(/A or B better/);
  });

  it('any thumb: KTO on every label, in label order, with TRL-advised class weights', () => {
    const labels: LabelRecord[] = [thumb('t1', 1, true), pair('p1', 2, 'b'), thumb('t2', 3, false), thumb('t3', 4, false), pair('p2', 5, 'both_bad')];
    const plan = labelTrainingPlan(labels);
    expect(plan).toMatchObject({ method: 'kto', fileName: KTO_LABELS_FILE, rows: 7, good: 2, bad: 5, blocked: null });
    expect(lines(plan.text).map((r) => [(r.completion as { content: string }[])[0].content, r.label])).toEqual([
      ['t1 answer', true],
      ['p1 B', true],
      ['p1 A', false],
      ['t2 answer', false],
      ['t3 answer', false],
      ['p2 A', false],
      ['p2 B', false],
    ]);
    expect(plan.recipe).toMatchObject({ method: 'kto', desirable_weight: 2.5, undesirable_weight: 1 });
    const recipe = resolveRecipe({ ...plan.recipe, max_steps: 20 });
    expect(recipe).toMatchObject({ method: 'kto', desirable_weight: 2.5, undesirable_weight: 1 });
    expect(recipe.per_device_train_batch_size).toBeGreaterThanOrEqual(MIN_KTO_ROWS);
  });

  it('weighs the smaller side up to the low end of TRL\'s range (so its advice never shows)', () => {
    expect(ktoWeights(4, 12)).toEqual({ desirable_weight: 3, undesirable_weight: 1 });
    expect(ktoWeights(11, 5)).toEqual({ desirable_weight: 1, undesirable_weight: 2.2 });
    expect(ktoWeights(3, 3)).toEqual({ desirable_weight: 1, undesirable_weight: 1 });
    expect(ktoWeights(7, 0)).toEqual({ desirable_weight: 1, undesirable_weight: 7 }); // no bad rows: nothing to weigh, nothing to warn about
    for (let good = 0; good <= 20; good++) for (let bad = 0; bad <= 20; bad++) expect(inTrlRange(good, bad, ktoWeights(good, bad))).toBe(true);
  });

  it('needs two KTO rows; an empty answer makes none', () => {
    expect(labelTrainingPlan([thumb('t', 1, true)]).blocked).toMatch(/at least 2 answers/);
    expect(labelTrainingPlan([thumb('t', 1, true), thumb('e', 2, false, ' ')])).toMatchObject({ rows: 1, blocked: expect.stringMatching(/at least 2/) });
    expect(labelTrainingPlan([thumb('t', 1, true), thumb('u', 2, false)]).blocked).toBeNull();
  });
});
