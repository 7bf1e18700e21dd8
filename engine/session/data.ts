// A dataset file read the way the recipe says (the same for training, evaluation and both faces):
// method, max_length, drop_long_rows, completion_only_loss, skip_invalid_rows (KTO: the weights'
// advice); and, for a packed SFT run, the examples packed once into max_length sequences (TRL's
// packing, data/packing.ts).
import type { LoadedDataset } from '../data/dataset.ts';
import type { TrainingExamples } from '../data/examples.ts';
import { loadMethodExamples, type MethodDataOptions } from '../data/methodData.ts';
import { packExamples, type PackingStats } from '../data/packing.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { Recipe } from '../recipe/schema.ts';

/** Whether the run packs: `packing` is an SFT option (TRL's SFTConfig). */
export function packs(recipe: Recipe): boolean {
  return recipe.packing && recipe.method === 'sft';
}

export function dataOptions(recipe: Recipe): MethodDataOptions {
  return {
    method: recipe.method,
    maxLength: recipe.max_length,
    dropLongRows: recipe.drop_long_rows,
    completionOnlyLoss: recipe.completion_only_loss,
    skipInvalidRows: recipe.skip_invalid_rows,
    // bfd truncates long rows (as without packing); the splitting strategies keep them whole.
    keepLongRows: packs(recipe) && recipe.packing_strategy !== 'bfd',
    ktoWeights: { desirable: recipe.desirable_weight, undesirable: recipe.undesirable_weight },
  };
}

export function loadExamples(src: ByteSource, tokenizer: ChatTokenizer, recipe: Recipe): Promise<LoadedDataset> {
  return loadMethodExamples(src, tokenizer, dataOptions(recipe));
}

/** The examples as the trainer sees them: packed into max_length sequences when the recipe packs, else as they are. */
export function packForRecipe(examples: TrainingExamples, recipe: Recipe): { examples: TrainingExamples; packing: PackingStats | null } {
  if (!packs(recipe) || examples.method !== 'sft') return { examples, packing: null };
  const packed = packExamples(examples.rows, recipe.max_length, recipe.packing_strategy);
  return { examples: { method: 'sft', rows: packed.rows }, packing: packed.stats };
}

/** "300 rows packed into 37 sequences of 1024 tokens (bfd, efficiency 93.4%)". */
export function packingSummary(p: PackingStats): string {
  return `${p.examples} row${p.examples === 1 ? '' : 's'} packed into ${p.sequences} sequence${p.sequences === 1 ? '' : 's'} of ${p.maxLength} tokens (${p.strategy}, efficiency ${(100 * p.efficiency).toFixed(1)}%)`;
}
