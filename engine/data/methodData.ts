// Datasets by training method (engine/recipe/methods.ts): which reader and tokenizer each method's
// rows go through, for inspection (no tokenizer) and for training. SFT and DPO rows, and the
// ORPO / SimPO pairs (tokenized as TRL's ORPO and CPO trainers do: BOS and EOS added where
// missing), come from dataset.ts; KTO's unpaired rows and reward-model pairs from methodDatasets.ts.
// With no method asked, a file of unpaired rows (prompt/completion/label) is KTO data; the other
// methods refuse it (formats.ts unsupportedFormat).
import type { ByteSource } from '../io/byteSource.ts';
import type { Method } from '../recipe/methods.ts';
import { inspectDataset, loadTrainingExamples, PREVIEW_ROWS, readDatasetRows, samplePrompt, type DatasetInspection, type LoadedDataset, type LoadOptions } from './dataset.ts';
import type { TokenizedRow, TrainingExamples } from './examples.ts';
import { loadRewardExamples, loadUnpairedExamples, readUnpairedRecords, unpairedRow } from './methodDatasets.ts';
import type { ChatTokenizer } from './tokenizer.ts';
import { isUnpairedData, UNPAIRED_FORMAT } from './unpaired.ts';

export interface MethodDataOptions extends LoadOptions {
  /** KTO's desirable_weight / undesirable_weight (TRL's advice on the label balance becomes a warning). */
  ktoWeights?: { desirable: number; undesirable: number };
}

type Loader = (src: ByteSource, tokenizer: ChatTokenizer, opts: MethodDataOptions) => Promise<LoadedDataset>;

const LOADERS: { [M in Method]: Loader } = {
  sft: loadTrainingExamples,
  dpo: loadTrainingExamples,
  orpo: (src, tok, opts) => loadTrainingExamples(src, tok, { ...opts, addBosEos: true }),
  simpo: (src, tok, opts) => loadTrainingExamples(src, tok, { ...opts, addBosEos: true }),
  kto: async (src, tok, opts) => {
    const r = await loadUnpairedExamples(src, tok, opts);
    return { ...r, examples: { method: 'kto', rows: r.examples }, formatId: 'unpaired' };
  },
  reward: async (src, tok, opts) => {
    const r = await loadRewardExamples(src, tok, opts);
    return { ...r, examples: { method: 'reward', rows: r.examples }, formatId: 'preference' };
  },
};

/** Reads, validates and tokenizes a dataset into the rows `opts.method` trains on. */
export function loadMethodExamples(src: ByteSource, tokenizer: ChatTokenizer, opts: MethodDataOptions): Promise<LoadedDataset> {
  return LOADERS[opts.method](src, tokenizer, opts);
}

/**
 * Format, row count, errors by line and a preview, for `method` (or the method the file's format
 * implies: SFT rows, DPO pairs, or KTO's unpaired rows); no tokenizer needed. KTO counts the rows
 * it trains on: a pair file's pairs count twice (unpaired as TRL does it).
 */
export async function inspectMethodData(src: ByteSource, opts: { method?: Method } = {}): Promise<DatasetInspection> {
  if (opts.method !== 'kto') {
    // A method asked for (and fitting the rows) is the report's method, not the format's default (dpo for any pairs).
    if (opts.method) return { ...(await inspectDataset(src, opts)), method: opts.method };
    if (!isUnpairedData((await readDatasetRows(src)).read.rows.slice(0, 100).map((r) => r.data))) return inspectDataset(src);
  }
  const u = await readUnpairedRecords(src);
  const first = u.read.rows.slice(0, PREVIEW_ROWS);
  return {
    file: u.read.file,
    fileFormat: u.read.fileFormat,
    compression: u.read.compression,
    format: u.format,
    formatId: u.format === UNPAIRED_FORMAT.name ? 'unpaired' : 'preference',
    method: 'kto',
    rows: u.total,
    validRows: u.records.length,
    errors: u.issues,
    preview: first.map((r) => r.data),
    previewLines: first.map((r) => r.line),
    columns: [...new Set(u.read.rows.slice(0, 100).flatMap((r) => Object.keys(r.data)))],
    samplePrompt: u.records.length ? samplePrompt(u.records[0].rec) : null,
    // KTO trains each row on its own: no pairs to preview.
    previewRecords: [],
  };
}

/**
 * The row the mask inspector shows for a training set: its first example as the model sees it
 * (DPO-like pairs: the chosen sequence; KTO: prompt + completion; a reward pair: the chosen
 * sequence, whose last token is the one scored).
 */
export function firstTrainingRow(ex: TrainingExamples): TokenizedRow | null {
  switch (ex.method) {
    case 'sft':
      return ex.rows[0] ?? null;
    case 'kto':
      return ex.rows[0] ? unpairedRow(ex.rows[0]) : null;
    case 'reward': {
      const ids = ex.rows[0]?.chosen;
      return ids ? { ids, trainMask: ids.map((_, i) => (i === ids.length - 1 ? 1 : 0)) } : null;
    }
    default:
      return ex.rows[0]?.chosen ?? null;
  }
}
