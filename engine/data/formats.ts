// Dataset formats: which one a file is in (from its column names) and the conversion of each row
// into a canonical record. SFT: OpenAI `messages`, ShareGPT `conversations`, Alpaca,
// `prompt`/`completion`, plain `text`. Preferences (DPO): `prompt`/`chosen`/`rejected` (TRL's
// standard and conversational forms), implicit-prompt rows with only `chosen`/`rejected`
// (Anthropic HH transcripts, or message lists), and UltraFeedback-binarized rows.
import type { ChatMessage } from './chatTemplate.ts';
import {
  describe,
  parseMessages,
  requireAssistant,
  requireText,
  RowProblem,
  sameMessages,
  textOrMessages,
} from './validate.ts';
import type { Method } from '../recipe/methods.ts';

export type { Method };

export type FormatId = 'messages' | 'sharegpt' | 'alpaca' | 'prompt_completion' | 'text' | 'preference' | 'hh' | 'ultrafeedback';

export const FORMAT_NAMES: Record<FormatId, string> = {
  messages: 'OpenAI messages',
  sharegpt: 'ShareGPT',
  alpaca: 'Alpaca',
  prompt_completion: 'prompt/completion',
  text: 'text',
  preference: 'preference pairs (prompt/chosen/rejected)',
  hh: 'Anthropic HH (implicit prompt)',
  ultrafeedback: 'UltraFeedback binarized',
};

export const FORMAT_METHOD: Record<FormatId, Method> = {
  messages: 'sft',
  sharegpt: 'sft',
  alpaca: 'sft',
  prompt_completion: 'sft',
  text: 'sft',
  preference: 'dpo',
  hh: 'dpo',
  ultrafeedback: 'dpo',
};

export interface DetectedFormat {
  id: FormatId;
  /** A human name, e.g. "ShareGPT". */
  name: string;
  method: Method;
  /** The columns the conversion reads. */
  columns: string[];
}

/** An SFT row in canonical form. */
export type SftRecord =
  | { kind: 'conversation'; messages: ChatMessage[] }
  | { kind: 'prompt_completion'; prompt: string | ChatMessage[]; completion: string | ChatMessage[] }
  | { kind: 'text'; text: string };

/** A preference row: the prompt and two completions (all text, or all messages). */
export interface PreferenceRecord {
  prompt: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
}

const HH_ASSISTANT = '\n\nAssistant:';
const SHAREGPT_ROLES: Record<string, string> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  model: 'assistant',
  system: 'system',
  tool: 'tool',
  observation: 'tool',
};

const SCORE_COLUMNS = ['score_chosen', 'score_rejected', 'prompt_id'];

/**
 * Detects the format from the column names of the rows (the union over the first rows, so an
 * optional column like Alpaca's `input` missing from one row does not matter). `method` picks
 * between SFT and preference readings where the columns allow both.
 */
export function detectFormat(rows: Record<string, unknown>[], method?: Method): DetectedFormat | null {
  const cols = new Set<string>();
  for (const r of rows.slice(0, 100)) for (const k of Object.keys(r)) cols.add(k);
  const has = (...names: string[]) => names.every((n) => cols.has(n));
  const make = (id: FormatId, columns: string[]): DetectedFormat => ({ id, name: FORMAT_NAMES[id], method: FORMAT_METHOD[id], columns });
  const pref = (): DetectedFormat | null => {
    if (!has('chosen', 'rejected')) return null;
    if (has('prompt')) {
      const listy = rows.slice(0, 20).some((r) => Array.isArray(r['chosen']) && startsWithPrompt(r['chosen']));
      if (listy && (SCORE_COLUMNS.some((c) => cols.has(c)) || cols.has('messages'))) return make('ultrafeedback', ['prompt', 'chosen', 'rejected']);
      return make('preference', ['prompt', 'chosen', 'rejected']);
    }
    return make('hh', ['chosen', 'rejected']);
  };
  const sft = (): DetectedFormat | null => {
    if (has('messages')) return make('messages', ['messages']);
    if (has('conversations')) return make('sharegpt', ['conversations']);
    if (has('instruction', 'output')) return make('alpaca', ['instruction', 'input', 'output'].filter((c) => cols.has(c)));
    if (has('prompt', 'completion')) return make('prompt_completion', ['prompt', 'completion']);
    if (has('text')) return make('text', ['text']);
    return null;
  };
  return method === 'sft' ? (sft() ?? pref()) : (pref() ?? sft());
}

