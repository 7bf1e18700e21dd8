// One row of a detected format -> its canonical record (formats.ts): a conversation, a
// prompt/completion pair or text (SFT), or a prompt with two completions (DPO). Every problem is
// a RowProblem naming the field.
import type { ChatMessage } from './chatTemplate.ts';
import { FORMAT_METHOD, FORMAT_NAMES, startsWithPrompt, type FormatId, type PreferenceRecord, type SftRecord } from './formats.ts';
import { parseMessages, parseTools, requireAssistant, sameMessages, textOrMessages, withSystem } from './messages.ts';
import { describe, requireText, RowProblem } from './validate.ts';

type Row = Record<string, unknown>;
const HH_ASSISTANT = '\n\nAssistant:';

/** Converts one SFT row; throws RowProblem naming the field. */
export function toSftRecord(format: FormatId, row: Row): SftRecord {
  switch (format) {
    case 'messages':
    case 'sharegpt': {
      const field = format === 'messages' ? 'messages' : 'conversations';
      const messages = withSystem(row, parseMessages(row[field], field, { sharegpt: format === 'sharegpt' }));
      requireAssistant(messages, field);
      return conversation(messages, parseTools(row));
    }
    case 'alpaca': {
      const output = requireText(row, row['output'] !== undefined || row['response'] === undefined ? 'output' : 'response');
      const prompt = alpacaPrompt(row);
      if (prompt.length === 1) return { kind: 'prompt_completion', prompt, completion: [{ role: 'assistant', content: output }] };
      // A system prompt or earlier turns (LLaMA-Factory's history, whose answers are trained too).
      return conversation([...prompt, { role: 'assistant', content: output }]);
    }
    case 'prompt_completion': {
      const prompt = promptWithSystem(row, textOrMessages(row, 'prompt'));
      const completion = textOrMessages(row, 'completion');
      if (Array.isArray(completion)) requireAssistant(completion, 'completion');
      const tools = parseTools(row);
      return tools ? { kind: 'prompt_completion', prompt, completion, tools } : { kind: 'prompt_completion', prompt, completion };
    }
    case 'text':
      return { kind: 'text', text: requireText(row, 'text') };
    default:
      throw new RowProblem(null, `is a preference pair (${FORMAT_NAMES[format]}), not an SFT row`);
  }
}

function conversation(messages: ChatMessage[], tools?: unknown[]): SftRecord {
  return tools ? { kind: 'conversation', messages, tools } : { kind: 'conversation', messages };
}

/** Alpaca's prompt: [system], history turns, then instruction + input as one user message. */
function alpacaPrompt(row: Row): ChatMessage[] {
  const instruction = requireText(row, 'instruction');
  const input = row['input'];
  if (input !== undefined && input !== null && typeof input !== 'string') throw new RowProblem('input', `must be text, got ${describe(input)}`);
  const user = input && input.trim() !== '' ? `${instruction}\n\n${input}` : instruction;
  return withSystem(row, [...history(row), { role: 'user', content: user }]);
}

/** LLaMA-Factory's `history`: [[instruction, response], ...] before the row's own turn. */
function history(row: Row): ChatMessage[] {
  const h = row['history'];
  if (h === undefined || h === null) return [];
  if (!Array.isArray(h)) throw new RowProblem('history', `must be a list of [instruction, response] pairs, got ${describe(h)}`);
  return h.flatMap((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((t) => typeof t !== 'string' || t.trim() === '')) {
      throw new RowProblem(`history[${i}]`, 'must be a pair of non-empty texts [instruction, response]');
    }
    return [
      { role: 'user', content: pair[0] as string },
      { role: 'assistant', content: pair[1] as string },
    ];
  });
}

/** A `system` column turns a text prompt into messages: [system, user]. */
function promptWithSystem(row: Row, prompt: string | ChatMessage[]): string | ChatMessage[] {
  const withSys = withSystem(row, typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt);
  return typeof prompt === 'string' && withSys.length === 1 ? prompt : withSys;
}

/** Converts one preference row; throws RowProblem naming the field. */
export function toPreferenceRecord(format: FormatId, row: Row): PreferenceRecord {
  if (FORMAT_METHOD[format] !== 'dpo') throw new RowProblem(null, `is an SFT row (${FORMAT_NAMES[format]}), not a preference pair`);
  const [cName, rName] = format === 'preference_messages' ? ['chosen_messages', 'rejected_messages'] : ['chosen', 'rejected'];
  const chosen = textOrMessages(row, cName);
  const rejected = textOrMessages(row, rName);
  if (JSON.stringify(chosen) === JSON.stringify(rejected)) throw new RowProblem(rName, `is identical to ${cName}, so the pair teaches nothing`);
  let rec: PreferenceRecord;
  const wholeConversations = Array.isArray(chosen) && Array.isArray(rejected) && startsWithPrompt(chosen) && startsWithPrompt(rejected);
  if (format === 'sharegpt_preference') {
    const conv = row['conversations'] !== undefined ? 'conversations' : 'messages';
    rec = { prompt: withSystem(row, parseMessages(row[conv], conv, { sharegpt: conv === 'conversations' })), chosen, rejected };
  } else if (format === 'alpaca_preference') {
    rec = { prompt: alpacaPrompt(row), chosen, rejected };
  } else if (wholeConversations || (format === 'hh' && Array.isArray(chosen) && Array.isArray(rejected))) {
    // UltraFeedback-binarized, chosen_messages/rejected_messages, or implicit-prompt message
    // lists: both hold the whole conversation; the shared leading messages are the prompt.
    rec = splitMessages(chosen as ChatMessage[], rejected as ChatMessage[]);
    rec.prompt = withSystem(row, rec.prompt as ChatMessage[]);
  } else if (format !== 'hh') {
    rec = { prompt: promptWithSystem(row, textOrMessages(row, 'prompt')), chosen, rejected };
  } else if (typeof chosen === 'string' && typeof rejected === 'string') rec = splitHh(chosen, rejected);
  else throw new RowProblem(rName, `${cName} and ${rName} must both be text or both be lists of messages`);
  const tools = parseTools(row);
  if (tools) rec.tools = tools;
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
