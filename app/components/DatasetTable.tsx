// The first rows of the dataset as a table, rendered through a window (only the visible rows
// are in the DOM) so a long preview stays cheap.
import { useState } from 'react';

const ROW_HEIGHT = 28;
const VISIBLE = 8;

function isMessage(m: unknown): m is { role: unknown; content: unknown } {
  return typeof m === 'object' && m !== null && 'role' in m && 'content' in m;
}

/** Chat messages read as "user: … │ assistant: …"; other values as text or JSON. */
function cell(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value) && value.length > 0 && value.every(isMessage)
        ? value.map((m) => `${String(m.role)}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`).join(' │ ')
        : JSON.stringify(value);
  return text === undefined ? '' : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

export function DatasetTable({ rows }: { rows: Record<string, unknown>[] }) {
  const [top, setTop] = useState(0);
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const first = Math.floor(top / ROW_HEIGHT);
  const shown = rows.slice(first, first + VISIBLE + 1);
  if (rows.length === 0) return null;
  return (
    <div className="table-window" style={{ height: ROW_HEIGHT * (Math.min(rows.length, VISIBLE) + 1) + 2 }} onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
      <table aria-label="Dataset preview" aria-rowcount={rows.length + 1}>
        <thead>
          <tr style={{ height: ROW_HEIGHT }}>
            <th>#</th>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr style={{ height: first * ROW_HEIGHT }} aria-hidden="true" />}
          {shown.map((row, i) => (
            <tr key={first + i} style={{ height: ROW_HEIGHT }} aria-rowindex={first + i + 2}>
              <td className="muted">{first + i + 1}</td>
              {columns.map((c) => (
                <td key={c} title={cell(row[c])}>
                  {cell(row[c])}
                </td>
              ))}
            </tr>
          ))}
          {first + shown.length < rows.length && <tr style={{ height: (rows.length - first - shown.length) * ROW_HEIGHT }} aria-hidden="true" />}
        </tbody>
      </table>
    </div>
  );
}
