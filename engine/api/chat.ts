// EngineApi.generate: one user message -> the answer, streamed as decoded text so far, through the
// engine's chat module (engine/session/chat.ts, the same as `whetstone generate`; a model without
// a chat template gets the message as plain text). adapter null = the base model; adapter files
// are loaded once and kept (side-by-side compare calls generate with and without the same adapter
// over and over).
import { loadAdapterFiles } from '../lora/load.ts';
import type { LoraAdapter } from '../lora/types.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import { chatPrompt, generateText } from '../session/chat.ts';
import { bestOfN, type BestOfN } from '../session/reward.ts';
import type { EngineRuntime } from './runtime.ts';

export interface ChatOptions {
  adapter: Record<string, ArrayBuffer> | null;
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
}

export async function chat(runtime: EngineRuntime, prompt: string, options: ChatOptions, onToken: (textSoFar: string) => void): Promise<string> {
  const { loaded } = await runtime.model('chat');
  const lora = options.adapter ? await adapterFor(runtime, loaded, options.adapter) : null;
  const settings = { maxNewTokens: options.maxNewTokens, temperature: options.temperature, topP: options.topP, seed: options.seed };
  const defined = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const { text } = await generateText(loaded.model, loaded.tokenizer, chatPrompt(loaded.tokenizer, prompt).ids, lora, defined, onToken);
  return text;
}

export interface BestOfNOptions extends ChatOptions {
  /** The reward model's adapter files (a SEQ_CLS adapter: trained with method reward). */
  rewardAdapter: Record<string, ArrayBuffer>;
  /** Answers to sample. */
  n: number;
}

/**
 * Best-of-N: `n` answers sampled from the model with `adapter` (or the base), each scored by the
 * reward model; every answer with its reward and the best one's index. onCandidate gets each
 * answer as it is finished (before the scoring).
 */
export async function chatBestOfN(runtime: EngineRuntime, prompt: string, options: BestOfNOptions, onCandidate?: (index: number, text: string) => void): Promise<BestOfN> {
  const { loaded } = await runtime.model('best-of-N');
  const policy = options.adapter ? await adapterFor(runtime, loaded, options.adapter) : null;
  const reward = await adapterFor(runtime, loaded, options.rewardAdapter);
  const settings = { maxNewTokens: options.maxNewTokens, temperature: options.temperature, topP: options.topP, seed: options.seed };
  const defined = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  return bestOfN(loaded.model, loaded.tokenizer, prompt, policy, reward, { ...defined, n: options.n }, onCandidate);
}

async function adapterFor(runtime: EngineRuntime, loaded: LoadedModel, files: Record<string, ArrayBuffer>): Promise<LoraAdapter> {
  const key = adapterKey(files);
  const cached = runtime.adapter(key, loaded);
  if (cached) return cached;
  const adapter = await loadAdapterFiles(loaded.model.ctx, loaded.spec, 'the adapter', bytesOf(files));
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
