// Dataset formats: which one a file is in, from its column names (and, where names are not
// enough, the shape of the first values). The conversion of each row lives in records.ts.
// SFT: OpenAI `messages`, ShareGPT `conversations`, Alpaca (`instruction` + `output` or
// `response`), `prompt`/`completion`, plain `text`. Preferences (DPO): `prompt`/`chosen`/
// `rejected` (TRL's standard and conversational forms), implicit-prompt `chosen`/`rejected`
// (Anthropic HH transcripts, or message lists), UltraFeedback binarized, LLaMA-Factory's
// preference forms (`conversations` + `chosen`/`rejected` messages; `instruction` +
// `chosen`/`rejected` text), and `chosen_messages`/`rejected_messages`. Optional columns read
// where present: `system`, `tools`, `history` (Alpaca).
import type { ChatMessage } from './chatTemplate.ts';
import type { Method } from '../recipe/methods.ts';

export type { Method };

export type FormatId =
  | 'messages'
  | 'sharegpt'
  | 'alpaca'
  | 'prompt_completion'
  | 'text'
  | 'preference'
  | 'hh'
  | 'ultrafeedback'
  | 'sharegpt_preference'
  | 'alpaca_preference'
  | 'preference_messages';

export const FORMAT_NAMES: Record<FormatId, string> = {
  messages: 'OpenAI messages',
  sharegpt: 'ShareGPT',
  alpaca: 'Alpaca',
  prompt_completion: 'prompt/completion',
  text: 'text',
  preference: 'preference pairs (prompt/chosen/rejected)',
  hh: 'Anthropic HH (implicit prompt)',
  ultrafeedback: 'UltraFeedback binarized',
  sharegpt_preference: 'LLaMA-Factory preference (conversation + chosen/rejected messages)',
  alpaca_preference: 'Alpaca preference (instruction/chosen/rejected)',
  preference_messages: 'preference pairs (chosen_messages/rejected_messages)',
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
  sharegpt_preference: 'dpo',
  alpaca_preference: 'dpo',
  preference_messages: 'dpo',
};

export interface DetectedFormat {
  id: FormatId;
  /** A human name, e.g. "ShareGPT". */
  name: string;
  method: Method;
  /** The columns the conversion reads. */
  columns: string[];
}

/** An SFT row in canonical form. `tools`: JSON tool schemas for the chat template (transformers' tools=). */
export type SftRecord =
  | { kind: 'conversation'; messages: ChatMessage[]; tools?: unknown[] }
  | { kind: 'prompt_completion'; prompt: string | ChatMessage[]; completion: string | ChatMessage[]; tools?: unknown[] }
  | { kind: 'text'; text: string };

/** A preference row: the prompt and two completions (all text, or all messages). */
export interface PreferenceRecord {
  prompt: string | ChatMessage[];
  chosen: string | ChatMessage[];
  rejected: string | ChatMessage[];
  tools?: unknown[];
}

const SCORE_COLUMNS = ['score_chosen', 'score_rejected', 'prompt_id'];
/** Optional columns read by the formats that have a prompt. */
const EXTRA = ['system', 'tools'];

/**
 * Detects the format from the column names of the rows (the union over the first rows, so an
 * optional column like Alpaca's `input` missing from one row does not matter). `method` picks
 * between SFT and preference readings where the columns allow both. Null when nothing fits
 * (formatHints.ts then says which columns to rename).
 */
