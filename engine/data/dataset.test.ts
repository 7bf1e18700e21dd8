import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { NodeFileSource } from '../io/byteSourceNode.ts';
import { countedTokens } from './examples.ts';
import { DatasetError, inspectDataset, loadTrainingExamples, maskPreview, tokenStats, type LoadOptions } from './dataset.ts';
import { fixtureTokenizer } from './testing.ts';

const tok = fixtureTokenizer();
const enc = new TextEncoder();
const jsonl = (name: string, rows: unknown[]) => new MemorySource(name, enc.encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
const file = (rel: string) => NodeFileSource.open(new URL(rel, import.meta.url).pathname);
const sft: LoadOptions = { method: 'sft', maxLength: 256, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false };
const dpo: LoadOptions = { ...sft, method: 'dpo' };
const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });
const trainedText = (ids: number[], mask: ArrayLike<number>) => tok.decode(ids.filter((_, i) => mask[i]));

describe('inspectDataset', () => {
  it('reports format, rows, errors by line and a preview (bad.jsonl)', async () => {
    const r = await inspectDataset(await file('./fixtures/bad.jsonl'));
    expect(r.format).toBe('OpenAI messages');
    expect(r.method).toBe('sft');
    expect(r.rows).toBe(9);
    expect(r.validRows).toBe(2);
    expect(r.errors.map((e) => [e.line, e.field])).toEqual([
      [2, null],
      [3, 'messages[1].role'],
      [4, null],
      [6, 'messages'],
      [8, 'messages'],
      [9, 'messages[1].content'],
      [10, null],
    ]);
    expect(r.preview.length).toBe(6);
    expect(r.previewLines).toEqual([1, 3, 6, 7, 8, 9]);
  });

  it('refuses a file whose columns match no format, and a method the rows do not fit', async () => {
    await expect(inspectDataset(jsonl('x.jsonl', [{ foo: 1 }]))).rejects.toThrow(/x\.jsonl: no known dataset format in the columns "foo"/);
    await expect(inspectDataset(jsonl('x.jsonl', [{ text: 'a' }]), { method: 'dpo' })).rejects.toThrow('x.jsonl: the rows are text (SFT rows), not preference pairs, which method dpo trains on');
  });
});

