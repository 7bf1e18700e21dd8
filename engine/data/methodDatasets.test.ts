// Data for the methods beyond SFT/DPO: KTO's unpaired rows (and pairs unpaired as TRL does it),
// ORPO/CPO pair tokens (BOS/EOS), reward rows tokenized whole.
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { loadTrainingExamples, type LoadOptions } from './dataset.ts';
import { DatasetError } from './validate.ts';
import { inspectMethodData, loadMethodExamples } from './methodData.ts';
import { klMismatchedRows, loadRewardExamples, loadUnpairedExamples, type UnpairedExample } from './methodDatasets.ts';
import { tokenizeRewardPair } from './rewardRows.ts';
import { fixtureTokenizer } from './testing.ts';
import { tokenizePair } from './tokenizeRows.ts';
import { isUnpairedData, ktoWeightAdvice, unpairPreferences, UNPAIR_BATCH } from './unpaired.ts';

const tok = fixtureTokenizer();
const plain = fixtureTokenizer('tiny-llama', { config: (c) => ({ ...c, chat_template: undefined }) });
const BOS = tok.bosTokenId!;
const EOS = tok.eosTokenId!;
const enc = new TextEncoder();
const jsonl = (name: string, rows: unknown[]) => new MemorySource(name, enc.encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });
const opts = { maxLength: 256, dropLongRows: false, skipInvalidRows: false };
const pairs = [
  { prompt: 'What is red?', chosen: 'A colour.', rejected: 'A fish.' },
  { prompt: 'Name a day.', chosen: 'Monday.', rejected: 'Blue.' },
  { prompt: 'Two plus two?', chosen: 'Four.', rejected: 'Five.' },
];