/** What a row of each format needs, for the "unknown format" message. */
export const FORMAT_HELP =
  'Expected columns: messages (OpenAI), conversations (ShareGPT), instruction/input/output (Alpaca), prompt/completion, text, ' +
  'or for DPO prompt/chosen/rejected (or chosen/rejected with the prompt inside, as Anthropic HH).';

function startsWithPrompt(v: unknown[]): boolean {
  const first = v[0] as { role?: unknown } | undefined;
  return typeof first === 'object' && first !== null && first.role !== 'assistant';
}

/** Converts one SFT row; throws RowProblem naming the field. */
export function toSftRecord(format: FormatId, row: Record<string, unknown>): SftRecord {
  switch (format) {
    case 'messages': {
      const messages = parseMessages(row['messages'], 'messages');
      requireAssistant(messages, 'messages');
      return { kind: 'conversation', messages };
    }
    case 'sharegpt': {
      const messages = parseMessages(row['conversations'], 'conversations', { roleKey: 'from', contentKey: 'value', roleMap: SHAREGPT_ROLES });
      requireAssistant(messages, 'conversations');
      return { kind: 'conversation', messages };
    }
    case 'alpaca': {
      const instruction = requireText(row, 'instruction');
      const input = row['input'];
      if (input !== undefined && input !== null && typeof input !== 'string') throw new RowProblem('input', `must be text, got ${describe(input)}`);
      const output = requireText(row, 'output');
      const user = input && input.trim() !== '' ? `${instruction}\n\n${input}` : instruction;
      return { kind: 'prompt_completion', prompt: [{ role: 'user', content: user }], completion: [{ role: 'assistant', content: output }] };
    }
    case 'prompt_completion': {
      const prompt = textOrMessages(row, 'prompt');
      const completion = textOrMessages(row, 'completion');
      if (Array.isArray(completion)) requireAssistant(completion, 'completion');
      return { kind: 'prompt_completion', prompt, completion };
    }
    case 'text':
      return { kind: 'text', text: requireText(row, 'text') };
    default:
      throw new RowProblem(null, `is a preference pair (${FORMAT_NAMES[format]}), not an SFT row`);
  }
}

/** Converts one preference row; throws RowProblem naming the field. */
export function toPreferenceRecord(format: FormatId, row: Record<string, unknown>): PreferenceRecord {
  if (FORMAT_METHOD[format] !== 'dpo') throw new RowProblem(null, `is an SFT row (${FORMAT_NAMES[format]}), not a preference pair`);
  const chosen = textOrMessages(row, 'chosen');
  const rejected = textOrMessages(row, 'rejected');
  if (JSON.stringify(chosen) === JSON.stringify(rejected)) throw new RowProblem('rejected', 'is identical to chosen, so the pair teaches nothing');
  let rec: PreferenceRecord;
  if (format === 'preference' || format === 'ultrafeedback') {
    if (Array.isArray(chosen) && Array.isArray(rejected) && startsWithPrompt(chosen) && startsWithPrompt(rejected)) {
      // UltraFeedback-binarized: chosen/rejected hold the whole conversation; the prompt column repeats its first turn.
      rec = splitMessages(chosen, rejected);
    } else {
      const prompt = textOrMessages(row, 'prompt');
      rec = { prompt, chosen, rejected };
    }
  } else {
    if (typeof chosen === 'string' && typeof rejected === 'string') rec = splitHh(chosen, rejected);
    else if (Array.isArray(chosen) && Array.isArray(rejected)) rec = splitMessages(chosen, rejected);
    else throw new RowProblem('rejected', 'chosen and rejected must both be text or both be lists of messages');
  }
  checkPair(rec);
  return rec;
}

