// Strict checks of a checkpoint before a resume, each failure a CheckpointError with the reason:
// a trainer_state.json that is not what we write (garbage, a non-numeric step), optimizer moments
// missing or of the wrong size for the adapter (training would silently diverge), and a
// checkpoint that does not match the recipe it is resumed with (an SFT checkpoint resumed as DPO,
// another lora_r, other target modules...).
import { CheckpointError } from '../io/errors.ts';
import { isPlainObject } from '../io/json.ts';
import type { TensorInfo } from '../io/safetensors.ts';
import type { LoraConfig } from '../lora/types.ts';
import type { Method } from '../recipe/methods.ts';
import { SCORE_KEY } from '../lora/seqCls.ts';

/** The checkpoint name of a reward model's score-head moments (optimizer.safetensors: score.exp_avg, score.exp_avg_sq). */
export const SCORE_MOMENTS = 'score';

/** What the resumed run expects; every field is optional (pass the values the user asked for). */
export interface CheckpointExpectation {
  method?: Method;
  optim?: 'adamw_torch' | 'sgd';
  lora_r?: number;
  lora_alpha?: number;
  lora_dropout?: number;
  lora_target_modules?: readonly string[];
  use_rslora?: boolean;
}

const RESUME_HINT = 'Resume from a checkpoint-N folder written by whetstone train, unchanged.';

function fail(where: string, problem: string, hint = RESUME_HINT): never {
  throw new CheckpointError(where, problem, hint);
}

/** JSON.parse of a checkpoint file into a plain object, or a CheckpointError naming the file. */
export function parseStateJson(text: string, where: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(`${where}/${file}`, `is not valid JSON (${(e as Error).message})`, `${RESUME_HINT} The file is damaged; resume from an earlier checkpoint.`);
  }
  if (!isPlainObject(v)) fail(`${where}/${file}`, 'is not a JSON object', `${RESUME_HINT} The file is damaged; resume from an earlier checkpoint.`);
  return v;
}

/** A field that must be a non-negative integer (a step, a position, a seed). */
export function wholeNumber(obj: Record<string, unknown>, key: string, where: string): number {
  const v = obj[key];
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(where, `"${key}" is ${JSON.stringify(v) ?? 'missing'}; expected a whole number >= 0`);
  return v as number;
}

/**
 * Optimizer moments keyed `<layer>.<module>.<A|B>` (LoraOptimizer's names) against the adapter's
 * LoRA tensors: AdamW needs both moments of every tensor at its size; SGD has none.
 */
export function checkMoments(
  moments: Map<string, { m: Float32Array; v: Float32Array }>,
  adapterTensors: Map<string, TensorInfo>,
  where: string,
  optim: 'adamw_torch' | 'sgd' | undefined,
): void {
  const file = `${where}/optimizer.safetensors`;
  const expected = new Map<string, number>();
  for (const [name, info] of adapterTensors) {
    const m = /^base_model\.model\.model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
    if (m) expected.set(`${m[1]}.${m[2]}.${m[3]}`, info.shape.reduce((a, b) => a * b, 1));
    // A reward model's score head (SEQ_CLS) is trained in full: it has moments too.
    if (name === SCORE_KEY) expected.set(SCORE_MOMENTS, info.shape.reduce((a, b) => a * b, 1));
  }
  if (moments.size === 0) {
    if (optim === 'adamw_torch') fail(file, 'holds no AdamW moments (exp_avg, exp_avg_sq): the checkpoint was trained with optim sgd', 'Resume with --optim sgd, or start a new run.');
    return;
  }
  if (optim === 'sgd') fail(file, 'holds AdamW moments: the checkpoint was trained with optim adamw_torch', 'Resume with --optim adamw_torch, or start a new run.');
  for (const [name, numel] of expected) {
    const mv = moments.get(name);
    if (!mv || mv.m.length === 0 || mv.v.length === 0) {
      const missing = !mv || mv.m.length === 0 ? 'exp_avg' : 'exp_avg_sq';
      fail(file, `has no ${missing} for LoRA tensor ${name} (of ${expected.size}); resuming would silently change the training`);
    }
    if (mv.m.length !== numel || mv.v.length !== numel) fail(file, `moments of ${name} have ${mv.m.length}/${mv.v.length} values, the adapter tensor has ${numel}`);
  }
  for (const name of moments.keys()) {
    if (!expected.has(name)) fail(file, `has moments for ${name}, which the checkpoint's adapter does not have`);
  }
}

/** The checkpoint against the recipe it is resumed with. */
export function checkAgainstRecipe(method: Method, lora: LoraConfig, expected: CheckpointExpectation, where: string): void {
  const hint = 'Resume with the recipe the checkpoint was trained with (or leave those options out), or start a new run in another --output_dir.';
  if (expected.method !== undefined && expected.method !== method) {
    fail(where, `is ${/^[aefhilmnorsx]/i.test(method) ? 'an' : 'a'} ${method.toUpperCase()} checkpoint; it cannot be resumed as ${expected.method.toUpperCase()}`, hint);
  }
  const differs = (name: string, had: unknown, asked: unknown) => fail(where, `was trained with ${name}=${JSON.stringify(had)}, the recipe asks ${name}=${JSON.stringify(asked)}`, hint);
  if (expected.lora_r !== undefined && expected.lora_r !== lora.r) differs('lora_r', lora.r, expected.lora_r);
  if (expected.lora_alpha !== undefined && expected.lora_alpha !== lora.loraAlpha) differs('lora_alpha', lora.loraAlpha, expected.lora_alpha);
  if (expected.lora_dropout !== undefined && expected.lora_dropout !== lora.loraDropout) differs('lora_dropout', lora.loraDropout, expected.lora_dropout);
  if (expected.use_rslora !== undefined && expected.use_rslora !== lora.useRslora) differs('use_rslora', lora.useRslora, expected.use_rslora);
  if (expected.lora_target_modules !== undefined) {
    const a = [...lora.targetModules].sort().join(',');
    const b = [...expected.lora_target_modules].sort().join(',');
    if (a !== b) differs('lora_target_modules', a, b);
  }
}
