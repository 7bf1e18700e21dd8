// A recipe file resolved for the TRL export: the recipe keys of engine/train/recipe.ts (validated
// there) plus the keys of the methods beyond SFT/DPO, which the exporter accepts already
// (method orpo | simpo | kto | reward; simpo_gamma, cpo_alpha, desirable_weight, undesirable_weight,
// center_rewards_coefficient). Defaults of those methods that the recipe schema does not hold yet are
// marked PROVISIONAL: the method list of the recipe description replaces them.
import { z } from 'zod';
import { RecipeError, resolveRecipe, type Recipe } from '../recipe/schema.ts';
import { TRL_METHODS, type TrlMethod } from './names.ts';

const methodKeys = z
  .object({
    simpo_gamma: z.number().min(0).default(0.5), // TRL CPOConfig default
    cpo_alpha: z.number().min(0).default(0), // 0 = pure SimPO (TRL's CPOConfig defaults to 1.0)
    desirable_weight: z.number().positive().default(1),
    undesirable_weight: z.number().positive().default(1),
    center_rewards_coefficient: z.number().min(0).nullable().default(null), // TRL RewardConfig: None
  })
  .strict();

export type TrlRecipe = Omit<Recipe, 'method'> & z.output<typeof methodKeys> & { method: TrlMethod };

/** PROVISIONAL defaults of the new methods where they differ from the DPO recipe's. */
const PROVISIONAL_DEFAULTS: Partial<Record<TrlMethod, Record<string, unknown>>> = {
  simpo: { beta: 2.0 }, // the SimPO paper's and the issue's default (TRL's CPOConfig keeps 0.1)
};

export function resolveTrlRecipe(input: unknown): TrlRecipe {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new RecipeError('(recipe): expected a JSON object');
  const { method = 'sft', simpo_gamma, cpo_alpha, desirable_weight, undesirable_weight, center_rewards_coefficient, ...rest } = input as Record<string, unknown>;
  if (!(TRL_METHODS as readonly unknown[]).includes(method)) throw new RecipeError(`method: expected one of ${TRL_METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  const m = method as TrlMethod;
  const base = resolveRecipe({ ...PROVISIONAL_DEFAULTS[m], ...rest, method: m === 'sft' ? 'sft' : 'dpo' });
  const extras = methodKeys.safeParse(Object.fromEntries(Object.entries({ simpo_gamma, cpo_alpha, desirable_weight, undesirable_weight, center_rewards_coefficient }).filter(([, v]) => v !== undefined)));
  if (!extras.success) {
    const issue = extras.error.issues[0];
    throw new RecipeError(`${issue.path.join('.')}: ${issue.message}`);
  }
  if (m === 'kto' && base.per_device_train_batch_size < 2) {
    throw new RecipeError('per_device_train_batch_size: KTO needs at least 2 rows per batch (its KL term pairs each prompt with another row\'s completion; TRL refuses 1)');
  }
  return { ...base, ...extras.data, method: m };
}
