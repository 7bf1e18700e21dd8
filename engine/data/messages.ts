// Message lists as datasets spell them, validated into the ChatMessage[] that transformers'
// apply_chat_template takes. Each message may be spelled:
//   OpenAI     {role, content}: content a string or text parts ({type: "text", text | value}),
//              null when the message holds tool_calls; extra fields (tool_calls, tool_call_id,
//              name) are kept for the template.
//   ShareGPT   {from, value}: human/gpt/system, and LLaMA-Factory's function_call (an assistant
//              turn that calls tools: value is {"name", "arguments"} JSON, or a list of them)
//              and observation (the tool's answer).
// Also: the `tools` column (tool schemas, a list or its JSON text) and the `system` column.
import type { ChatMessage } from './chatTemplate.ts';
import { describe, RowProblem } from './validate.ts';

export const ROLES = ['system', 'user', 'assistant', 'tool'] as const;

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
  function_call: 'assistant',
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a list of messages (either spelling, per message). `sharegpt` only picks the
 * spelling that error messages name for a message that has neither.
 */
export function parseMessages(value: unknown, field: string, opts: { sharegpt?: boolean } = {}): ChatMessage[] {
  if (value === undefined || value === null) throw new RowProblem(field, 'missing');
  if (!Array.isArray(value)) throw new RowProblem(field, `must be a list of messages, got ${describe(value)}`);
  if (value.length === 0) throw new RowProblem(field, 'is empty');
  return value.map((m, i) => parseMessage(m, `${field}[${i}]`, opts));
}

/** One message object (LLaMA-Factory's `chosen` / `rejected` are one each). */
export function parseMessage(m: unknown, at: string, opts: { sharegpt?: boolean } = {}): ChatMessage {
  const sharegpt = isObj(m) ? 'from' in m && !('role' in m) : Boolean(opts.sharegpt);
  const [roleKey, contentKey] = sharegpt ? ['from', 'value'] : ['role', 'content'];
  if (!isObj(m)) throw new RowProblem(at, `must be an object with "${roleKey}" and "${contentKey}", got ${describe(m)}`);
  const rawRole = m[roleKey];
  if (rawRole === undefined || rawRole === null) throw new RowProblem(`${at}.${roleKey}`, 'missing');
  if (typeof rawRole !== 'string') throw new RowProblem(`${at}.${roleKey}`, `must be text, got ${describe(rawRole)}`);
  if (sharegpt) return shareGptMessage(m, at, rawRole.toLowerCase());
  if (!(ROLES as readonly string[]).includes(rawRole)) throw new RowProblem(`${at}.role`, `unknown role ${JSON.stringify(rawRole)} (expected ${ROLES.join(', ')})`);
  const hasToolCalls = Array.isArray(m['tool_calls']) && m['tool_calls'].length > 0;
  const content = m['content'] === null && hasToolCalls ? '' : messageContent(m['content'], `${at}.content`);
  if (content.trim() === '' && rawRole !== 'system' && !hasToolCalls) throw new RowProblem(`${at}.content`, 'is empty');
  const out: ChatMessage = { role: rawRole, content };
  for (const [k, v] of Object.entries(m)) if (k !== 'role' && k !== 'content' && v !== null && v !== undefined) out[k] = v;
  return out;
}

function shareGptMessage(m: Obj, at: string, from: string): ChatMessage {
  const role = SHAREGPT_ROLES[from];
  if (role === undefined) throw new RowProblem(`${at}.from`, `unknown role ${JSON.stringify(m['from'])} (expected ${Object.keys(SHAREGPT_ROLES).join(', ')})`);
  const content = messageContent(m['value'], `${at}.value`);
  if (content.trim() === '' && role !== 'system') throw new RowProblem(`${at}.value`, 'is empty');
  if (from === 'function_call') return { role: 'assistant', content: '', tool_calls: functionCalls(content, `${at}.value`) };
  return { role, content };
}

