// Chat with a model, the same for `whetstone generate`, the studio's Compare panel and the sample
// generations during training: a user message becomes prompt ids through the model's chat template
// (with the generation prompt); the answer is generated and decoded as it grows (streaming).
// Policy without a chat template (base models): the message is used as plain text, as --raw
// asks for explicitly; the result says so (`templated: false`) so a face can tell the user.
import type { ChatTokenizer } from '../data/tokenizer.ts';
import { generate } from '../model/generate.ts';
import type { LoraAdapter } from '../model/loraTypes.ts';
import type { LlamaModel } from '../model/model.ts';

export interface ChatPrompt {
  ids: number[];
  /** false: the text was tokenized as is (raw asked for, or the model has no chat template). */
  templated: boolean;
}

/** Token ids of `message` as one user turn ready for the answer; raw: the text itself (special tokens added). */
export function chatPrompt(tokenizer: ChatTokenizer, message: string, opts: { raw?: boolean } = {}): ChatPrompt {
  if (opts.raw || !tokenizer.hasChatTemplate) return { ids: tokenizer.encode(message, { addSpecialTokens: true }), templated: false };
  const text = tokenizer.renderChat([{ role: 'user', content: message }], { addGenerationPrompt: true });
  return { ids: tokenizer.encode(text, { addSpecialTokens: false }), templated: true };
}

export interface GenerationSettings {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  /** 0 = off. */
  topK: number;
  seed: number;
}

export const DEFAULT_GENERATION: GenerationSettings = { maxNewTokens: 128, temperature: 0, topP: 1, topK: 0, seed: 0 };

/**
 * Generates after `promptIds` (until a stop token of the tokenizer or maxNewTokens), calling
 * onText with the decoded answer so far after every token. Returns the new ids and their text.
 */
export async function generateText(
  model: LlamaModel,
  tokenizer: ChatTokenizer,
  promptIds: number[],
  adapter: LoraAdapter | null,
  settings: Partial<GenerationSettings>,
  onText?: (textSoFar: string) => void,
): Promise<{ ids: number[]; text: string }> {
  const s = { ...DEFAULT_GENERATION, ...settings };
  const out: number[] = [];
  await generate(model, promptIds, {
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    seed: s.seed,
    maxNewTokens: s.maxNewTokens,
    eosTokenIds: tokenizer.stopTokenIds,
    lora: adapter,
    onToken: (id) => {
      out.push(id);
      onText?.(tokenizer.decode(out, { skipSpecialTokens: true }));
    },
  });
  return { ids: out, text: tokenizer.decode(out, { skipSpecialTokens: true }) };
}
