import { describe, expect, it } from 'vitest';
import { decodeCsvCells, parsePythonLiteral } from './csvCells.ts';
import { formatIssue } from './validate.ts';

const rows = (...datas: Record<string, unknown>[]) => datas.map((data, i) => ({ line: i + 2, data }));

describe('CSV cells', () => {
  it('decodes message columns (JSON or a pandas Python literal) and nothing else', () => {
    const msgs = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }];
    const r = decodeCsvCells(
      rows(
        { messages: JSON.stringify(msgs), input: '[1,7,9]', text: '{"a": 1}' },
        { messages: "[{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Yo'}]", input: '[1, 2]', text: 'x' },
      ),
      'd.csv',
      'line',
    );
    expect(r.issues).toEqual([]);
    expect(r.rows.map((x) => x.data)).toEqual([
      { messages: msgs, input: '[1,7,9]', text: '{"a": 1}' },
      { messages: msgs, input: '[1, 2]', text: 'x' },
    ]);
  });

  it('prompt/chosen/rejected are decoded only when they hold messages', () => {
    const r = decodeCsvCells(rows({ prompt: '[1, 2, 3]', chosen: "{'from': 'gpt', 'value': 'y'}", rejected: '["a", "b"]' }), 'd.csv', 'line');
    expect(r.rows[0].data).toEqual({ prompt: '[1, 2, 3]', chosen: { from: 'gpt', value: 'y' }, rejected: '["a", "b"]' });
  });

  it('a message column cell that does not parse is an issue naming the line and column', () => {
    const r = decodeCsvCells(rows({ messages: '[oops' }, { conversations: '' }), 'd.csv', 'line');
    expect(r.issues.map(formatIssue)).toEqual(['d.csv line 2: messages: a CSV cell of this column must hold a list as JSON (or as the Python literal pandas writes), and this one does not parse']);
    expect(r.rows.map((x) => x.line)).toEqual([3]);
  });

  it('parses Python literals: quotes, escapes, numbers, True/False/None, tuples, numpy arrays without commas', () => {
    expect(parsePythonLiteral(`[{'a': "it's", 'b': 'say "hi"\\n\\x41\\u00e9\\\\'}, (1, -2.5e3), True, False, None]`)).toEqual([{ a: "it's", b: 'say "hi"\nAé\\' }, [1, -2500], true, false, null]);
    expect(parsePythonLiteral("[{'x': 1}\n {'x': 2}]")).toEqual([{ x: 1 }, { x: 2 }]);
    expect(parsePythonLiteral("{'a': 1,}")).toEqual({ a: 1 });
    for (const bad of ["array([{'x': 1}], dtype=object)", "[{'x': 1}] tail", "{'a' 1}", "['open", '{1, 2}', '']) expect(parsePythonLiteral(bad), bad).toBeUndefined();
  });
});
