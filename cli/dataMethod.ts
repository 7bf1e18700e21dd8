// The training method of `train`, `eval` and `data`, from the data unless the user set one: SFT
// rows train with sft, preference pairs with dpo, unpaired rows with kto (engine/recipe/methods.ts
// DATA_KINDS). A method
// the user set (--method, or "method" in a --config file) that does not train on the rows is an
// error naming exactly what to change.
import { MethodMismatch, type DatasetInspection } from '../engine/data/dataset.ts';
import { inspectMethodData } from '../engine/data/methodData.ts';
import { WhetstoneError } from '../engine/errors.ts';
import type { ByteSource } from '../engine/io/byteSource.ts';
import { isMethod, METHODS, type Method } from '../engine/recipe/methods.ts';

/** Where the user set the method: the --method flag, or a --config recipe file. */
export type MethodSource = { value: unknown; from: 'flag' } | { value: unknown; from: 'config'; path: string };

export interface MethodChoice {
  method: Method;
  /** True when no method was set and the data chose it. */
  detected: boolean;
  /** The file as inspected with that method (format, rows, errors). */
  info: DatasetInspection;
}

/** What the user wrote, e.g. `--method sft` or `"method": "sft" in recipe.json`. */
function written(asked: MethodSource): string {
  return asked.from === 'flag' ? `--method ${String(asked.value)}` : `"method": ${JSON.stringify(asked.value)} in ${asked.path}`;
}

/** What to change instead, naming the flag (or the recipe file's key). */
function fix(asked: MethodSource, method: string): string {
  const leaveOut = 'or leave it out: the method is then taken from the data';
  return asked.from === 'flag' ? `Pass --method ${method}, ${leaveOut}.` : `Set "method": "${method}" in ${asked.path} (or pass --method ${method}), ${leaveOut}.`;
}

/** Checks the asked method's spelling: one of METHODS. */
export function parseAskedMethod(asked: MethodSource): Method {
  if (isMethod(asked.value)) return asked.value;
  throw new WhetstoneError(`${written(asked)}: the method must be ${METHODS.join(' or ')}`, fix(asked, METHODS.join(' or ')).replace(/, or leave it out.*$/, '.'));
}

/**
 * Inspects the file with the method set (checked against the rows) or, with none, detects it.
 * A MethodMismatch becomes an error naming the flag (`--method dpo`).
 */
export async function chooseMethod(src: ByteSource, asked: MethodSource | null): Promise<MethodChoice> {
  if (!asked) {
    const info = await inspectMethodData(src);
    return { method: info.method, detected: true, info };
  }
  const method = parseAskedMethod(asked);
  return { method, detected: false, info: await withFlagHint(asked, () => inspectMethodData(src, { method })) };
}

/** Runs `load`, turning a MethodMismatch into an error that names what the user wrote and what to write. */
export async function withFlagHint<T>(asked: MethodSource, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (!(e instanceof MethodMismatch)) throw e;
    throw new WhetstoneError(`${written(asked)} does not fit ${e.file}: its rows are ${e.rowsAre}, not ${e.needed}`, fix(asked, e.suitable));
  }
}

/** The line that says which method was chosen: "method: dpo (from the data: Anthropic HH ...)". */
export function methodLine(choice: MethodChoice): string {
  return `method: ${choice.method}${choice.detected ? ` (from the data: ${choice.info.format})` : ''}`;
}
