// Canonical records -> tokenized training rows, and truncation to max_length.
//
// With a chat template, string prompts become one user message and string completions one
// assistant message (Anthropic HH prompts are split into their turns); without one, prompt
// tokens then completion tokens + EOS. `text` rows train on every token.
//
// Tools: a row's tool schemas (`tools`) and the assistant turns' `tool_calls` reach the template
// as transformers passes them. A template that renders the same text without them would train a
// call-less (often empty) assistant turn, so such a row is refused naming what the template drops.
//
// Truncation (TRL): SFT keeps the start and cuts the end. DPO keeps the END of the prompt and
// the START of each completion: the prompt keeps max(max_length - longest completion,
// max_length / 2) tokens at most, and the completions are cut to what is left.
import type { ChatMessage, RenderOptions } from './chatTemplate.ts';
import { ChatTemplateError } from './chatTemplate.ts';
import type { PreferenceRecord, SftRecord } from './formats.ts';
import { hasToolCalls } from './messages.ts';
import { hhToMessages } from './records.ts';
import type { ChatTokenizer, TokenizedExample } from './tokenizer.ts';
import { RowProblem } from './validate.ts';

export interface TokenizedPair {
  /** (P) prompt tokens, shared by both sequences. */
  prompt: number[];
  /** (Cc) and (Cr) completion tokens (EOS / end-of-turn included). */
  chosen: number[];
  rejected: number[];
}

/** An SFT record as tokens and loss mask, before truncation. */
export function tokenizeSft(tok: ChatTokenizer, rec: SftRecord, completionOnlyLoss: boolean): TokenizedExample {
  let ex: TokenizedExample;
  if (rec.kind === 'text') ex = tok.tokenizeText(rec.text);
  else if (rec.kind === 'conversation') {
    needTemplate(tok, 'a list of messages');
    const options = rec.tools ? { tools: rec.tools } : {};
    checkToolsRendered(tok, rec.messages, options);
    ex = tok.tokenizeConversation(rec.messages, options);
  } else {
    const [prompt, completion] = promptCompletion(tok, rec.prompt, rec.completion);
    const options = rec.tools ? { tools: rec.tools } : {};
    if (rec.tools || [prompt, completion].some((m) => Array.isArray(m) && hasToolCalls(m))) {
      needTemplate(tok, 'tool schemas and tool calls');
      checkToolsRendered(tok, [...(prompt as ChatMessage[]), ...(completion as ChatMessage[])], options);
    }
    ex = tok.tokenizePromptCompletion(prompt, completion, options);
  }
  if (!completionOnlyLoss) ex = { ids: ex.ids, trainMask: new Uint8Array(ex.ids.length).fill(1) };
  return ex;
}

export interface PairTokenOptions {
  /**
   * ORPO / CPO (and KTO): prepend BOS to the prompt when the tokenizer defines one and the prompt
   * does not start with it, and append EOS to each completion that does not end with it (TRL's
   * add_bos_token_if_needed / add_eos_token_if_needed). A ChatML completion ends in
   * "<|im_end|>\n", so it gets a second <|im_end|>, as in TRL.
   */
  addBosEos?: boolean;
}

/** A preference record as prompt tokens and two completions, before truncation. */
export function tokenizePair(tok: ChatTokenizer, rec: PreferenceRecord, options: PairTokenOptions = {}): TokenizedPair {
  const [prompt, chosen, rejected] = withHhPrompt(tok, rec.prompt, [rec.chosen, rec.rejected]);
  const a = tokenizeWithPrompt(tok, prompt, chosen, rec.tools);
  const b = tokenizeWithPrompt(tok, prompt, rejected, rec.tools);
  const pa = a.trainMask.indexOf(1);
  const pb = b.trainMask.indexOf(1);
  if (pa !== pb || a.ids.slice(0, pa).some((id, i) => id !== b.ids[i])) {
    throw new RowProblem('prompt', 'the prompt tokenizes differently before chosen and before rejected');
  }
  const pair = { prompt: a.ids.slice(0, pa), chosen: a.ids.slice(pa), rejected: b.ids.slice(pb) };
  if (!options.addBosEos) return pair;
  return { prompt: withBos(pair.prompt, tok.bosTokenId), chosen: withEos(pair.chosen, tok.eosTokenId), rejected: withEos(pair.rejected, tok.eosTokenId) };
}

