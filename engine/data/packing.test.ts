// Packing as TRL's pack_dataset does it: the layouts of its docstring example for each strategy,
// positions restarting per example in the batch, no label across examples, and the steps of an
// epoch counted over packed sequences.
import { describe, expect, it } from 'vitest';
import { batchFromRows } from '../model/batch.ts';
import { resolveRecipe } from '../recipe/schema.ts';
import { totalSteps } from '../train/recipe.ts';
import { IGNORE_INDEX } from '../util/labels.ts';
import type { SftExample } from './examples.ts';
import { packExamples } from './packing.ts';

const row = (ids: number[], trained = true): SftExample => ({ ids, trainMask: ids.map(() => (trained ? 1 : 0)) });
// trl/data_utils.py pack_dataset's example: input_ids [[1..5], [6, 7], [8, 9, 10], [11]], seq_length 4.
const trlExample = [row([1, 2, 3, 4, 5]), row([6, 7]), row([8, 9, 10]), row([11])];
const layout = (rows: SftExample[]) => rows.map((r) => ({ ids: r.ids, seqLengths: r.seqLengths }));

describe('packExamples (TRL pack_dataset)', () => {
  it('bfd: best-fit decreasing, long examples truncated (TRL docstring layout)', () => {
    const { rows, stats } = packExamples(trlExample, 4, 'bfd');
    expect(layout(rows)).toEqual([
      { ids: [1, 2, 3, 4], seqLengths: [4] },
      { ids: [8, 9, 10, 11], seqLengths: [3, 1] },
      { ids: [6, 7], seqLengths: [2] },
    ]);
    expect(stats).toEqual({ strategy: 'bfd', maxLength: 4, examples: 4, sequences: 3, tokens: 10, efficiency: 10 / 12, long: 1 });
  });

  it('bfd_split: the overflow of a long example is packed as its own piece', () => {
    const { rows, stats } = packExamples(trlExample, 4, 'bfd_split');
    expect(layout(rows)).toEqual([
      { ids: [1, 2, 3, 4], seqLengths: [4] },
      { ids: [8, 9, 10, 5], seqLengths: [3, 1] },
      { ids: [6, 7, 11], seqLengths: [2, 1] },
    ]);
    expect(stats.tokens).toBe(11);
  });

  it('wrapped: one stream in file order, cut every max_length tokens', () => {
    const { rows } = packExamples(trlExample, 4, 'wrapped');
    expect(layout(rows)).toEqual([
      { ids: [1, 2, 3, 4], seqLengths: [4] },
      { ids: [5, 6, 7, 8], seqLengths: [4] },
      { ids: [9, 10, 11], seqLengths: [3] },
    ]);
  });

  it('keeps each token with its train mask', () => {
    const { rows } = packExamples([row([1, 2, 3], false), row([4, 5], true)], 8, 'bfd');
    expect(rows).toHaveLength(1);
    expect(Array.from(rows[0].trainMask)).toEqual([0, 0, 0, 1, 1]);
  });

  it('batches a packed row as separate examples: positions restart, no label crosses, segments split attention', () => {
    const { rows } = packExamples([row([1, 2, 3]), row([4, 5])], 8, 'bfd');
    const b = batchFromRows([...rows, row([6, 7, 8, 9, 10, 11])], 0);
    const T = b.T;
    expect(T).toBe(6);
    expect(Array.from(b.positions.slice(0, T))).toEqual([0, 1, 2, 0, 1, 0]);
    expect(Array.from(b.segments!.slice(0, T))).toEqual([0, 0, 0, 1, 1, 2]); // the padding is a segment of its own
    expect(Array.from(b.labels.slice(0, T))).toEqual([2, 3, IGNORE_INDEX, 5, IGNORE_INDEX, IGNORE_INDEX]);
    expect(Array.from(b.positions.slice(T))).toEqual([0, 1, 2, 3, 4, 5]); // an unpacked row of the same batch: one segment
    expect(Array.from(b.segments!.slice(T))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('an epoch counts packed sequences: 40 rows of 10..49 tokens (1180) in 256 make 5 sequences: 2 steps of 4, not 10', () => {
    const examples = Array.from({ length: 40 }, (_, i) => row(Array.from({ length: 10 + i }, (_, t) => t + 1)));
    const { rows, stats } = packExamples(examples, 256, 'bfd');
    const tokens = examples.reduce((s, e) => s + e.ids.length, 0);
    expect(stats.tokens).toBe(tokens); // nothing truncated or lost
    expect(stats.sequences).toBe(5); // ceil(1180 / 256): bfd fills all but the last
    expect(rows.every((r) => r.ids.length <= 256 && r.seqLengths!.reduce((a, b) => a + b, 0) === r.ids.length)).toBe(true);
    const recipe = resolveRecipe({ per_device_train_batch_size: 4, num_train_epochs: 1, packing: true, max_length: 256 });
    expect(totalSteps(recipe, examples.length)).toBe(10);
    expect(totalSteps(recipe, rows.length)).toBe(2);
  });
});