/** LLaMA-Factory's function_call value: {"name", "arguments"} as JSON, or a list of them -> OpenAI tool_calls. */
function functionCalls(text: string, at: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RowProblem(at, 'a function_call turn must hold the call as JSON: {"name": ..., "arguments": {...}}');
  }
  const calls = Array.isArray(v) ? v : [v];
  return calls.map((c, k) => {
    if (!isObj(c) || typeof c['name'] !== 'string') throw new RowProblem(at, `call ${k + 1} must be an object with a "name" (and "arguments")`);
    return { type: 'function', function: { name: c['name'], arguments: c['arguments'] ?? {} } };
  });
}

/** Message content: a string, or a list of text parts (`{type: "text", text}` or `value` instead of `text`), joined. */
function messageContent(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    return v
      .map((part, j) => {
        const p = (isObj(part) ? part : {}) as { type?: unknown; text?: unknown; value?: unknown };
        const text = typeof p.text === 'string' ? p.text : typeof p.value === 'string' ? p.value : undefined;
        if (text === undefined || (p.type !== undefined && p.type !== 'text')) {
          const what = isObj(part) && typeof p.type === 'string' ? `a part of type "${p.type}"` : `${describe(part)}`;
          throw new RowProblem(`${field}[${j}]`, `only text content parts ({"type": "text", "text": ...}) are supported, got ${what}: Whetstone trains text-only models`);
        }
        return text;
      })
      .join('');
  }
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  throw new RowProblem(field, `must be text, got ${describe(v)}`);
}

export function requireAssistant(messages: ChatMessage[], field: string): void {
  if (!messages.some((m) => m.role === 'assistant')) throw new RowProblem(field, 'has no assistant message, so nothing would be trained');
}

/** A field that is text or a list of messages (or one message object, as LLaMA-Factory writes answers). */
export function textOrMessages(row: Obj, field: string): string | ChatMessage[] {
  const v = row[field];
  if (Array.isArray(v)) return parseMessages(v, field);
  if (isObj(v)) return [parseMessage(v, field)];
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  if (typeof v !== 'string') throw new RowProblem(field, `must be text or a list of messages, got ${describe(v)}`);
  if (v.trim() === '') throw new RowProblem(field, 'is empty');
  return v;
}

export function sameMessages(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content && JSON.stringify(a['tool_calls']) === JSON.stringify(b['tool_calls']);
}

/**
 * The `tools` column: tool schemas as a list (or its JSON text, as LLaMA-Factory's glaive sets
 * ship it). A bare function schema ({name, description, parameters}) is wrapped the OpenAI way,
 * {type: "function", function: ...}, which is what chat templates document. Undefined when absent.
 */
export function parseTools(row: Obj, field = 'tools'): unknown[] | undefined {
  let v = row[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    if (v.trim() === '') return undefined;
    try {
      v = JSON.parse(v);
    } catch {
      throw new RowProblem(field, 'must be a list of tool schemas (as JSON), got text that is not JSON');
    }
  }
  const list = isObj(v) ? [v] : v;
  if (!Array.isArray(list)) throw new RowProblem(field, `must be a list of tool schemas, got ${describe(v)}`);
  if (list.length === 0) return undefined;
  return list.map((t, i) => {
    if (!isObj(t)) throw new RowProblem(`${field}[${i}]`, `must be an object (a function's JSON schema), got ${describe(t)}`);
    return 'type' in t || 'function' in t ? t : { type: 'function', function: t };
  });
}

/** The `system` column (LLaMA-Factory): a system message first, unless the messages have their own. */
export function withSystem(row: Obj, messages: ChatMessage[]): ChatMessage[] {
  const s = row['system'];
  if (s === undefined || s === null) return messages;
  if (typeof s !== 'string') throw new RowProblem('system', `must be text, got ${describe(s)}`);
  if (s.trim() === '' || messages[0]?.role === 'system') return messages;
  return [{ role: 'system', content: s }, ...messages];
}

/** Does any message call a tool? */
export function hasToolCalls(messages: ChatMessage[]): boolean {
  return messages.some((m) => Array.isArray(m['tool_calls']) && m['tool_calls'].length > 0);
}
