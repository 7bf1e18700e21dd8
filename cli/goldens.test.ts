// `whetstone eval` and `whetstone generate` reproduce the PyTorch goldens of the tiny-llama fixture
// (engine/model/fixtures/goldens/tiny-llama.json): the SFT loss of sft_eval.jsonl with and without
// the tiny-llama-lora adapter, and the greedy tokens of the golden prompt.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, whetstone } from './testing.ts';

const golden = JSON.parse(readFileSync(`${ROOT}engine/model/fixtures/goldens/tiny-llama.json`, 'utf8')) as {
  num_loss_tokens: number;
  loss: { base: number; lora: number };
  generation: { prompt_messages: { role: string; content: string }[]; max_new_tokens: number; base: number[]; lora: number[] };
};
const MODEL = 'engine/model/fixtures/tiny-llama';
const ADAPTER = 'engine/model/fixtures/tiny-llama-lora';
const DATA = 'engine/model/fixtures/sft_eval.jsonl';

describe('whetstone eval / generate vs PyTorch goldens (tiny-llama)', () => {
  for (const which of ['base', 'lora'] as const) {
    it(`eval --json: loss.${which}`, { timeout: 120_000 }, async () => {
      const args = ['eval', '--model', MODEL, '--data', DATA, '--json', ...(which === 'lora' ? ['--adapter', ADAPTER] : [])];
      const { json } = await whetstone(...args);
      expect(json.tokens).toBe(golden.num_loss_tokens);
      expect(json.rows).toBe(4);
      const want = golden.loss[which];
      expect(Math.abs((json.loss as number) - want) / want, `loss ${json.loss} vs ${want}`).toBeLessThan(1e-3);
    });

    it(`generate --json: greedy tokens (${which})`, { timeout: 120_000 }, async () => {
      const g = golden.generation;
      expect(g.prompt_messages.length).toBe(1);
      const prompt = g.prompt_messages[0].content;
      const args = ['generate', '--model', MODEL, '--prompt', prompt, '--max_new_tokens', String(g.max_new_tokens), '--json', ...(which === 'lora' ? ['--adapter', ADAPTER] : [])];
      const { json } = await whetstone(...args);
      expect(json.ids).toEqual(g[which]);
    });
  }
});
