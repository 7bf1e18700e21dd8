// The prompts the classroom offers from a dataset, from rows of several formats (no GPU).
import { describe, expect, it } from 'vitest';
import { datasetPrompts } from './datasetPrompts.ts';

const file = (name: string, rows: unknown[]) => ({ name, data: new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n').buffer as ArrayBuffer });

describe('datasetPrompts', () => {
  it('takes the last user turn before the answer, skips bad rows and repeats', async () => {
    const rows = [
      { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is the sky?' }, { role: 'assistant', content: 'Blue.' }] },
      { messages: [{ role: 'user', content: 'What is the sky?' }, { role: 'assistant', content: 'Blue!' }] },
      { messages: [{ role: 'robot', content: 'beep' }] },
      { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Name a fruit.' }, { role: 'assistant', content: 'Mango.' }] },
    ];
    expect(await datasetPrompts(file('chat.jsonl', rows))).toEqual(['What is the sky?', 'Hi']);
  });

  it('reads preference pairs and Alpaca rows, and stops at the limit', async () => {
    const pairs = [
      { prompt: [{ role: 'user', content: 'Sky colour?' }], chosen: [{ role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'assistant', content: 'Duh.' }] },
      { prompt: 'A fruit?', chosen: 'An apple.', rejected: 'Ugh.' },
    ];
    expect(await datasetPrompts(file('pairs.jsonl', pairs))).toEqual(['Sky colour?', 'A fruit?']);
    const alpaca = [0, 1, 2].map((i) => ({ instruction: `Count to ${i}.`, input: '', output: 'One.' }));
    expect(await datasetPrompts(file('alpaca.jsonl', alpaca), 2)).toEqual(['Count to 0.', 'Count to 1.']);
  });
});