describe('KTO data: unpaired rows', () => {
  it('reads prompt/completion/label rows (text and messages); TRL adds EOS after the ChatML turn end', async () => {
    const r = await loadUnpairedExamples(jsonl('k.jsonl', [{ prompt: 'Hi', completion: 'Hello!', label: true }, { prompt: [u('Hi')], completion: [a('Go away')], label: false }]), tok, opts);
    expect(r.format).toBe('unpaired preference rows (prompt/completion/label)');
    expect(r.examples.map((x) => [x.label, x.line])).toEqual([
      [true, 1],
      [false, 2],
    ]);
    expect([r.desirable, r.undesirable]).toEqual([1, 1]);
    const [good, bad] = r.examples;
    expect(good.prompt).toEqual(bad.prompt); // text prompts become one user message
    expect(good.prompt[0]).toBe(BOS); // the ChatML prompt already starts with BOS: none added
    expect(tok.decode(good.prompt)).toMatch(/<\|im_start\|>user\nHi<\|im_end\|>\n<\|im_start\|>assistant\n$/);
    expect(tok.decode(good.completion)).toBe('Hello!<|im_end|>\n<|im_end|>');
    expect(tok.decode(bad.completion)).toBe('Go away<|im_end|>\n<|im_end|>');
    expect(r.stats.trainedTokens).toBe(good.completion.length + bad.completion.length);
  });

  it('names the line and field of every bad row; skip_invalid_rows keeps the rest and says so', async () => {
    const rows = [
      { prompt: 'ok', completion: 'fine', label: true },
      { prompt: 'p', completion: 'c', label: 'yes' },
      { prompt: 'p', completion: 'c' },
      { prompt: 'p', completion: '  ', label: false },
      { prompt: [u('q')], completion: [u('not an answer')], label: true },
      { prompt: [u('q'), a('a')], completion: [a('b')], label: true },
      { prompt: 'p', completion: 'c', label: 1 },
    ];
    const err = await loadUnpairedExamples(jsonl('bad.jsonl', rows), tok, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const issues = (err as DatasetError).issues.map((i) => [i.line, i.field, i.problem]);
    expect(issues).toEqual([
      [2, 'label', 'must be true or false, got "yes"'],
      [3, 'label', 'missing (true for a desirable completion, false for an undesirable one)'],
      [4, 'completion', 'is empty'],
      [5, 'completion', 'has no assistant message, so nothing would be trained'],
      [6, 'prompt', 'must not end with an assistant message'],
      [7, 'label', 'must be true or false, got a number'],
    ]);
    expect((err as DatasetError).message).toMatch(/^bad\.jsonl: 6 invalid rows of 7:\nbad\.jsonl line 2: label: must be true or false/);
    const kept = await loadUnpairedExamples(jsonl('bad.jsonl', rows), tok, { ...opts, skipInvalidRows: true });
    expect(kept.examples.map((x) => x.line)).toEqual([1]);
    expect(kept.stats.skipped).toBe(6);
    expect(kept.warnings[0]).toMatch(/^skipped 6 rows of 7 that are invalid \(skip_invalid_rows\): bad\.jsonl line 2: label/);
  });

  it('reads labels written as text (CSV cells) and is detected only with a true/false label', async () => {
    const csv = new MemorySource('k.csv', enc.encode('prompt,completion,label\nHi,Hello,True\nHi,Bye,false\n'));
    const r = await loadUnpairedExamples(csv, tok, opts);
    expect(r.examples.map((x) => x.label)).toEqual([true, false]);
    expect(isUnpairedData([{ prompt: 'p', completion: 'c', label: 'positive' }])).toBe(false);
    expect(isUnpairedData([{ prompt: 'p', completion: 'c', label: false }])).toBe(true);
  });

  it('unpairs a preference file as TRL does: every chosen (true), then every rejected (false), lines kept', async () => {
    const r = await loadUnpairedExamples(jsonl('pairs.jsonl', pairs), tok, opts);
    expect(r.format).toBe('preference pairs (prompt/chosen/rejected), unpaired (chosen -> true, rejected -> false)');
    expect(r.examples.map((x) => [x.label, x.line, tok.decode(x.completion).split('<')[0]])).toEqual([
      [true, 1, 'A colour.'],
      [true, 2, 'Monday.'],
      [true, 3, 'Four.'],
      [false, 1, 'A fish.'],
      [false, 2, 'Blue.'],
      [false, 3, 'Five.'],
    ]);
    // datasets maps 1000 pairs at a time: the order restarts with the next block's chosen rows.
    const many = Array.from({ length: UNPAIR_BATCH + 1 }, (_, i) => ({ rec: { prompt: 'p', chosen: `c${i}`, rejected: `r${i}` }, line: i + 1 }));
    const rows = unpairPreferences(many);
    expect([rows[0], rows[UNPAIR_BATCH - 1], rows[UNPAIR_BATCH], rows[2 * UNPAIR_BATCH], rows[2 * UNPAIR_BATCH + 1]].map((x) => [x.rec.completion, x.rec.label])).toEqual([
      ['c0', true],
      ['c999', true],
      ['r0', false],
      ['c1000', true],
      ['r1000', false],
    ]);
  });

  it('KL rows pair prompt i with completion i-1 (row 0 with the last one)', () => {
    const batch: UnpairedExample[] = [
      { prompt: [1, 2], completion: [10], label: true },
      { prompt: [3], completion: [11, 12], label: false },
      { prompt: [4, 5, 6], completion: [13], label: true },
    ];
    expect(klMismatchedRows(batch, 64).map((r) => [r.ids, Array.from(r.trainMask)])).toEqual([
      [[1, 2, 13], [0, 0, 1]],
      [[3, 10], [0, 1]],
      [[4, 5, 6, 11, 12], [0, 0, 0, 1, 1]],
    ]);
  });

  it('TRL\'s advice on desirable_weight / undesirable_weight for unbalanced data', () => {
    expect(ktoWeightAdvice(30, 30, 1, 1)).toBeNull();
    expect(ktoWeightAdvice(100, 25, 1, 1)).toBe(
      '100 desirable and 25 undesirable rows, but desirable_weight 1 and undesirable_weight 1 are not in the recommended range: set EITHER desirable_weight in [0.25, 0.33] OR undesirable_weight in [3.01, 4] (not both).',
    );
    expect(ktoWeightAdvice(100, 25, 0.3, 1)).toBeNull();
  });
});

describe('ORPO / CPO pair tokens', () => {
  it('append EOS to completions that lack it and prepend BOS when the prompt lacks it (TRL)', async () => {
    const chat = tokenizePair(tok, { prompt: 'Hi', chosen: 'Yes.', rejected: 'No.' });
    const orpo = tokenizePair(tok, { prompt: 'Hi', chosen: 'Yes.', rejected: 'No.' }, { addBosEos: true });
    expect(orpo.prompt).toEqual(chat.prompt); // ChatML starts with <|im_start|>, the BOS here
    expect(orpo.chosen).toEqual([...chat.chosen, EOS]); // "...<|im_end|>\n" + <|im_end|>
    expect(orpo.rejected).toEqual([...chat.rejected, EOS]);
    const text = tokenizePair(plain, { prompt: 'Q', chosen: 'yes', rejected: 'no' }, { addBosEos: true });
    expect(text.prompt[0]).toBe(BOS);
    expect(text.chosen.at(-1)).toBe(EOS);
    expect(text.chosen.filter((t) => t === EOS).length).toBe(1); // already terminated: no second EOS
    const dpo: LoadOptions = { method: 'dpo', maxLength: 256, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false };
    const loaded = await loadTrainingExamples(jsonl('p.jsonl', pairs), tok, { ...dpo, addBosEos: true });
    const row = loaded.examples.rows[0] as { chosen: { ids: number[] } };
    expect(row.chosen.ids.slice(-3)).toEqual([EOS, tok.encode('\n', { addSpecialTokens: false })[0], EOS]);
  });
});

describe('reward rows', () => {
  it('score prompt + answer rendered whole through the chat template', async () => {
    const rec = { prompt: [u('What is red?')], chosen: [a('A colour.')], rejected: [a('A fish.')] };
    const t = tokenizeRewardPair(tok, rec);
    expect(t.chosen).toEqual(tok.encode(tok.renderChat([u('What is red?'), a('A colour.')]), { addSpecialTokens: false }));
    expect(tok.decode(t.rejected)).toMatch(/<\|im_start\|>assistant\nA fish\.<\|im_end\|>\n$/);
    const r = await loadRewardExamples(jsonl('pairs.jsonl', pairs), tok, { maxLength: 256, skipInvalidRows: false });
    expect(r.examples.length).toBe(3);
    expect(r.examples[0].chosen).toEqual(tokenizeRewardPair(tok, { prompt: 'What is red?', chosen: 'A colour.', rejected: 'A fish.' }).chosen);
  });

  it('text rows without a template get EOS appended; pairs longer than max_length are dropped, never truncated', async () => {
    const t = tokenizeRewardPair(plain, { prompt: 'Q: red? ', chosen: 'A colour.', rejected: `A fish.${plain.decode([EOS])}` });
    expect(t.chosen).toEqual(plain.encode('Q: red? A colour.<|im_end|>', { addSpecialTokens: true }));
    expect(t.rejected.filter((x) => x === EOS).length).toBe(1);
    const long = [...pairs, { prompt: 'x '.repeat(200), chosen: 'y', rejected: 'z' }];
    const r = await loadRewardExamples(jsonl('pairs.jsonl', long), tok, { maxLength: 128, skipInvalidRows: false });
    expect(r.examples.map((x) => x.line)).toEqual([1, 2, 3]);
    expect(r.stats.dropped).toBe(1);
    expect(r.warnings).toEqual(['dropped 1 pair with a sequence longer than max_length=128 tokens (reward pairs are never truncated, as in TRL); raise max_length to keep them']);
    await expect(loadRewardExamples(jsonl('sft.jsonl', [{ messages: [u('a'), a('b')] }]), tok, { maxLength: 64, skipInvalidRows: false })).rejects.toThrow(/not preference pairs|not DPO data/);
  });
});

describe('datasets by method (methodData.ts)', () => {
  const kto = [
    { prompt: 'Hi', completion: 'Hello!', label: true },
    { prompt: 'Hi', completion: 'Go away.', label: false },
  ];
  it('inspection: unpaired rows are KTO data; a method asked for is the report\'s method; KTO counts a pair file unpaired', async () => {
    const unpaired = await inspectMethodData(jsonl('k.jsonl', kto));
    expect([unpaired.method, unpaired.formatId, unpaired.validRows, unpaired.samplePrompt]).toEqual(['kto', 'unpaired', 2, 'Hi']);
    expect((await inspectMethodData(jsonl('p.jsonl', pairs))).method).toBe('dpo');
    for (const method of ['orpo', 'simpo', 'reward'] as const) expect((await inspectMethodData(jsonl('p.jsonl', pairs), { method })).method).toBe(method);
    const asKto = await inspectMethodData(jsonl('p.jsonl', pairs), { method: 'kto' });
    expect([asKto.method, asKto.rows, asKto.validRows]).toEqual(['kto', 3, 6]);
    await expect(inspectMethodData(jsonl('k.jsonl', kto), { method: 'sft' })).rejects.toThrow(/unpaired preference data/);
  });

  it('loading: each method gets its rows (ORPO/SimPO pairs with BOS/EOS, KTO unpaired, reward pairs whole), with TRL\'s KTO weight advice', async () => {
    const opts = { maxLength: 256, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false };
    expect((await loadMethodExamples(jsonl('p.jsonl', pairs), tok, { ...opts, method: 'orpo' })).examples.method).toBe('orpo');
    const k = await loadMethodExamples(jsonl('k.jsonl', [...kto, { prompt: 'Yo', completion: 'Hey.', label: true }]), tok, { ...opts, method: 'kto', ktoWeights: { desirable: 1, undesirable: 1 } });
    expect(k.examples.method).toBe('kto');
    expect(k.warnings.some((w) => /2 desirable and 1 undesirable rows/.test(w))).toBe(true);
    const r = await loadMethodExamples(jsonl('p.jsonl', pairs), tok, { ...opts, method: 'reward' });
    expect(r.examples.method).toBe('reward');
    expect(r.samplePrompt).toBe('What is red?');
  });
});
