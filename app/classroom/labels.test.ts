import { describe, expect, it } from 'vitest';
import { dpoRows, ktoRows, pairsLabelledText, toJsonl, type LabelRecord, type PairLabel, type ThumbLabel } from './labels.ts';

const sampling = { temperature: 1, topP: 0.95, maxNewTokens: 24, seed: 1 };
function pair(id: string, createdAt: number, verdict: PairLabel['verdict'], a = `${id} answer A`, b = `${id} answer B`): PairLabel {
  return { id, kind: 'pair', createdAt, prompt: `${id}?`, a, b, verdict, model: 'demo', adapterRunId: null, samplingA: sampling, samplingB: { ...sampling, seed: 2 } };
}
const thumb = (id: string, createdAt: number, label: boolean): ThumbLabel => ({ id, kind: 'thumb', createdAt, prompt: `${id}?`, completion: `${id} answer`, label, model: 'demo', adapterRunId: null, sampling });

describe('labels -> training rows', () => {
  const labels: LabelRecord[] = [pair('p2', 20, 'b'), pair('p1', 10, 'a'), pair('p3', 30, 'tie'), pair('p4', 40, 'both_bad'), thumb('t1', 50, true), pair('p5', 60, 'a', 'same', 'same'), pair('p6', 70, 'b', 'fine', ' '), thumb('t2', 80, false)];

  it('makes one conversational DPO row per A/B preference, oldest first (equal or empty answers make none)', () => {
    expect(dpoRows(labels)).toEqual([
      { prompt: [{ role: 'user', content: 'p1?' }], chosen: [{ role: 'assistant', content: 'p1 answer A' }], rejected: [{ role: 'assistant', content: 'p1 answer B' }] },
      { prompt: [{ role: 'user', content: 'p2?' }], chosen: [{ role: 'assistant', content: 'p2 answer B' }], rejected: [{ role: 'assistant', content: 'p2 answer A' }] },
    ]);
  });

  it('writes JSONL: one object per line with exactly prompt/chosen/rejected, final newline', () => {
    const text = toJsonl(dpoRows(labels));
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    for (const line of lines.slice(0, 2)) expect(Object.keys(JSON.parse(line))).toEqual(['prompt', 'chosen', 'rejected']);
    expect(toJsonl([])).toBe('');
  });

  it('unpairs for KTO the way TRL does, with thumbs as they are', () => {
    const rows = ktoRows(labels);
    expect(rows.map((r) => [r.prompt[0].content, r.completion[0].content, r.label])).toEqual([
      ['p1?', 'p1 answer A', true],
      ['p1?', 'p1 answer B', false],
      ['p2?', 'p2 answer B', true],
      ['p2?', 'p2 answer A', false],
      ['p4?', 'p4 answer A', false],
      ['p4?', 'p4 answer B', false],
      ['t1?', 't1 answer', true],
      ['t2?', 't2 answer', false],
    ]);
    expect(rows[0].completion[0].role).toBe('assistant');
  });

  it('counts every labelled pair, ties included', () => {
    expect(pairsLabelledText(labels)).toBe('6 pairs labelled');
    expect(pairsLabelledText([pair('x', 1, 'a')])).toBe('1 pair labelled');
    expect(pairsLabelledText([])).toBe('0 pairs labelled');
  });
});
