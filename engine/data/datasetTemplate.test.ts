// Chat-template failures while loading a dataset: a template that fails on every row (or goes
// over its rendering budget) is reported as a template error naming the template, not as
// "invalid dataset rows"; a template that rejects only some rows still names those rows.
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { ChatTemplateBudgetError, ChatTemplateError } from './chatTemplate.ts';
import { DatasetError, loadTrainingExamples, type LoadOptions } from './dataset.ts';
import { fixtureTokenizer } from './testing.ts';

const jsonl = (rows: unknown[]) => new MemorySource('chat.jsonl', new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
const sft: LoadOptions = { method: 'sft', maxLength: 256, dropLongRows: false, completionOnlyLoss: true, skipInvalidRows: false };
const row = (user: string) => ({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: 'ok' }] });
const rows = [row('a'), row('b'), row('c')];

describe('chat-template errors while loading a dataset', () => {
  it('a template broken for every row is a template error, not invalid rows', async () => {
    const tok = fixtureTokenizer('tiny-llama', { chatTemplate: '{% for m in messages %}{{ m.content | no_such_filter }}{% endfor %}' });
    const err = await loadTrainingExamples(jsonl(rows), tok, sft).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatTemplateError);
    expect(err).not.toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/^The chat template \(tokenizer_config\.json "chat_template"\) failed to render: .* \(on every row of chat\.jsonl: 3 of 3; first at line 1\)$/);
  });

  it('a template over its budget stops at once with the budget error', async () => {
    const exponential = '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}';
    const tok = fixtureTokenizer('tiny-llama', { chatTemplate: exponential, templateName: 'The chat template of evil/model' });
    await expect(loadTrainingExamples(jsonl(rows), tok, { ...sft, skipInvalidRows: true })).rejects.toThrow(ChatTemplateBudgetError);
  });

  it('a template that rejects some rows still reports those rows by line', async () => {
    const tok = fixtureTokenizer('tiny-llama', {
      chatTemplate: "{% for m in messages %}{% if m.content == 'b' %}{{ raise_exception('no b') }}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    });
    const err = await loadTrainingExamples(jsonl(rows), tok, sft).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toContain('line 2');
    expect((err as Error).message).toContain('no b');
  });
});
