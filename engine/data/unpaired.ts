// Unpaired preference data (KTO): TRL's `prompt` / `completion` / `label` rows, label true for a
// desirable completion and false for an undesirable one, in the standard (text) or conversational
// (messages) form; and preference pairs unpaired the way TRL does it (data_utils._unpair_row:
// datasets maps batches of 1000 pairs, each becoming its chosen rows (true), then its rejected
// rows (false)). Read and validated row by row: every problem names its field (the loader adds
// file and line).
import type { ChatMessage } from './chatTemplate.ts';
import type { PreferenceRecord } from './formats.ts';
import { parseTools, requireAssistant, textOrMessages, withSystem } from './messages.ts';
import { describe, RowProblem } from './validate.ts';

export const UNPAIRED_FORMAT = { id: 'unpaired', name: 'unpaired preference rows (prompt/completion/label)' } as const;

export interface UnpairedRecord {
  prompt: string | ChatMessage[];
  completion: string | ChatMessage[];
  /** true: a desirable completion (KTO's chosen), false: an undesirable one. */
  label: boolean;
  tools?: unknown[];
}

/** Rows in TRL's unpaired form: prompt and completion columns and a true/false label in the first rows. */
export function isUnpairedData(rows: Record<string, unknown>[]): boolean {
  const first = rows.slice(0, 100);
  const cols = new Set(first.flatMap((r) => Object.keys(r)));
  return cols.has('prompt') && cols.has('completion') && cols.has('label') && !cols.has('chosen') && first.some((r) => isLabel(r['label']));
}

/** true/false; CSV cells arrive as text, so "true"/"false" (any case) are read as booleans too. */
function isLabel(v: unknown): boolean {
  return typeof v === 'boolean' || (typeof v === 'string' && ['true', 'false'].includes(v.trim().toLowerCase()));
}

/** Converts one unpaired row; throws RowProblem naming the field. */
export function toUnpairedRecord(row: Record<string, unknown>): UnpairedRecord {
  const v = row['label'];
  if (v === undefined || v === null) throw new RowProblem('label', 'missing (true for a desirable completion, false for an undesirable one)');
  if (!isLabel(v)) throw new RowProblem('label', `must be true or false, got ${typeof v === 'string' ? JSON.stringify(v) : describe(v)}`);
  const label = typeof v === 'boolean' ? v : (v as string).trim().toLowerCase() === 'true';
  const rawPrompt = textOrMessages(row, 'prompt');
  const prompt = typeof rawPrompt === 'string' && row['system'] === undefined ? rawPrompt : withSystem(row, typeof rawPrompt === 'string' ? [{ role: 'user', content: rawPrompt }] : rawPrompt);
  const completion = textOrMessages(row, 'completion');
  if (Array.isArray(completion)) {
    requireAssistant(completion, 'completion');
    if (completion.at(-1)!.role !== 'assistant') throw new RowProblem('completion', 'must end with an assistant message');
  }
  if (Array.isArray(prompt) && prompt.at(-1)?.role === 'assistant') throw new RowProblem('prompt', 'must not end with an assistant message');
  const tools = parseTools(row);
  return tools ? { prompt, completion, label, tools } : { prompt, completion, label };
}

/** TRL's map batch size, which decides where unpaired chosen rows stop and rejected rows start. */
export const UNPAIR_BATCH = 1000;

/**
 * Pairs -> unpaired rows as TRL's maybe_unpair_preference_dataset orders them: for each block of
 * 1000 pairs, every chosen completion (label true), then every rejected one (label false). `line`
 * keeps each row's source line.
 */
export function unpairPreferences<T extends { rec: PreferenceRecord; line: number }>(pairs: T[]): { rec: UnpairedRecord; line: number }[] {
  const out: { rec: UnpairedRecord; line: number }[] = [];
  for (let start = 0; start < pairs.length; start += UNPAIR_BATCH) {
    const block = pairs.slice(start, start + UNPAIR_BATCH);
    for (const label of [true, false]) {
      for (const { rec, line } of block) {
        const row: UnpairedRecord = { prompt: rec.prompt, completion: label ? rec.chosen : rec.rejected, label };
        if (rec.tools) row.tools = rec.tools;
        out.push({ rec: row, line });
      }
    }
  }
  return out;
}

/**
 * TRL KTOTrainer's hint when desirable and undesirable rows are unbalanced (kto_trainer.py, from
 * Eq. (8) of the KTO paper): null when either weight is in its recommended range.
 */
export function ktoWeightAdvice(desirable: number, undesirable: number, desirableWeight: number, undesirableWeight: number): string | null {
  const nd = Math.max(desirable, 1);
  const nu = Math.max(undesirable, 1);
  if (nd === nu) return null;
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const dLow = round2((nu * undesirableWeight) / nd);
  const dHigh = round2(((nu * undesirableWeight) / nd) * 1.33);
  const uLow = round2((nd * desirableWeight) / nu / 1.33);
  const uHigh = round2((nd * desirableWeight) / nu);
  if ((dLow <= desirableWeight && desirableWeight <= dHigh) || (uLow <= undesirableWeight && undesirableWeight <= uHigh)) return null;
  return (
    `${desirable} desirable and ${undesirable} undesirable rows, but desirable_weight ${desirableWeight} and undesirable_weight ${undesirableWeight} ` +
    `are not in the recommended range: set EITHER desirable_weight in [${dLow}, ${dHigh}] OR undesirable_weight in [${uLow}, ${uHigh}] (not both).`
  );
}