describe('loadTrainingExamples: SFT', () => {
  it('masks only the assistant tokens of a messages row', async () => {
    const r = await loadTrainingExamples(jsonl('m.jsonl', [{ messages: [u('Hi'), a('Hello!'), u('Bye'), a('See you')] }]), tok, sft);
    expect(r.format).toBe('OpenAI messages');
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array; line: number };
    expect(row.line).toBe(1);
    expect(trainedText(row.ids, row.trainMask)).toBe('Hello!<|im_end|>\nSee you<|im_end|>\n');
    expect(r.stats.trainedTokens).toBe(countedTokens(row));
    expect(r.stats.tokens.max).toBe(row.ids.length);
  });

  it('completion_only_loss=false trains every token; text rows train every token', async () => {
    const r = await loadTrainingExamples(jsonl('m.jsonl', [{ messages: [u('Hi'), a('Hello!')] }]), tok, { ...sft, completionOnlyLoss: false });
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect([...row.trainMask].every((m) => m === 1)).toBe(true);
    const t = await loadTrainingExamples(jsonl('t.jsonl', [{ text: 'hello world' }]), tok, sft);
    const trow = t.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect(trow.ids.at(-1)).toBe(tok.eosTokenId);
    expect([...trow.trainMask].every((m) => m === 1)).toBe(true);
  });

  it('Alpaca, ShareGPT, prompt/completion strings render through the chat template', async () => {
    const rows = [{ instruction: 'Translate', input: 'chat', output: 'cat' }];
    const r = await loadTrainingExamples(jsonl('a.jsonl', rows), tok, sft);
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect(tok.decode(row.ids)).toContain('<|im_start|>user\nTranslate\n\nchat<|im_end|>');
    expect(trainedText(row.ids, row.trainMask)).toBe('cat<|im_end|>\n');
    const pc = await loadTrainingExamples(jsonl('p.jsonl', [{ prompt: 'Q?', completion: 'A.' }]), tok, sft);
    const prow = pc.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect(trainedText(prow.ids, prow.trainMask)).toBe('A.<|im_end|>\n');
    const sg = await loadTrainingExamples(jsonl('s.jsonl', [{ conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'R' }] }]), tok, sft);
    expect(sg.format).toBe('ShareGPT');
  });

  it('without a chat template: prompt tokens, then completion tokens + EOS', async () => {
    const plain = fixtureTokenizer('tiny-llama', { config: (c) => ({ ...c, chat_template: undefined }) });
    const r = await loadTrainingExamples(jsonl('p.jsonl', [{ prompt: 'Q?', completion: ' A.' }]), plain, sft);
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect(row.ids).toEqual([...plain.encode('Q?'), ...plain.encode(' A.', { addSpecialTokens: false }), plain.eosTokenId]);
    expect(trainedText(row.ids, row.trainMask)).toBe(' A.<|im_end|>');
    await expect(loadTrainingExamples(jsonl('m.jsonl', [{ messages: [u('Hi'), a('Yo')] }]), plain, sft)).rejects.toThrow(/no chat template/);
  });

  it('truncates long rows (keeping the start) and counts them, or drops them with drop_long_rows', async () => {
    const rows = [{ messages: [u('Hi'), a('Short.')] }, { messages: [u('Hi'), a('A much longer answer that will not fit in the budget at all.')] }];
    const whole = (await loadTrainingExamples(jsonl('l.jsonl', rows), tok, sft)).examples.rows.map((r) => (r as { ids: number[] }).ids);
    const lens = whole.map((ids) => ids.length);
    const maxLength = lens[0] + 4;
    const t = await loadTrainingExamples(jsonl('l.jsonl', rows), tok, { ...sft, maxLength });
    expect(t.stats).toMatchObject({ rows: 2, truncated: 1, dropped: 0, used: 2 });
    const cut = t.examples.rows[1] as unknown as { ids: number[]; trainMask: Uint8Array };
    expect(cut.ids.length).toBe(maxLength);
    expect(cut.ids).toEqual(whole[1].slice(0, maxLength));
    expect(t.stats.tokens.max).toBe(lens[1]); // statistics are of the lengths before truncation
    expect(t.warnings.join()).toMatch(/truncated 1 row longer than max_length=/);
    const d = await loadTrainingExamples(jsonl('l.jsonl', rows), tok, { ...sft, maxLength, dropLongRows: true });
    expect(d.stats).toMatchObject({ rows: 2, truncated: 0, dropped: 1, used: 1 });
    expect(d.warnings.join()).toMatch(/dropped 1 row longer than max_length=/);
  });

  it('refuses bad.jsonl with the first errors by line, or skips them with skip_invalid_rows', async () => {
    const err = await loadTrainingExamples(await file('./fixtures/bad.jsonl'), tok, sft).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as DatasetError).message;
    expect((err as DatasetError).line).toBe(2);
    expect(msg).toMatch(/bad\.jsonl: 7 invalid rows of 9:\n/);
    expect(msg).toMatch(/bad\.jsonl line 2: invalid JSON/);
    expect(msg).toMatch(/bad\.jsonl line 3: messages\[1\]\.role: unknown role "bot"/);
    expect(msg).toMatch(/bad\.jsonl line 4: invalid UTF-8/);
    expect(msg).toMatch(/bad\.jsonl line 6: messages: has no assistant message/);
    expect(msg).toMatch(/bad\.jsonl line 8: messages: must be a list of messages, got text/);
    expect(msg).toMatch(/bad\.jsonl line 9: messages\[1\]\.content: is empty/);
    expect(msg).toMatch(/bad\.jsonl line 10: expected a JSON object, got an array/);
    const ok = await loadTrainingExamples(await file('./fixtures/bad.jsonl'), tok, { ...sft, skipInvalidRows: true });
    expect(ok.stats).toMatchObject({ rows: 9, skipped: 7, used: 2 });
    expect(ok.examples.rows.map((r) => r.line)).toEqual([1, 7]);
    expect(ok.warnings[0]).toMatch(/^skipped 7 rows of 9 that are invalid/);
  });

  it('refuses a file with no usable rows, even with skip_invalid_rows', async () => {
    const unreadable = new MemorySource('u.jsonl', enc.encode('{oops\n[1]\n'));
    await expect(loadTrainingExamples(unreadable, tok, { ...sft, skipInvalidRows: true })).rejects.toThrow(/^u\.jsonl: no usable rows \(2 invalid\):\nu\.jsonl line 1: invalid JSON.*\nu\.jsonl line 2: expected a JSON object, got an array$/);
    const invalid = jsonl('i.jsonl', [{ messages: [u('a')] }]);
    await expect(loadTrainingExamples(invalid, tok, { ...sft, skipInvalidRows: true })).rejects.toThrow(/i\.jsonl: no usable rows \(1 in the file: 1 invalid, 0 too long\)/);
    await expect(loadTrainingExamples(new MemorySource('e.csv', new Uint8Array(0)), tok, sft)).rejects.toThrow(/e\.csv: the file is empty/);
  });

  it('lists at most 10 errors and says how many more', async () => {
    const rows = Array.from({ length: 13 }, (_, i) => ({ messages: [u(`q${i}`)] }));
    await expect(loadTrainingExamples(jsonl('n.jsonl', rows), tok, sft)).rejects.toThrow(/13 invalid rows of 13:\n(.*\n){10}\.\.\. and 3 more$/);
  });

  it('reads the Parquet fixture (row numbers) and CSV with quoted newlines', async () => {
    const err = await loadTrainingExamples(await file('./fixtures/messages.parquet'), tok, sft).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/messages\.parquet row 3: messages: has no assistant message/);
    const csv = new MemorySource('d.csv', enc.encode('prompt,completion\n"Line 1\nline 2","Yes, ok"\n'));
    const r = await loadTrainingExamples(csv, tok, sft);
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array; line: number };
    expect(row.line).toBe(2);
    expect(tok.decode(row.ids)).toContain('user\nLine 1\nline 2<|im_end|>');
    expect(trainedText(row.ids, row.trainMask)).toBe('Yes, ok<|im_end|>\n');
  });
});

