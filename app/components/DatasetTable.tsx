// The first rows of the dataset as a table, rendered through a window (only the visible rows
// are in the DOM) so a long preview stays cheap. Preference pairs are shown as the trainer reads
// them: the shared prompt once, then the chosen and rejected completions side by side (Anthropic
// HH transcripts repeat the whole conversation in both columns; only the answers differ).
import { useState } from 'react';
import type { PairPreview } from '../../engine/api/contract.ts';

const ROW_HEIGHT = 28;
const VISIBLE = 8;

function isMessage(m: unknown): m is { role: unknown; content: unknown } {
  return typeof m === 'object' && m !== null && 'role' in m && 'content' in m;
}

/** Chat messages read as "user: … │ assistant: …"; other values as text or JSON. */
function cell(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value.replace(/\n+/g, ' │ ')
      : Array.isArray(value) && value.length > 0 && value.every(isMessage)
        ? value.map((m) => `${String(m.role)}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`).join(' │ ')
        : JSON.stringify(value);
  return text === undefined ? '' : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export function DatasetTable({ rows, pairs = null }: { rows: Record<string, unknown>[]; pairs?: PairPreview[] | null }) {
  const [top, setTop] = useState(0);
  const shownRows: Record<string, unknown>[] = pairs ? pairs.map(({ prompt, chosen, rejected }) => ({ prompt, chosen, rejected })) : rows;
  const columns = [...new Set(shownRows.flatMap((r) => Object.keys(r)))];
  const first = Math.floor(top / ROW_HEIGHT);
  const shown = shownRows.slice(first, first + VISIBLE + 1);
  if (shownRows.length === 0) return null;
  return (
    <div className="table-window" style={{ height: ROW_HEIGHT * (Math.min(shownRows.length, VISIBLE) + 1) + 2 }} onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
      <table aria-label="Dataset preview" aria-rowcount={shownRows.length + 1} className={pairs ? 'pair-preview' : undefined}>
        <thead>
          <tr style={{ height: ROW_HEIGHT }}>
            <th>#</th>
            {columns.map((c) => (
              <th key={c}>{pairs && c === 'prompt' ? 'prompt (shared)' : c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr style={{ height: first * ROW_HEIGHT }} aria-hidden="true" />}
          {shown.map((row, i) => (
            <tr key={first + i} style={{ height: ROW_HEIGHT }} aria-rowindex={first + i + 2}>
              <td className="muted">{pairs ? pairs[first + i].line : first + i + 1}</td>
              {columns.map((c) => (
                <td key={c} title={typeof row[c] === 'string' ? (row[c] as string) : cell(row[c])}>
                  {cell(row[c])}
                </td>
              ))}
            </tr>
          ))}
          {first + shown.length < shownRows.length && <tr style={{ height: (shownRows.length - first - shown.length) * ROW_HEIGHT }} aria-hidden="true" />}
        </tbody>
      </table>
    </div>
  );
}
