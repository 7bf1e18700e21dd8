// Dataset validation: one issue per bad row, naming the file, the line (or row) and the field,
// and the policy that refuses a file with invalid rows unless skip_invalid_rows is set.
// Nothing is dropped silently: every skipped, truncated or dropped row is counted and reported.
import { WhetstoneError } from '../errors.ts';
import type { ChatMessage } from './chatTemplate.ts';

/** How a row is located: the physical line (JSONL, CSV) or the row index + 1 (JSON array, Parquet). */
export type RowUnit = 'line' | 'row';

export interface DatasetIssue {
  file: string;
  /** 1-based line (or row) number; null when the problem is about the whole file. */
  line: number | null;
  unit: RowUnit;
  /** The field at fault, e.g. `messages[2].role`; null when it is about the whole row or file. */
  field: string | null;
  /** What is wrong, without the location. */
  problem: string;
}

/** `FILE line N: field: problem` (or `FILE row N: ...`, or `FILE: ...` for the whole file). */
export function formatIssue(issue: DatasetIssue): string {
  const where = issue.line === null ? issue.file : `${issue.file} ${issue.unit} ${issue.line}`;
  return `${where}: ${issue.field ? `${issue.field}: ` : ''}${issue.problem}`;
}

const DATASET_HINT = 'Fix the rows named above, or set skip_invalid_rows to train on the valid rows only.';

export class DatasetError extends WhetstoneError {
  readonly file: string;
  readonly line: number | null;
  readonly field: string | null;
  /** Every issue found (the message lists the first MAX_LISTED). */
  readonly issues: DatasetIssue[];
  constructor(issue: DatasetIssue, hint = DATASET_HINT, message = formatIssue(issue), issues: DatasetIssue[] = [issue]) {
    super(message, hint);
    this.file = issue.file;
    this.line = issue.line;
    this.field = issue.field;
    this.issues = issues;
  }
}

export const MAX_LISTED = 10;

/** Throws a DatasetError listing the first issues (and how many in all) when there are any. */
export function refuseInvalid(file: string, issues: DatasetIssue[], totalRows: number): void {
  if (issues.length === 0) return;
  const listed = issues.slice(0, MAX_LISTED).map(formatIssue);
  const more = issues.length > MAX_LISTED ? `\n... and ${issues.length - MAX_LISTED} more` : '';
  const head = `${file}: ${issues.length} invalid row${issues.length === 1 ? '' : 's'} of ${totalRows}:\n`;
  throw new DatasetError(issues[0], DATASET_HINT, head + listed.join('\n') + more, issues);
}

/** A problem found while converting one row; the caller adds file and line. */
export class RowProblem extends Error {
  readonly field: string | null;
  constructor(field: string | null, problem: string) {
    super(problem);
    this.field = field;
  }
}

export const ROLES = ['system', 'user', 'assistant', 'tool'] as const;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'text';
  return `a ${typeof value}`;
}

/** A required non-empty string field. */
export function requireText(row: Record<string, unknown>, field: string): string {
  const v = row[field];
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  if (typeof v !== 'string') throw new RowProblem(field, `must be text, got ${describe(v)}`);
  if (v.trim() === '') throw new RowProblem(field, 'is empty');
  return v;
}

/**
 * OpenAI-style message content: a string, or a list of parts of which the text parts are joined
 * (`[{type: 'text', text: ...}]`).
 */
function messageContent(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const texts: string[] = [];
    v.forEach((part, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (typeof p !== 'object' || p === null || typeof p.text !== 'string' || (p.type !== undefined && p.type !== 'text')) {
        throw new RowProblem(`${field}[${j}]`, 'only text content parts ({"type": "text", "text": ...}) are supported');
      }
      texts.push(p.text);
    });
    return texts.join('');
  }
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  throw new RowProblem(field, `must be text, got ${describe(v)}`);
}

/**
 * Validates a list of {role, content} messages (extra fields kept). `roleKey`/`contentKey` and
 * `roleMap` read other spellings (ShareGPT's from/value, human/gpt).
 */
export function parseMessages(
  value: unknown,
  field: string,
  opts: { roleKey?: string; contentKey?: string; roleMap?: Record<string, string> } = {},
): ChatMessage[] {
  const roleKey = opts.roleKey ?? 'role';
  const contentKey = opts.contentKey ?? 'content';
  if (value === undefined || value === null) throw new RowProblem(field, 'missing');
  if (!Array.isArray(value)) throw new RowProblem(field, `must be a list of messages, got ${describe(value)}`);
  if (value.length === 0) throw new RowProblem(field, 'is empty');
  return value.map((m, i) => {
    const at = `${field}[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new RowProblem(at, `must be an object with "${roleKey}" and "${contentKey}", got ${describe(m)}`);
    const msg = m as Record<string, unknown>;
    const rawRole = msg[roleKey];
    if (rawRole === undefined || rawRole === null) throw new RowProblem(`${at}.${roleKey}`, 'missing');
    if (typeof rawRole !== 'string') throw new RowProblem(`${at}.${roleKey}`, `must be text, got ${describe(rawRole)}`);
    const known = opts.roleMap ? Object.keys(opts.roleMap) : ROLES;
    const role = opts.roleMap ? opts.roleMap[rawRole.toLowerCase()] : (ROLES as readonly string[]).includes(rawRole) ? rawRole : undefined;
    if (role === undefined) throw new RowProblem(`${at}.${roleKey}`, `unknown role ${JSON.stringify(rawRole)} (expected ${known.join(', ')})`);
    const hasToolCalls = Array.isArray(msg['tool_calls']) && msg['tool_calls'].length > 0;
    const content = msg[contentKey] === null && hasToolCalls ? '' : messageContent(msg[contentKey], `${at}.${contentKey}`);
    if (content.trim() === '' && role !== 'system' && !hasToolCalls) throw new RowProblem(`${at}.${contentKey}`, 'is empty');
    const out: ChatMessage = { role, content };
    if (opts.roleKey === undefined) {
      for (const [k, v] of Object.entries(msg)) if (k !== 'role' && k !== 'content' && v !== null && v !== undefined) out[k] = v;
    }
    return out;
  });
}

export function requireAssistant(messages: ChatMessage[], field: string): void {
  if (!messages.some((m) => m.role === 'assistant')) throw new RowProblem(field, 'has no assistant message, so nothing would be trained');
}

/** A field that is text or a list of messages. */
export function textOrMessages(row: Record<string, unknown>, field: string): string | ChatMessage[] {
  const v = row[field];
  if (Array.isArray(v)) return parseMessages(v, field);
  if (v === undefined || v === null) throw new RowProblem(field, 'missing');
  if (typeof v !== 'string') throw new RowProblem(field, `must be text or a list of messages, got ${describe(v)}`);
  if (v.trim() === '') throw new RowProblem(field, 'is empty');
  return v;
}

export function sameMessages(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content;
}