describe('loadTrainingExamples: DPO', () => {
  it('UltraFeedback parquet: shared prompt, completions trained', async () => {
    const r = await loadTrainingExamples(await file('./fixtures/ultrafeedback.parquet'), tok, dpo);
    expect(r.format).toBe('UltraFeedback binarized');
    const pair = r.examples.rows[0] as unknown as { chosen: { ids: number[]; trainMask: Uint8Array }; rejected: { ids: number[]; trainMask: Uint8Array } };
    expect(trainedText(pair.chosen.ids, pair.chosen.trainMask)).toBe('Blue.<|im_end|>\n');
    expect(trainedText(pair.rejected.ids, pair.rejected.trainMask)).toBe('No.<|im_end|>\n');
    const p = pair.chosen.trainMask.indexOf(1);
    expect(pair.chosen.ids.slice(0, p)).toEqual(pair.rejected.ids.slice(0, p));
    expect(tok.decode(pair.chosen.ids.slice(0, p))).toMatch(/<\|im_start\|>user\nName a colour<\|im_end\|>\n<\|im_start\|>assistant\n$/);
  });

  it('Anthropic HH rows become chat turns with a template', async () => {
    const row = { chosen: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit\n\nAssistant: Apple.', rejected: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Name a fruit\n\nAssistant: No.' };
    const r = await loadTrainingExamples(jsonl('hh.jsonl', [row]), tok, dpo);
    expect(r.format).toBe('Anthropic HH (implicit prompt)');
    const pair = r.examples.rows[0] as unknown as { chosen: { ids: number[]; trainMask: Uint8Array } };
    expect(tok.decode(pair.chosen.ids)).toContain('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nName a fruit<|im_end|>\n<|im_start|>assistant\nApple.<|im_end|>');
    expect(trainedText(pair.chosen.ids, pair.chosen.trainMask)).toBe('Apple.<|im_end|>\n');
  });

  it('truncation keeps the end of the prompt and the start of the completions, and is counted', async () => {
    const rows = [{ prompt: [u('A long question that goes on and on for a while, really.')], chosen: [a('Yes, sure thing, happily.')], rejected: [a('No.')] }];
    const full = await loadTrainingExamples(jsonl('d.jsonl', rows), tok, dpo);
    const f = full.examples.rows[0] as unknown as { chosen: { ids: number[]; trainMask: Uint8Array }; rejected: { ids: number[] } };
    const P = f.chosen.trainMask.indexOf(1);
    const C = f.chosen.ids.length - P;
    const maxLength = Math.floor((P + C) * 0.75);
    const t = await loadTrainingExamples(jsonl('d.jsonl', rows), tok, { ...dpo, maxLength });
    expect(t.stats).toMatchObject({ truncated: 1, dropped: 0, used: 1 });
    const g = t.examples.rows[0] as unknown as { chosen: { ids: number[]; trainMask: Uint8Array }; rejected: { ids: number[] } };
    expect(g.chosen.ids.length).toBeLessThanOrEqual(maxLength);
    const keep = Math.min(P, Math.max(maxLength - C, Math.floor(maxLength / 2)));
    expect(g.chosen.ids).toEqual([...f.chosen.ids.slice(P - keep, P), ...f.chosen.ids.slice(P, P + maxLength - keep)]);
    expect(g.rejected.ids.slice(0, keep)).toEqual(f.chosen.ids.slice(P - keep, P));
    const d = await loadTrainingExamples(jsonl('d.jsonl', rows), tok, { ...dpo, maxLength, dropLongRows: true }).catch((e: unknown) => e);
    expect((d as Error).message).toMatch(/no usable rows \(1 in the file: 0 invalid, 1 too long\)/);
  });

  it('refuses SFT data for DPO', async () => {
    await expect(loadTrainingExamples(jsonl('m.jsonl', [{ messages: [u('a'), a('b')] }]), tok, dpo)).rejects.toThrow(/OpenAI messages \(SFT rows\), not preference pairs/);
  });
});