/**
 * One prompt and one completion (KTO's unpaired rows) as prompt and completion tokens, before
 * truncation; BOS/EOS as TRL's KTO _process_tokens adds them (the same rule as PairTokenOptions).
 */
export function tokenizeUnpaired(
  tok: ChatTokenizer,
  rec: { prompt: string | ChatMessage[]; completion: string | ChatMessage[]; tools?: unknown[] },
): { prompt: number[]; completion: number[] } {
  const [prompt, completion] = withHhPrompt(tok, rec.prompt, [rec.completion]);
  const ex = tokenizeWithPrompt(tok, prompt, completion, rec.tools);
  const k = ex.trainMask.indexOf(1);
  return { prompt: withBos(ex.ids.slice(0, k), tok.bosTokenId), completion: withEos(ex.ids.slice(k), tok.eosTokenId) };
}

/** With a chat template, an Anthropic HH prompt becomes its turns and text completions are trimmed. */
function withHhPrompt(tok: ChatTokenizer, prompt: string | ChatMessage[], completions: (string | ChatMessage[])[]): [string | ChatMessage[], ...(string | ChatMessage[])[]] {
  const hh = tok.hasChatTemplate && typeof prompt === 'string' ? hhToMessages(prompt) : null;
  if (!hh) return [prompt, ...completions];
  return [hh, ...completions.map((c) => (typeof c === 'string' ? c.trim() : c))];
}

/** prompt + completion through the template (or as text), the completion marked in trainMask. */
function tokenizeWithPrompt(tok: ChatTokenizer, prompt: string | ChatMessage[], completion: string | ChatMessage[], tools?: unknown[]): TokenizedExample {
  const [p, c] = promptCompletion(tok, prompt, completion);
  const options = tools ? { tools } : {};
  if (tools || [p, c].some((m) => Array.isArray(m) && hasToolCalls(m))) {
    needTemplate(tok, 'tool schemas and tool calls');
    checkToolsRendered(tok, [...(p as ChatMessage[]), ...(c as ChatMessage[])], options);
  }
  return tok.tokenizePromptCompletion(p, c, options);
}

/** TRL add_bos_token_if_needed: BOS first unless the tokenizer has none or it is already there. */
export function withBos(prompt: number[], bos: number | null): number[] {
  return bos !== null && prompt[0] !== bos ? [bos, ...prompt] : prompt;
}

/** TRL add_eos_token_if_needed: EOS last unless it is already there. */
export function withEos(completion: number[], eos: number | null): number[] {
  if (eos === null) throw new ChatTemplateError('This tokenizer has no EOS token, so a completion cannot be terminated.', 'Set eos_token in tokenizer_config.json.');
  return completion.at(-1) === eos ? completion : [...completion, eos];
}

/** Both sides as the tokenizer wants them: strings with no template, messages with one. */
function promptCompletion(tok: ChatTokenizer, prompt: string | ChatMessage[], completion: string | ChatMessage[]): [string | ChatMessage[], string | ChatMessage[]] {
  if (tok.hasChatTemplate) {
    return [
      typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt,
      typeof completion === 'string' ? [{ role: 'assistant', content: completion }] : completion,
    ];
  }
  if (typeof prompt === 'string' && typeof completion === 'string') return [prompt, completion];
  // A one-turn exchange (Alpaca) still works as plain text.
  const p = Array.isArray(prompt) && prompt.length === 1 && prompt[0].role === 'user' ? prompt[0].content : prompt;
  const c = Array.isArray(completion) && completion.length === 1 && completion[0].role === 'assistant' ? completion[0].content : completion;
  if (typeof p === 'string' && typeof c === 'string') return [p, c];
  needTemplate(tok, 'a list of messages');
  return [p, c];
}