function checkPair(rec: PreferenceRecord): void {
  const { chosen, rejected } = rec;
  if (Array.isArray(chosen) !== Array.isArray(rejected)) throw new RowProblem('rejected', 'chosen and rejected must both be text or both be lists of messages');
  if (JSON.stringify(chosen) === JSON.stringify(rejected)) throw new RowProblem('rejected', 'is identical to chosen, so the pair teaches nothing');
  for (const [name, v] of [['chosen', chosen], ['rejected', rejected]] as const) {
    if (Array.isArray(v) && v.at(-1)?.role !== 'assistant') throw new RowProblem(name, 'must end with an assistant message');
  }
  if (Array.isArray(rec.prompt) && rec.prompt.at(-1)?.role === 'assistant') throw new RowProblem('prompt', 'must not end with an assistant message');
}

/** Message-list pairs with the prompt inside: the shared leading messages are the prompt. */
export function splitMessages(chosen: ChatMessage[], rejected: ChatMessage[]): PreferenceRecord {
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameMessages(chosen[k], rejected[k])) k++;
  // The completions start at an assistant message: back up over shared assistant turns.
  while (k > 0 && chosen[k - 1].role === 'assistant') k--;
  if (k === 0) throw new RowProblem('chosen', 'chosen and rejected share no leading messages, so the prompt cannot be found (add a "prompt" column)');
  if (k === chosen.length) throw new RowProblem('chosen', 'has nothing after the shared prompt messages');
  if (k === rejected.length) throw new RowProblem('rejected', 'has nothing after the shared prompt messages');
  return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}

/**
 * Anthropic HH transcripts (`\n\nHuman: ...\n\nAssistant: ...`): the prompt is the longest shared
 * prefix that ends at an "\n\nAssistant:" boundary; the completions are what follows.
 */
export function splitHh(chosen: string, rejected: string): PreferenceRecord {
  let common = 0;
  const n = Math.min(chosen.length, rejected.length);
  while (common < n && chosen[common] === rejected[common]) common++;
  const at = chosen.lastIndexOf(HH_ASSISTANT, common - HH_ASSISTANT.length);
  if (at < 0 || common < HH_ASSISTANT.length) {
    throw new RowProblem('chosen', 'chosen and rejected share no prefix ending in "\\n\\nAssistant:", so the prompt cannot be found (add a "prompt" column)');
  }
  const cut = at + HH_ASSISTANT.length;
  const rec = { prompt: chosen.slice(0, cut), chosen: chosen.slice(cut), rejected: rejected.slice(cut) };
  if (rec.chosen.trim() === '') throw new RowProblem('chosen', 'is empty after the shared prompt');
  if (rec.rejected.trim() === '') throw new RowProblem('rejected', 'is empty after the shared prompt');
  return rec;
}

/**
 * An HH prompt as messages (for tokenizers with a chat template): "\n\nHuman: a\n\nAssistant: b
 * \n\nHuman: c\n\nAssistant:" -> user a, assistant b, user c. Null when it is not HH-shaped.
 */
export function hhToMessages(prompt: string): ChatMessage[] | null {
  const parts = prompt.split(/\n\n(Human|Assistant):/);
  if (parts[0].trim() !== '' || parts.length < 3) return null;
  const messages: ChatMessage[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const content = parts[i + 1].trim();
    const role = parts[i] === 'Human' ? 'user' : 'assistant';
    if (content === '' && i === parts.length - 2 && role === 'assistant') break; // the trailing "Assistant:"
    if (content === '') return null;
    messages.push({ role, content });
  }
  return messages.length && messages.at(-1)!.role === 'user' ? messages : null;
}
