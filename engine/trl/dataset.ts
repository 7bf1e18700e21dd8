// A dataset in the form TRL's trainers read, built from the rows exactly as Whetstone reads them
// (same formats, same validation, same invalid-row policy), for `whetstone recipe --to trl`.
//   SFT:   prompt/completion rows when every example is one (or a conversation whose only
//          assistant turn is its last); otherwise `messages` rows (trained with assistant_only_loss);
//          `text` rows as they are. A `tools` column is kept.
//   DPO, ORPO, SimPO, reward: prompt/chosen/rejected.
//   KTO:   prompt/completion/label (preference pairs unpaired as TRL would, in TRL's order).
// With a chat template, Whetstone wraps text prompts and answers in it (a user turn and an assistant
// turn; Anthropic HH prompts become their turns), so the rows are written conversational then, and
// TRL applies the same template. Without one, text rows stay text.
import type { ByteSource } from '../io/byteSource.ts';
import type { ChatMessage } from '../data/chatTemplate.ts';
import { readAndConvert } from '../data/dataset.ts';
import { FORMAT_NAMES, type PreferenceRecord, type SftRecord } from '../data/formats.ts';
import { readUnpairedRecords } from '../data/methodDatasets.ts';
import { hhToMessages } from '../data/records.ts';
import { formatIssue, refuseInvalid, type DatasetIssue } from '../data/validate.ts';
import { epochOrder } from '../train/batching.ts';
import type { TrlMethod } from './names.ts';

export type TrlRow = Record<string, unknown>;

export interface TrlDataset {
  rows: TrlRow[];
  /** 'messages' rows need assistant_only_loss for Whetstone's completion-only SFT. */
  style: 'messages' | 'prompt_completion' | 'text' | 'preference' | 'unpaired';
  format: string;
  issues: DatasetIssue[];
  warnings: string[];
}

export async function trlDataset(src: ByteSource, method: TrlMethod, opts: { chatTemplate: boolean; skipInvalidRows: boolean }): Promise<TrlDataset> {
  const { chatTemplate } = opts;
  if (method === 'kto') {
    const u = await readUnpairedRecords(src);
    refuse(u.read.file, u.issues, u.total, opts.skipInvalidRows);
    const rows = u.records.map(({ rec }) => {
      const [prompt, completion] = side(rec.prompt, [rec.completion], chatTemplate);
      return withTools({ prompt, completion: completion[0], label: rec.label }, rec.tools);
    });
    return { rows, style: 'unpaired', format: u.format, issues: u.issues, warnings: skippedWarning(u.issues, u.total) };
  }
  const c = await readAndConvert(src, method === 'sft' ? 'sft' : 'dpo');
  refuse(c.read.file, c.issues, c.total, opts.skipInvalidRows);
  const warnings = skippedWarning(c.issues, c.total);
  const format = FORMAT_NAMES[c.formatId];
  if (method !== 'sft') {
    let dropped = false;
    const rows = c.records.map(({ rec }) => {
      const r = rec as PreferenceRecord;
      dropped ||= Boolean(r.tools);
      const [prompt, [chosen, rejected]] = side(r.prompt, [r.chosen, r.rejected], chatTemplate);
      return { prompt, chosen, rejected };
    });
    if (dropped) warnings.push('the tools column was left out: TRL\'s preference trainers take tools as one setting for the whole run, not per row');
    return { rows, style: 'preference', format, issues: c.issues, warnings };
  }
  const recs = c.records.map((r) => r.rec as SftRecord);
  if (recs.every((r) => r.kind === 'text')) return { rows: recs.map((r) => ({ text: (r as { text: string }).text })), style: 'text', format, issues: c.issues, warnings };
  const singleTurn = recs.every((r) => r.kind === 'prompt_completion' || (r.kind === 'conversation' && lastTurnOnly(r.messages)));
  if (singleTurn) {
    const rows = recs.map((r) => {
      if (r.kind === 'conversation') return withTools({ prompt: r.messages.slice(0, -1), completion: r.messages.slice(-1) }, r.tools);
      const pc = r as Extract<SftRecord, { kind: 'prompt_completion' }>;
      const [prompt, [completion]] = side(pc.prompt, [pc.completion], chatTemplate);
      return withTools({ prompt, completion }, pc.tools);
    });
    return { rows, style: 'prompt_completion', format, issues: c.issues, warnings };
  }
  const rows = recs.map((r) => {
    if (r.kind === 'conversation') return withTools({ messages: r.messages }, r.tools);
    const pc = r as Extract<SftRecord, { kind: 'prompt_completion' }>;
    const [prompt, [completion]] = side(pc.prompt, [pc.completion], true);
    return withTools({ messages: [...(prompt as ChatMessage[]), ...(completion as ChatMessage[])] }, pc.tools);
  });
  return { rows, style: 'messages', format, issues: c.issues, warnings };
}

/**
 * Holds out a seeded fraction as Whetstone's eval_split does (engine/train/evalSplit.ts: the first
 * round(n·fraction) of a seeded order, at least one row each side). The same rows as a Whetstone run
 * whenever no row is dropped for length there.
 */
export function splitRows<T>(rows: T[], fraction: number, seed: number): [T[], T[]] {
  if (fraction <= 0 || rows.length < 2) return [rows, []];
  const held = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * fraction)));
  const evalIdx = new Set(epochOrder(rows.length, seed, -1).slice(0, held));
  return [rows.filter((_, i) => !evalIdx.has(i)), rows.filter((_, i) => evalIdx.has(i))];
}

/** JSON Lines text of rows. */
export function jsonLines(rows: TrlRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** A prompt and its answers as TRL reads them: conversational with a chat template, else as they are. */
function side(prompt: string | ChatMessage[], answers: (string | ChatMessage[])[], chatTemplate: boolean): [string | ChatMessage[], (string | ChatMessage[])[]] {
  if (!chatTemplate) return [prompt, answers];
  const hh = typeof prompt === 'string' ? hhToMessages(prompt) : null;
  const turns = hh ?? (typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt);
  return [turns, answers.map((a) => (typeof a === 'string' ? [{ role: 'assistant', content: hh ? a.trim() : a }] : a))];
}

function lastTurnOnly(messages: ChatMessage[]): boolean {
  return messages.filter((m) => m.role === 'assistant').length === 1 && messages.at(-1)!.role === 'assistant';
}

function withTools(row: TrlRow, tools: unknown[] | undefined): TrlRow {
  return tools ? { ...row, tools } : row;
}

function refuse(file: string, issues: DatasetIssue[], total: number, skipInvalidRows: boolean): void {
  if (!skipInvalidRows) refuseInvalid(file, issues, total);
}

function skippedWarning(issues: DatasetIssue[], total: number): string[] {
  if (!issues.length) return [];
  return [`left out ${issues.length} invalid row${issues.length === 1 ? '' : 's'} of ${total} (skip_invalid_rows): ${issues.slice(0, 3).map(formatIssue).join('; ')}${issues.length > 3 ? '; ...' : ''}`];
}
