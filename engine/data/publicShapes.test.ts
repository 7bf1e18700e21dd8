// The shapes of public dataset files (issue 14), each a small fixture written by
// fixtures/make_public_shapes.py, through inspectDataset and loadTrainingExamples.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { NodeFileSource } from '../io/byteSourceNode.ts';
import { DatasetError, inspectDataset, loadTrainingExamples, type LoadOptions } from './dataset.ts';
import { fixtureTokenizer, readJson } from './testing.ts';

const FIX = new URL('./fixtures/', import.meta.url);
const file = (name: string) => NodeFileSource.open(new URL(name, FIX).pathname);
const QWEN25 = readFileSync(new URL('qwen2_5_chat_template.jinja', FIX), 'utf8');
const chatml = fixtureTokenizer(); // SmolLM2's ChatML: renders neither tools nor tool calls
const qwen = fixtureTokenizer('tiny-qwen2', { chatTemplate: QWEN25 });
const sft: LoadOptions = { method: 'sft', maxLength: 4096, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false };
const dpo: LoadOptions = { ...sft, method: 'dpo' };
type Row = { ids: number[]; trainMask: ArrayLike<number>; line?: number };
type Pair = { chosen: Row; rejected: Row };
const trained = (tok: typeof chatml, r: Row) => tok.decode(r.ids.filter((_, i) => r.trainMask[i]));

describe('public file shapes', () => {
  it('Alpaca CSV: list-looking input cells stay text', async () => {
    const info = await inspectDataset(await file('alpaca_listy.csv'));
    expect(info).toMatchObject({ format: 'Alpaca', fileFormat: 'csv', compression: null, rows: 4, validRows: 4, errors: [] });
    const r = await loadTrainingExamples(await file('alpaca_listy.csv'), chatml, sft);
    const row = r.examples.rows[1] as Row;
    expect(row.line).toBe(3);
    expect(chatml.decode(row.ids)).toContain('<|im_start|>user\nFind the largest number in the list.\n\n[1,7,9,11,12,14,18,21]<|im_end|>');
    expect(trained(chatml, r.examples.rows[3] as Row)).toBe('[1, 2, 3]<|im_end|>\n');
  });

  it('a messages column written by pandas (Python literals, numpy without commas) reads like JSON', async () => {
    const r = await loadTrainingExamples(await file('messages_pandas.csv'), chatml, sft);
    expect(r.format).toBe('OpenAI messages');
    expect(r.examples.rows.map((x) => trained(chatml, x as Row))).toEqual(['Four, "4".<|im_end|>\n', 'Hello!\nHow can I help?<|im_end|>\n', 'See you.<|im_end|>\n']);
  });

  it('gzip-compressed Anthropic HH (hh.jsonl.gz)', async () => {
    const info = await inspectDataset(await file('hh.jsonl.gz'));
    expect(info).toMatchObject({ format: 'Anthropic HH (implicit prompt)', fileFormat: 'jsonl', compression: 'gzip', rows: 3, validRows: 3 });
    const r = await loadTrainingExamples(await file('hh.jsonl.gz'), chatml, dpo);
    const pair = r.examples.rows[1] as Pair;
    expect(trained(chatml, pair.chosen)).toBe('An apple.<|im_end|>\n');
    expect(r.compression).toBe('gzip');
  });

  it('LLaMA-Factory preference (conversations + chosen/rejected objects)', async () => {
    const info = await inspectDataset(await file('llamafactory_dpo.json'));
    expect(info).toMatchObject({ formatId: 'sharegpt_preference', method: 'dpo', rows: 2, validRows: 2, errors: [] });
    const r = await loadTrainingExamples(await file('llamafactory_dpo.json'), chatml, dpo);
    const pair = r.examples.rows[1] as Pair;
    expect(chatml.decode(pair.chosen.ids)).toContain('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nCount to three.<|im_end|>\n<|im_start|>assistant\n1, 2, 3.<|im_end|>');
    expect([trained(chatml, pair.chosen), trained(chatml, pair.rejected)]).toEqual(['1, 2, 3.<|im_end|>\n', 'No.<|im_end|>\n']);
  });

  it('samplePrompt: the first valid row\'s user turn, whatever the format', async () => {
    const prompts: [string, string][] = [
      ['alpaca_listy.csv', 'Name a primary colour.'],
      ['hh.jsonl.gz', 'What is the capital of France?'],
      ['llamafactory_dpo.json', 'Name a planet.'],
      ['content_parts_value.jsonl', 'Describe rain.'],
      ['chosen_messages.jsonl', '2+2?'],
      ['sharegpt_tools.json', 'Weather in Paris?'],
    ];
    for (const [name, prompt] of prompts) expect((await inspectDataset(await file(name))).samplePrompt, name).toBe(prompt);
  });

  it('content parts with `value`, chosen_messages/rejected_messages, Alpaca with `response`', async () => {
    const parts = await loadTrainingExamples(await file('content_parts_value.jsonl'), chatml, sft);
    expect(chatml.decode((parts.examples.rows[0] as Row).ids)).toContain('<|im_start|>user\nDescribe rain.<|im_end|>');
    const pref = await loadTrainingExamples(await file('chosen_messages.jsonl'), chatml, dpo);
    expect(pref.format).toBe('preference pairs (chosen_messages/rejected_messages)');
    const p2 = pref.examples.rows[1] as Pair;
    expect(chatml.decode(p2.chosen.ids)).toMatch(/^<\|im_start\|>system\nBe kind\.<\|im_end\|>\n<\|im_start\|>user\nHi<\|im_end\|>/);
    expect([trained(chatml, p2.chosen), trained(chatml, p2.rejected)]).toEqual(['Hello, friend!<|im_end|>\n', 'What?<|im_end|>\n']);
    const alp = await loadTrainingExamples(await file('alpaca_response.jsonl'), chatml, sft);
    expect(alp.format).toBe('Alpaca');
    expect(alp.examples.rows.map((x) => trained(chatml, x as Row))).toEqual(['Blue.<|im_end|>\n', 'chat<|im_end|>\n', 'chat<|im_end|>\nchien<|im_end|>\n']);
    expect(chatml.decode((alp.examples.rows[1] as Row).ids)).toMatch(/^<\|im_start\|>system\nYou are a translator\.<\|im_end\|>\n<\|im_start\|>user\nTranslate to French\.\n\ncat<\|im_end\|>/);
  });
});

