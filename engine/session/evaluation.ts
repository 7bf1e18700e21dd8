// Evaluation without training, for any method (`whetstone eval`; the trainer's eval_steps use the
// same objective): the dataset read the way the recipe says, the loss and metrics of the model
// with an adapter (or the base model) through the method's objective, with progress after every
// batch (examples done, and an ETA once a few batches are timed) for whichever face shows it.
import type { GpuContext } from '../gpu/context.ts';
import type { ByteSource } from '../io/byteSource.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import type { LoraAdapter } from '../model/loraTypes.ts';
import type { Method } from '../recipe/methods.ts';
import type { Recipe } from '../recipe/schema.ts';
import { createObjective, type EvalResult } from '../train/objectives/index.ts';
import { EtaEstimator } from '../util/eta.ts';
import { loadExamples } from './data.ts';

export interface EvalProgress {
  /** Examples evaluated so far, of `total`. */
  done: number;
  total: number;
  method: Method;
  /** Seconds left; null while estimating (the first batches). */
  etaSeconds: number | null;
}

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
  /** Once before the first batch (done 0) and after every batch. */
  onProgress?: (p: EvalProgress) => void;
}

export async function evaluateDataset(init: EvaluationInit): Promise<EvalResult> {
  const { ctx, loaded, adapter, recipe } = init;
  const data = await loadExamples(init.data, loaded.tokenizer, recipe);
  for (const w of data.warnings) init.onWarning?.(w);
  const { method, rows } = data.examples;
  const total = rows.length;
  const eta = new EtaEstimator(total);
  init.onProgress?.({ done: 0, total, method, etaSeconds: null });
  const objective = createObjective(method, { ctx, model: loaded.model, adapter, recipe, padId: loaded.tokenizer.padId });
  return objective.evaluate(rows, init.batchSize, (done) => init.onProgress?.({ done, total, method, etaSeconds: eta.update(done) }));
}
