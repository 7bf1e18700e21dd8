// The training methods, one entry each: what the studio's Method menu, the dataset report, the CLI
// and the README say about a method, the data it trains on, and the defaults in which it differs
// from the recipe's field table (fields.ts), e.g. DPO's learning rate or SimPO's beta. How a
// method trains (its loss, batches, metrics and evaluation) is its objective in
// engine/train/objectives/; the registry there is typed by this list, so a method added here
// without an objective does not compile.
// Pure data: the studio imports this file (see eslint.config.js).

/**
 * The kinds of training data (TRL's dataset types), each trained by one or more methods; a
 * dataset format knows its kind (data/formats.ts: a format's default method; KTO's
 * prompt/completion/label rows: data/unpaired.ts), so the method can be taken from the data.
 */
export const DATA_KINDS = {
  sft: 'SFT rows',
  preference: 'preference pairs',
  unpaired: 'unpaired preference rows (prompt/completion/label)',
} as const;
export type DataKind = keyof typeof DATA_KINDS;

export interface MethodInfo {
  /** The Method menu's text. */
  label: string;
  /** The kind of data the method trains on (the first method of a kind is the one the data implies). */
  data: DataKind;
  /** Other kinds it also reads (KTO unpairs preference pairs as TRL does). */
  alsoReads?: readonly DataKind[];
  /** What one example is, singular and plural ("3 pairs"); per_device_train_batch_size counts these. */
  unit: readonly [string, string];
  /** One line: when to use it (README, the menu's tooltip). */
  when: string;
  /** Defaults of this method that differ from the field table's, by recipe key (a recipe may still set its own). */
  defaults: Readonly<Record<string, unknown>>;
  /** The smallest per_device_train_batch_size the method works with, and why (checked when a recipe resolves). */
  minBatchSize?: { size: number; why: string };
}

export const METHOD_INFO = {
  sft: {
    label: 'SFT — supervised fine-tuning',
    data: 'sft',
    unit: ['row', 'rows'],
    when: 'teach the model a format, a task or a voice from example answers (the first step, before any preference tuning)',
    defaults: {},
  },
  // LoRA SFT commonly uses 2e-4 (the table's default); LoRA DPO much lower (TRL's DPO default is 1e-6 for full fine-tunes).
  dpo: {
    label: 'DPO — preference pairs',
    data: 'preference',
    unit: ['pair', 'pairs'],
    when: 'you have pairs of a better and a worse answer and a model already tuned by SFT; the default preference method',
    defaults: { learning_rate: 5e-6 },
  },
  orpo: {
    label: 'ORPO — pairs, SFT and preference in one',
    data: 'preference',
    unit: ['pair', 'pairs'],
    when: 'preference pairs on a model without SFT: one stage instead of SFT then DPO, no reference model (half the forward passes)',
    defaults: { learning_rate: 5e-6 },
  },
  simpo: {
    label: 'SimPO — pairs, no reference model',
    data: 'preference',
    unit: ['pair', 'pairs'],
    when: 'DPO-like preference tuning with no reference model and length-normalised rewards: less memory and compute than DPO',
    // The SimPO paper's beta (TRL's CPOConfig keeps 0.1, its DPO-style default).
    defaults: { learning_rate: 5e-6, beta: 2.0 },
  },
  kto: {
    label: 'KTO — thumbs up / thumbs down',
    data: 'unpaired',
    alsoReads: ['preference'],
    unit: ['example', 'examples'],
    when: 'you have single answers marked good or bad (thumbs up/down), not pairs; also takes pair files',
    defaults: { learning_rate: 5e-6 },
    minBatchSize: { size: 2, why: "its KL term pairs each prompt with another row's completion of the batch (TRL refuses 1)" },
  },
  reward: {
    label: 'Reward model — scores answers',
    data: 'preference',
    unit: ['pair', 'pairs'],
    when: 'a model that scores answers (a score head on the LoRA model), for best-of-N sampling, filtering data or RLHF',
    // TRL's RewardConfig default.
    defaults: { learning_rate: 1e-4 },
  },
} as const satisfies Record<string, MethodInfo>;

export type Method = keyof typeof METHOD_INFO;

export const METHODS = Object.keys(METHOD_INFO) as [Method, ...Method[]];

export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(METHOD_INFO, value);
}

/** "1 pair", "3 rows", "5 examples". */
export function countLabel(method: Method, n: number): string {
  const [one, many] = METHOD_INFO[method].unit;
  return `${n} ${n === 1 ? one : many}`;
}

/** Whether `method` trains on the kind of data that `formatMethod` (a format's default method) reads. */
export function sameDataKind(method: Method, formatMethod: Method): boolean {
  return METHOD_INFO[method].data === METHOD_INFO[formatMethod].data;
}

/** Whether `method` trains on data of `kind` (its own kind, or one it converts, as KTO unpairs pairs). */
export function methodReads(method: Method, kind: DataKind): boolean {
  const info: MethodInfo = METHOD_INFO[method];
  return info.data === kind || (info.alsoReads ?? []).includes(kind);
}

/** The method a kind of data implies: the first that trains on it (sft, dpo, kto). */
export function methodForData(kind: DataKind): Method {
  return METHODS.find((m) => METHOD_INFO[m].data === kind)!;
}

/** "sft for SFT rows, dpo for preference pairs, kto for ...": how the method follows from the data. */
export function methodsByDataKind(): string {
  return (Object.keys(DATA_KINDS) as DataKind[]).map((kind) => `${methodForData(kind)} for ${DATA_KINDS[kind]}`).join(', ');
}
