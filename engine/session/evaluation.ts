// Evaluation without training, for any method (`whetstone eval`; the trainer's eval_steps use the
// same objective): the dataset read the way the recipe says, the loss and metrics of the model
// with an adapter (or the base model) through the method's objective.
import type { GpuContext } from '../gpu/context.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import type { LoraAdapter } from '../model/loraTypes.ts';
import type { Recipe } from '../recipe/schema.ts';
import { createObjective, type EvalResult } from '../train/objectives/index.ts';
import { loadExamples } from './data.ts';

export interface EvaluationInit {
  ctx: GpuContext;
  loaded: LoadedModel;
  /** null = the base model. */
  adapter: LoraAdapter | null;
  /** The method and what it reads (beta, loss_type, max_length, completion_only_loss, ...). */
  recipe: Recipe;
  data: ByteSource;
  /** Examples per forward pass. */
  batchSize: number;
  onWarning?: (message: string) => void;
}

export async function evaluateDataset(init: EvaluationInit): Promise<EvalResult> {
  const { ctx, loaded, adapter, recipe } = init;
  const data = await loadExamples(init.data, loaded.tokenizer, recipe);
  for (const w of data.warnings) init.onWarning?.(w);
  const objective = createObjective(data.examples.method, { ctx, model: loaded.model, adapter, recipe, padId: loaded.tokenizer.padId });
  return objective.evaluate(data.examples.rows, init.batchSize);
}
