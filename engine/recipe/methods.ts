// The training methods, one entry each: what the studio's Method menu, the dataset report and the
// CLI say about a method, and the defaults in which it differs from the recipe's field table
// (fields.ts), e.g. DPO's learning rate (SimPO's beta of 2.0 would go here too). How a method trains (its loss, batches,
// metrics and evaluation) is its objective in engine/train/objectives/; the registry there is
// typed by this list, so a method added here without an objective does not compile.
// Pure data: the studio imports this file (see eslint.config.js).

export interface MethodInfo {
  /** The Method menu's text. */
  label: string;
  /** What one example is, singular and plural ("3 pairs"); per_device_train_batch_size counts these. */
  unit: readonly [string, string];
  /** Defaults of this method that differ from the field table's, by recipe key (a recipe may still set its own). */
  defaults: Readonly<Record<string, unknown>>;
}

export const METHOD_INFO = {
  sft: { label: 'SFT — supervised fine-tuning', unit: ['row', 'rows'], defaults: {} },
  // LoRA SFT commonly uses 2e-4 (the table's default); LoRA DPO much lower (TRL's DPO default is 1e-6 for full fine-tunes).
  dpo: { label: 'DPO — preference pairs', unit: ['pair', 'pairs'], defaults: { learning_rate: 5e-6 } },
} as const satisfies Record<string, MethodInfo>;

export type Method = keyof typeof METHOD_INFO;

export const METHODS = Object.keys(METHOD_INFO) as [Method, ...Method[]];

export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(METHOD_INFO, value);
}

/** "1 pair", "3 rows". */
export function countLabel(method: Method, n: number): string {
  const [one, many] = METHOD_INFO[method].unit;
  return `${n} ${n === 1 ? one : many}`;
}