export function detectFormat(rows: Record<string, unknown>[], method?: Method): DetectedFormat | null {
  const first = rows.slice(0, 100);
  const cols = new Set<string>();
  for (const r of first) for (const k of Object.keys(r)) cols.add(k);
  const has = (...names: string[]) => names.every((n) => cols.has(n));
  const make = (id: FormatId, columns: string[], optional: string[] = []): DetectedFormat => ({
    id,
    name: FORMAT_NAMES[id],
    method: FORMAT_METHOD[id],
    columns: [...columns, ...optional.filter((c) => cols.has(c))],
  });
  const values = (col: string) => first.map((r) => r[col]).filter((v) => v !== undefined && v !== null);
  const pref = (): DetectedFormat | null => {
    if (has('chosen_messages', 'rejected_messages') && !has('chosen', 'rejected')) return make('preference_messages', ['chosen_messages', 'rejected_messages'], ['prompt', ...EXTRA]);
    if (!has('chosen', 'rejected')) return null;
    if (has('prompt')) {
      const listy = rows.slice(0, 20).some((r) => Array.isArray(r['chosen']) && startsWithPrompt(r['chosen']));
      if (listy && (SCORE_COLUMNS.some((c) => cols.has(c)) || cols.has('messages'))) return make('ultrafeedback', ['prompt', 'chosen', 'rejected']);
      return make('preference', ['prompt', 'chosen', 'rejected'], EXTRA);
    }
    // LLaMA-Factory: the conversation so far in `conversations` (or `messages`), the two answers
    // as one message object each (or a list of assistant messages).
    const conv = ['conversations', 'messages'].find((c) => cols.has(c));
    if (conv && values('chosen').slice(0, 20).every(isAnswerMessages)) return make('sharegpt_preference', [conv, 'chosen', 'rejected'], EXTRA);
    if (has('instruction')) return make('alpaca_preference', ['instruction', 'chosen', 'rejected'], ['input', 'history', ...EXTRA]);
    if (PROMPT_LIKE.some((c) => cols.has(c))) return null; // a prompt under another name: formatHints says to rename it
    return make('hh', ['chosen', 'rejected']);
  };
  const sft = (): DetectedFormat | null => {
    if (has('messages')) return make('messages', ['messages'], EXTRA);
    if (has('conversations')) return make('sharegpt', ['conversations'], EXTRA);
    const output = ['output', 'response'].find((c) => cols.has(c));
    if (has('instruction') && output) return make('alpaca', ['instruction', output], ['input', 'history', 'system']);
    if (has('prompt', 'completion')) return make('prompt_completion', ['prompt', 'completion'], EXTRA);
    if (has('text')) return make('text', ['text']);
    return null;
  };
  return method === 'sft' ? (sft() ?? pref()) : (pref() ?? sft());
}

/** Prompt columns under other names (Intel/orca_dpo_pairs has question/chosen/rejected). */
export const PROMPT_LIKE = ['question', 'query', 'context', 'input'];

/** LLaMA-Factory's `chosen`: one message object (or a list of answer messages, or the answer's text). */
function isAnswerMessages(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return true;
  return Array.isArray(v) && v.length > 0 && !startsWithPrompt(v);
}

/** A message list that starts with the prompt (a user or system turn), not with the answer. */
export function startsWithPrompt(v: unknown[]): boolean {
  const first = v[0] as { role?: unknown; from?: unknown } | undefined;
  if (typeof first !== 'object' || first === null) return false;
  const role = String(first.role ?? first.from ?? '').toLowerCase();
  return !['assistant', 'gpt', 'chatgpt', 'model', 'function_call'].includes(role);
}

/**
 * Files a format name fits but Whetstone must not train as that format: unpaired preference
 * rows (KTO: a completion and a true/false label) would otherwise train SFT on the bad
 * completions. KTO reads them (methodData.ts); every other method refuses them with this problem
 * and hint, or null.
 */
export function unsupportedFormat(rows: Record<string, unknown>[]): { problem: string; hint: string } | null {
  const first = rows.slice(0, 100);
  const label = ['label', 'kto_tag'].find((c) => first.some((r) => typeof r[c] === 'boolean'));
  const cols = new Set(first.flatMap((r) => Object.keys(r)));
  if (label && (cols.has('completion') || cols.has('messages') || cols.has('output'))) {
    return {
      problem: `the rows are unpaired preference data (KTO: a completion and a true/false "${label}"), not SFT rows or preference pairs`,
      hint:
        `Train them with method kto (columns prompt, completion, label). For SFT keep the rows whose ${label} is true and drop the ${label} column; ` +
        'for DPO pair a good and a bad completion of the same prompt as prompt/chosen/rejected.',
    };
  }
  return null;
}

/** What a row of each format needs, for the "unknown format" message. */
export const FORMAT_HELP =
  'Expected columns: messages (OpenAI), conversations (ShareGPT), instruction + output or response (Alpaca), prompt/completion, text, ' +
  'or for DPO prompt/chosen/rejected (or chosen/rejected with the prompt inside, as Anthropic HH; conversations + chosen/rejected, as LLaMA-Factory).';
