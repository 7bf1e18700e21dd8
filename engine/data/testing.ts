// Test helpers (Node only): load the tiny fixture tokenizer written by
// scripts/reference/make_tiny_models.py.
import { readFileSync } from 'node:fs';
import { ChatTokenizer, type ChatTokenizerOptions } from './tokenizer.ts';

export const FIXTURES = new URL('../model/fixtures/', import.meta.url);

export function readJson<T = Record<string, unknown>>(relative: string, base: URL = FIXTURES): T {
  return JSON.parse(readFileSync(new URL(relative, base), 'utf8')) as T;
}

/** The fixture model's tokenizer; `config` edits tokenizer_config.json before loading. */
export function fixtureTokenizer(
  model = 'tiny-llama',
  options: ChatTokenizerOptions & { config?: (c: Record<string, unknown>) => Record<string, unknown> } = {},
): ChatTokenizer {
  const tokenizerJson = readJson(`${model}/tokenizer.json`);
  const config = readJson(`${model}/tokenizer_config.json`);
  const generationConfig = options.generationConfig ?? readJson(`${model}/generation_config.json`);
  return new ChatTokenizer(tokenizerJson, options.config ? options.config(config) : config, {
    generationConfig,
    chatTemplate: options.chatTemplate,
    templateName: options.templateName,
  });
}

/** The text of the tokens where mask is 1, one string per span. */
export function spanTexts(tok: ChatTokenizer, ids: number[], spans: { start: number; end: number }[]): string[] {
  return spans.map((s) => tok.decode(ids.slice(s.start, s.end)));
}
