// EngineApi.generate: one user message -> the answer, streamed as decoded text so far. The prompt
// goes through the model's chat template (with the generation prompt); without a template it is
// tokenized as raw text. adapter null = the base model; adapter files are loaded once and kept
// (side-by-side compare calls generate with and without the same adapter over and over).
import type { ChatTokenizer } from '../data/tokenizer.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { generate } from '../model/generate.ts';
import { loadAdapter, type LoadedModel } from '../model/loadModel.ts';
import type { LlamaModel } from '../model/model.ts';
import type { LoraAdapter } from '../lora/types.ts';
import type { EngineRuntime } from './runtime.ts';

export interface ChatOptions {
  adapter: Record<string, ArrayBuffer> | null;
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export const DEFAULT_MAX_NEW_TOKENS = 128;

/** Token ids of `prompt` as a user turn ready for the answer (raw text when there is no chat template). */
export function promptIds(tokenizer: ChatTokenizer, prompt: string): number[] {
  if (!tokenizer.hasChatTemplate) return tokenizer.encode(prompt, { addSpecialTokens: true });
  return tokenizer.encode(tokenizer.renderChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true }), { addSpecialTokens: false });
}

/** Generates from `ids`, calling onText with the decoded answer so far after every token. */
export async function streamAnswer(
  model: LlamaModel,
  tokenizer: ChatTokenizer,
  ids: number[],
  lora: LoraAdapter | null,
  opts: { maxNewTokens: number; temperature: number; topP: number; seed: number },
  onText?: (textSoFar: string) => void,
): Promise<string> {
  const out: number[] = [];
  await generate(model, ids, {
    temperature: opts.temperature,
    topP: opts.topP,
    topK: 0,
    seed: opts.seed,
    maxNewTokens: opts.maxNewTokens,
    eosTokenIds: tokenizer.stopTokenIds,
    lora,
    onToken: (id) => {
      out.push(id);
      onText?.(tokenizer.decode(out, { skipSpecialTokens: true }));
    },
  });
  return tokenizer.decode(out, { skipSpecialTokens: true });
}

export async function chat(runtime: EngineRuntime, prompt: string, options: ChatOptions, onToken: (textSoFar: string) => void): Promise<string> {
  const { loaded } = await runtime.model('chat');
  const lora = options.adapter ? await adapterFor(runtime, loaded, options.adapter) : null;
  return streamAnswer(
    loaded.model,
    loaded.tokenizer,
    promptIds(loaded.tokenizer, prompt),
    lora,
    { maxNewTokens: options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, temperature: options.temperature ?? 0, topP: options.topP ?? 1, seed: options.seed ?? 0 },
    onToken,
  );
}

async function adapterFor(runtime: EngineRuntime, loaded: LoadedModel, files: Record<string, ArrayBuffer>): Promise<LoraAdapter> {
  const key = adapterKey(files);
  const cached = runtime.adapter(key, loaded);
  if (cached) return cached;
  const ctx = loaded.model.ctx;
  const adapter = await loadAdapter(ctx, loaded.spec, memoryFileSet('the adapter', bytesOf(files)));
  runtime.keepAdapter(key, loaded, adapter);
  return adapter;
}

export function bytesOf(files: Record<string, ArrayBuffer>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Uint8Array(v)]));
}

/** A content key for adapter files (FNV-1a over every byte, with sizes): equal files, equal key. */
export function adapterKey(files: Record<string, ArrayBuffer>): string {
  const parts: string[] = [];
  for (const name of Object.keys(files).sort()) {
    const bytes = new Uint8Array(files[name]);
    let h = 0x811c9dc5;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    parts.push(`${name}:${bytes.length}:${(h >>> 0).toString(16)}`);
  }
  return parts.join('|');
}
