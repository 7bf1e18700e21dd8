// The default prompt for the sample generations during training: the first user turn of the
// dataset's first row, whatever its format (messages, ShareGPT, prompt/completion, Alpaca,
// preference pairs, HH transcripts); null when none can be found.
const USER_ROLES = new Set(['user', 'human']);

function userTurn(messages: unknown[]): string | null {
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    const role = String(msg.role ?? msg.from ?? '').toLowerCase();
    const content = msg.content ?? msg.value;
    if (USER_ROLES.has(role) && typeof content === 'string' && content.trim()) return content.trim();
  }
  return null;
}

function hhPrompt(text: string): string | null {
  const m = /Human:\s*([\s\S]*?)\s*(?:\n\nAssistant:|$)/.exec(text);
  return m && m[1].trim() ? m[1].trim() : null;
}

export function firstUserPrompt(row: Record<string, unknown> | undefined): string | null {
  if (!row) return null;
  for (const key of ['messages', 'conversations', 'prompt', 'chosen']) {
    const v = row[key];
    if (Array.isArray(v)) {
      const turn = userTurn(v);
      if (turn) return turn;
    }
  }
  if (typeof row.prompt === 'string' && row.prompt.trim()) return hhPrompt(row.prompt) ?? row.prompt.trim();
  if (typeof row.instruction === 'string' && row.instruction.trim()) {
    const input = typeof row.input === 'string' && row.input.trim() ? `\n\n${row.input.trim()}` : '';
    return row.instruction.trim() + input;
  }
  if (typeof row.question === 'string' && row.question.trim()) return row.question.trim();
  if (typeof row.chosen === 'string') return hhPrompt(row.chosen);
  if (typeof row.text === 'string' && row.text.trim()) return row.text.trim().split(/\s+/).slice(0, 8).join(' ');
  return null;
}
