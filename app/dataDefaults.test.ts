// The studio's defaults from a dropped dataset: max_length from the token p95 (a multiple of 64,
// within the model's context), epochs and checkpoints sized to the rows, and the note that says so.
import { describe, expect, it } from 'vitest';
import { dataDefaults, epochsFor } from './dataDefaults.ts';
import { defaultRecipe } from './recipe.ts';

describe('dataDefaults', () => {
  it('HH-sized preference data on a small model: p95 rounded up to 64, 3 epochs, about ten checkpoints', () => {
    const recipe = defaultRecipe('small', 'dpo'); // batch 4, accumulation 4
    const d = dataDefaults({ rows: 300, p95: 412 }, 8192, recipe, '300 pairs');
    // 300 pairs / 4 = 75 micro-batches / 4 = 19 steps an epoch, 57 in 3 epochs, a checkpoint every 6.
    expect(d.patch).toEqual({ max_length: 448, max_steps: -1, num_train_epochs: 3, save_steps: 6 });
    expect(d.note).toBe('From your data: p95 = 412 tokens → max length 448; 300 pairs → 3 epochs (57 steps), a checkpoint every 6 steps.');
  });

  it("stays within the model's context, and at 64 tokens or more", () => {
    const recipe = { per_device_train_batch_size: 2, gradient_accumulation_steps: 1 };
    const long = dataDefaults({ rows: 50, p95: 3000 }, 2048, recipe, 'n rows');
    expect(long.patch.max_length).toBe(2048);
    expect(long.note).toContain("max length 2048 (the model's context is 2048)");
    expect(dataDefaults({ rows: 50, p95: 10 }, 2048, recipe, 'n rows').patch.max_length).toBe(64);
    expect(dataDefaults({ rows: 50, p95: 130 }, null, recipe, 'n rows').patch.max_length).toBe(192);
    // One step a run: a checkpoint every step, and the note's singulars.
    expect(dataDefaults({ rows: 1, p95: 30 }, null, recipe, '1 row').note).toBe('From your data: p95 = 30 tokens → max length 64; 1 row → 3 epochs (3 steps), a checkpoint every 1 step.');
  });

  it('more rows, fewer epochs', () => {
    expect([10, 999, 1000, 9999, 10_000, 2_600_000].map(epochsFor)).toEqual([3, 3, 2, 2, 1, 1]);
    const big = dataDefaults({ rows: 20_000, p95: 700 }, 32768, { per_device_train_batch_size: 2, gradient_accumulation_steps: 4 }, '20000 rows');
    expect(big.patch).toEqual({ max_length: 704, max_steps: -1, num_train_epochs: 1, save_steps: 250 });
  });
});
