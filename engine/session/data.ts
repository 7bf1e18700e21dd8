// A dataset file read the way the recipe says (the same for training, evaluation and both faces):
// method, max_length, drop_long_rows, completion_only_loss, skip_invalid_rows.
import { loadTrainingExamples, type LoadedDataset, type LoadOptions } from '../data/dataset.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { Recipe } from '../recipe/schema.ts';

export function dataOptions(recipe: Recipe): LoadOptions {
  return {
    method: recipe.method,
    maxLength: recipe.max_length,
    dropLongRows: recipe.drop_long_rows,
    completionOnlyLoss: recipe.completion_only_loss,
    skipInvalidRows: recipe.skip_invalid_rows,
  };
}

export function loadExamples(src: ByteSource, tokenizer: ChatTokenizer, recipe: Recipe): Promise<LoadedDataset> {
  return loadTrainingExamples(src, tokenizer, dataOptions(recipe));
}