/**
 * Refuses a conversation whose tool calls or tool schemas the chat template does not render:
 * rendered with and without them, the text would be the same.
 */
function checkToolsRendered(tok: ChatTokenizer, messages: ChatMessage[], options: Pick<RenderOptions, 'tools'>): void {
  const calls = messages.findIndex((m) => Array.isArray(m['tool_calls']) && m['tool_calls'].length > 0);
  if (calls < 0 && !options.tools) return;
  const full = tok.renderChat(messages, options);
  const rendersSame = (msgs: ChatMessage[], opts: Pick<RenderOptions, 'tools'>) => {
    try {
      return tok.renderChat(msgs, opts) === full;
    } catch {
      return false; // the template needs what was taken away: it uses it
    }
  };
  if (calls >= 0 && rendersSame(messages.map(({ tool_calls: _, ...m }) => m as ChatMessage), options)) {
    throw new RowProblem(
      'tool_calls',
      `the chat template drops tool calls (message ${calls}, ${messages[calls].role}), so the turn would be trained without its call; use a model whose chat template renders tools (e.g. Qwen2.5), or leave these rows out (skip_invalid_rows)`,
    );
  }
  if (options.tools && rendersSame(messages, {})) {
    throw new RowProblem('tools', 'the chat template ignores the tool schemas, so the model would learn calls to tools it is never shown; use a model whose chat template renders tools (e.g. Qwen2.5), or leave these rows out (skip_invalid_rows)');
  }
}

function needTemplate(tok: ChatTokenizer, what: string): void {
  if (!tok.hasChatTemplate) {
    throw new ChatTemplateError(
      `This tokenizer has no chat template, so ${what} cannot be rendered.`,
      'Use a model with a chat template (an -Instruct model), or prompt/completion or text rows.',
    );
  }
}

export type Fit = 'fits' | 'truncated' | 'dropped';

/** SFT truncation: keep the first maxLength tokens (TRL's truncation of the end). */
export function fitSft(ex: TokenizedExample, maxLength: number, dropLongRows: boolean): { fit: Fit; ids: number[]; trainMask: Uint8Array } {
  if (ex.ids.length <= maxLength) return { fit: 'fits', ids: ex.ids, trainMask: ex.trainMask };
  if (dropLongRows) return { fit: 'dropped', ids: [], trainMask: new Uint8Array(0) };
  return { fit: 'truncated', ids: ex.ids.slice(0, maxLength), trainMask: ex.trainMask.slice(0, maxLength) };
}

/**
 * DPO truncation: prompt (P) keeps its last keep = min(P, max(L - max(Cc, Cr), floor(L/2)))
 * tokens, each completion its first L - keep tokens; every sequence is then <= L.
 */
export function fitPair(pair: TokenizedPair, maxLength: number, dropLongRows: boolean): { fit: Fit; prompt: number[]; chosen: number[]; rejected: number[] } {
  const longest = Math.max(pair.chosen.length, pair.rejected.length);
  if (pair.prompt.length + longest <= maxLength) return { fit: 'fits', ...pair };
  if (dropLongRows) return { fit: 'dropped', prompt: [], chosen: [], rejected: [] };
  const keep = Math.min(pair.prompt.length, Math.max(maxLength - longest, Math.floor(maxLength / 2)));
  const room = maxLength - keep;
  return {
    fit: 'truncated',
    prompt: pair.prompt.slice(pair.prompt.length - keep),
    chosen: pair.chosen.slice(0, room),
    rejected: pair.rejected.slice(0, room),
  };
}

/** Prompt + completion as one sequence with the completion trained. */
export function joinPair(prompt: number[], completion: number[]): { ids: number[]; trainMask: Uint8Array } {
  const trainMask = new Uint8Array(prompt.length + completion.length);
  trainMask.fill(1, prompt.length);
  return { ids: [...prompt, ...completion], trainMask };
}