describe('tool calls', () => {
  it('OpenAI tool_calls + tools reach a template that renders them, exactly as transformers renders them (Python golden)', async () => {
    const golden = readJson<{ rows: { text: string }[] }>('openai_tools.qwen2_5.golden.json', FIX);
    const r = await loadTrainingExamples(await file('openai_tools.jsonl'), qwen, sft);
    expect(r.stats).toMatchObject({ rows: 3, used: 3, skipped: 0 });
    r.examples.rows.forEach((x, i) => expect((x as Row).ids, `row ${i + 1}`).toEqual(qwen.encode(golden.rows[i].text, { addSpecialTokens: false })));
    // The call is trained as the assistant's turn.
    expect(trained(qwen, r.examples.rows[0] as Row)).toBe('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>\nIt is -3 C in Oslo.<|im_end|>\n');
  });

  it('a template that drops tool calls or tool schemas: the rows are refused, or skipped with skip_invalid_rows', async () => {
    const err = await loadTrainingExamples(await file('openai_tools.jsonl'), chatml, sft).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    const msg = (err as DatasetError).message;
    expect(msg).toMatch(/openai_tools\.jsonl: 3 invalid rows of 3:/);
    expect(msg).toMatch(/line 1: tool_calls: the chat template drops tool calls \(message 1, assistant\), so the turn would be trained without its call/);
    expect(msg).toMatch(/line 2: tools: the chat template ignores the tool schemas/);
    const skipped = await loadTrainingExamples(await file('sharegpt_tools.json'), chatml, { ...sft, skipInvalidRows: true }).catch((e: unknown) => e);
    expect((skipped as Error).message).toMatch(/no usable rows \(2 in the file: 2 invalid/);
  });

  it('conversational prompt/completion rows with a tool call are checked the same way', async () => {
    const row = { prompt: [{ role: 'user', content: 'Weather?' }], completion: [{ role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] }] };
    const src = () => new MemorySource('pc.jsonl', new TextEncoder().encode(JSON.stringify(row) + '\n'));
    await expect(loadTrainingExamples(src(), chatml, sft)).rejects.toThrow(/pc\.jsonl line 1: tool_calls: the chat template drops tool calls \(message 1, assistant\)/);
    const ok = await loadTrainingExamples(src(), qwen, sft);
    expect(trained(qwen, ok.examples.rows[0] as Row)).toBe('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>\n');
  });

  it('ShareGPT function_call / observation turns and a tools column render through a tool template', async () => {
    const r = await loadTrainingExamples(await file('sharegpt_tools.json'), qwen, sft);
    expect(r.format).toBe('ShareGPT');
    const text = qwen.decode((r.examples.rows[0] as Row).ids);
    expect(text).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather", "description": "Current weather of a city"');
    expect(text).toContain('<|im_start|>user\n<tool_response>\n{"temp_c": 21}\n</tool_response><|im_end|>');
    expect(trained(qwen, r.examples.rows[0] as Row)).toBe('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\nIt is 21 C in Paris.<|im_end|>\n');
  });
});
