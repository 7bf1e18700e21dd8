// Two independent implementations must agree: the pure-Python byte-level BPE + hand-written
// ChatML + segment-based masks of scripts/reference/tiny_tokenizer.py (which wrote the goldens),
// and @huggingface/tokenizers + @huggingface/jinja + prefix-rendering spans here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from './chatTemplate.ts';
import { FIXTURES, fixtureTokenizer, readJson } from './testing.ts';

interface TokenGolden {
  rows: { text: string; ids: number[]; train_mask: number[] }[];
  generation_prompt: { messages: ChatMessage[]; text: string; ids: number[] };
}

const golden = readJson<TokenGolden>('goldens/sft_eval_tokens.json');
const rows = readFileSync(new URL('sft_eval.jsonl', FIXTURES), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as { messages: ChatMessage[] });

describe('fixture tokenization matches the Python reference', () => {
  for (const model of ['tiny-llama', 'tiny-llama-untied', 'tiny-qwen2']) {
    it(`${model}: sft_eval.jsonl ids, train masks and rendering`, () => {
      const tok = fixtureTokenizer(model);
      expect(rows.length).toBe(golden.rows.length);
      expect(rows.length).toBeGreaterThanOrEqual(3);
      let assistantTurns = 0;
      rows.forEach((row, r) => {
        expect(tok.renderChat(row.messages)).toBe(golden.rows[r].text);
        const { ids, trainMask, spans } = tok.tokenizeConversation(row.messages);
        expect(ids, `row ${r} ids`).toEqual(golden.rows[r].ids);
        expect(Array.from(trainMask), `row ${r} mask`).toEqual(golden.rows[r].train_mask);
        expect(spans.length).toBe(row.messages.filter((m) => m.role === 'assistant').length);
        assistantTurns += spans.length;
      });
      expect(assistantTurns).toBeGreaterThanOrEqual(rows.length + 1); // one row has 2 assistant turns
      const gp = golden.generation_prompt;
      expect(tok.renderChat(gp.messages, { addGenerationPrompt: true })).toBe(gp.text);
      expect(tok.encode(gp.text, { addSpecialTokens: false })).toEqual(gp.ids);
    });
  }

  it('the model goldens were written from the same tokenization', () => {
    for (const model of ['tiny-llama', 'tiny-llama-untied', 'tiny-qwen2']) {
      const g = readJson<{ rows: { ids: number[]; train_mask: number[] }[]; generation: { prompt_ids: number[] } }>(`goldens/${model}.json`);
      expect(g.rows.map((r) => r.ids)).toEqual(golden.rows.map((r) => r.ids));
      expect(g.rows.map((r) => r.train_mask)).toEqual(golden.rows.map((r) => r.train_mask));
      expect(g.generation.prompt_ids).toEqual(golden.generation_prompt.ids);
    }
  });
});