describe('demo datasets and the mask preview', () => {
  it('demo-sft.jsonl and demo-dpo.jsonl load, with short rows', async () => {
    const s = await loadTrainingExamples(await file('../../public/datasets/demo-sft.jsonl'), tok, sft);
    expect(s.stats).toMatchObject({ rows: 24, used: 24, truncated: 0, skipped: 0 });
    const over = (ex: { line?: number }[], len: (x: never) => number) => ex.filter((x) => len(x as never) > 48).map((x) => `line ${x.line}: ${len(x as never)}`);
    expect(over(s.examples.rows, (x: { ids: number[] }) => x.ids.length)).toEqual([]);
    const d = await loadTrainingExamples(await file('../../public/datasets/demo-dpo.jsonl'), tok, dpo);
    expect(d.stats).toMatchObject({ rows: 24, used: 24, truncated: 0, skipped: 0 });
    expect(over(d.examples.rows, (x: { chosen: { ids: number[] }; rejected: { ids: number[] } }) => Math.max(x.chosen.ids.length, x.rejected.ids.length))).toEqual([]);
  });

  it('maskPreview gives the rendered tokens with their trained flags', async () => {
    const r = await loadTrainingExamples(jsonl('m.jsonl', [{ messages: [u('Hi é'), a('Héllo!')] }]), tok, sft);
    const row = r.examples.rows[0] as unknown as { ids: number[]; trainMask: Uint8Array };
    const pieces = maskPreview(tok, row);
    expect(pieces.map((p) => p.text).join('')).toBe(tok.decode(row.ids));
    expect(pieces.filter((p) => p.trained).map((p) => p.text).join('')).toBe('Héllo!<|im_end|>\n');
    expect(pieces.some((p) => p.text.includes('\uFFFD'))).toBe(false);
  });

  it('tokenStats uses nearest-rank percentiles', () => {
    expect(tokenStats([5, 1, 3, 2, 4])).toEqual({ min: 1, max: 5, mean: 3, p50: 3, p95: 5 });
  });
});
