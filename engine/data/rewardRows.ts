// Reward-model rows as TRL's RewardTrainer tokenizes them (reward_trainer.py _prepare_dataset):
// each answer is scored on the WHOLE text, prompt + answer, tokenized at once.
//   With a chat template: prompt messages + answer messages rendered together (no generation
//   prompt) and tokenized without added special tokens (the template writes its own).
//   Without one: prompt text + answer text, EOS text appended when the answer does not end with it,
//   tokenized with the tokenizer's special tokens (e.g. BOS).
// Pairs where either sequence is longer than max_length are dropped, not truncated (TRL filters
// them: a truncated answer would lose what made it better or worse).
import type { ChatMessage } from './chatTemplate.ts';
import { ChatTemplateError } from './chatTemplate.ts';
import type { PreferenceRecord, SftRecord } from './formats.ts';
import { hhToMessages } from './records.ts';
import type { ChatTokenizer } from './tokenizer.ts';

export interface RewardPairTokens {
  chosen: number[]; // prompt + chosen answer, whole
  rejected: number[]; // prompt + rejected answer, whole
}

export function tokenizeRewardPair(tok: ChatTokenizer, rec: PreferenceRecord): RewardPairTokens {
  return { chosen: tokenizeRewardSequence(tok, rec.prompt, rec.chosen, rec.tools), rejected: tokenizeRewardSequence(tok, rec.prompt, rec.rejected, rec.tools) };
}

/**
 * One SFT row as the sequence a reward model scores (`whetstone score`): a conversation rendered
 * whole, a prompt with its completion, or a text with EOS appended (as an answer without a template).
 */
export function tokenizeRewardRecord(tok: ChatTokenizer, rec: SftRecord): number[] {
  if (rec.kind === 'prompt_completion') return tokenizeRewardSequence(tok, rec.prompt, rec.completion, rec.tools);
  if (rec.kind === 'text') {
    if (tok.eosTokenId === null) throw new ChatTemplateError('This tokenizer has no EOS token, so a text cannot be terminated.', 'Set eos_token in tokenizer_config.json.');
    const ids = tok.encode(rec.text, { addSpecialTokens: true });
    return ids.at(-1) === tok.eosTokenId ? ids : [...ids, tok.eosTokenId];
  }
  if (!tok.hasChatTemplate) throw new ChatTemplateError('This tokenizer has no chat template, so a list of messages cannot be rendered.', 'Use a model with a chat template (an -Instruct model), or text rows.');
  return tok.encode(tok.renderChat(rec.messages, rec.tools ? { tools: rec.tools } : {}), { addSpecialTokens: false });
}

/** Prompt + answer as one sequence, the way TRL's RewardTrainer tokenizes a chosen or rejected answer. */
export function tokenizeRewardSequence(tok: ChatTokenizer, prompt: string | ChatMessage[], answer: string | ChatMessage[], tools?: unknown[]): number[] {
  if (tok.hasChatTemplate) {
    const hh = typeof prompt === 'string' ? hhToMessages(prompt) : null;
    const turns: ChatMessage[] = hh ?? (typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt);
    const reply: ChatMessage[] = typeof answer === 'string' ? [{ role: 'assistant', content: hh ? answer.trim() : answer }] : answer;
    return tok.encode(tok.renderChat([...turns, ...reply], tools ? { tools } : {}), { addSpecialTokens: false });
  }
  if (typeof prompt !== 'string' || typeof answer !== 'string') {
    throw new ChatTemplateError('This tokenizer has no chat template, so a list of messages cannot be rendered.', 'Use a model with a chat template (an -Instruct model), or text rows.');
  }
  if (tok.eosTokenId === null) throw new ChatTemplateError('This tokenizer has no EOS token, so an answer cannot be terminated.', 'Set eos_token in tokenizer_config.json.');
  const eos = tok.decode([tok.eosTokenId]);
  return tok.encode(prompt + (answer.endsWith(eos) ? answer : answer + eos), { addSpecialTokens: true });
}

/** TRL's filter: a pair fits when both sequences are at most maxLength tokens, else it is dropped. */
export function rewardPairFits(pair: RewardPairTokens, maxLength: number): boolean {
  return pair.chosen.length <= maxLength && pair.rejected.length <= maxLength;
}
