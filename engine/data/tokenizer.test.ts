import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError, type ChatMessage } from './chatTemplate.ts';
import { fixtureTokenizer, spanTexts } from './testing.ts';
import { WhetstoneError } from '../errors.ts';

const QWEN25_TEMPLATE = readFileSync(new URL('./fixtures/qwen2_5_chat_template.jinja', import.meta.url), 'utf8');
const QWEN_SYSTEM = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';
const SMOL_SYSTEM = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face';

const TWO_TURNS: ChatMessage[] = [
  { role: 'user', content: 'Translate hello into French.' },
  { role: 'assistant', content: 'Bonjour!' },
  { role: 'user', content: 'And thank you?' },
  { role: 'assistant', content: 'Merci.' },
];

function maskedText(tok: ReturnType<typeof fixtureTokenizer>, ids: number[], mask: Uint8Array): string {
  return tok.decode(ids.filter((_, t) => mask[t] === 1));
}

describe('ChatTokenizer basics (tiny fixture tokenizer)', () => {
  const tok = fixtureTokenizer();

  it('reads special token ids from tokenizer_config and generation_config', () => {
    const imStart = tok.tokenToId('<|im_start|>');
    const imEnd = tok.tokenToId('<|im_end|>');
    expect(imStart).not.toBeNull();
    expect(imEnd).not.toBeNull();
    expect(tok.bosTokenId).toBe(imStart);
    expect(tok.eosTokenId).toBe(imEnd);
    expect(tok.padTokenId).toBe(imEnd);
    expect(tok.stopTokenIds).toEqual([imEnd]);
    expect(tok.hasChatTemplate).toBe(true);
    expect(tok.vocabSize).toBe(379);
  });

  it('generation_config eos lists become stop tokens', () => {
    const endOfText = 376;
    const t = fixtureTokenizer('tiny-llama', { generationConfig: { eos_token_id: [378, endOfText] } });
    expect(t.eosTokenId).toBe(378);
    expect(t.stopTokenIds).toEqual([378, endOfText]);
  });

  it('encode/decode round-trips bytes, keeps or skips special tokens', () => {
    const text = '<|im_start|>user\nCafé ☕, 1 2 3!<|im_end|>\n';
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nCafé ☕, 1 2 3!\n');
    // This tokenizer's post-processor adds nothing, so both settings agree.
    expect(tok.encode('hello world', { addSpecialTokens: true })).toEqual(tok.encode('hello world', { addSpecialTokens: false }));
  });
});

describe('assistant loss spans by prefix rendering', () => {
  it('SmolLM2 ChatML: default system prompt, two assistant turns counted, user turns not', () => {
    const tok = fixtureTokenizer();
    const text = tok.renderChat(TWO_TURNS);
    expect(text.startsWith(`<|im_start|>system\n${SMOL_SYSTEM}<|im_end|>\n<|im_start|>user\n`)).toBe(true);
    const { ids, trainMask, spans } = tok.tokenizeConversation(TWO_TURNS);
    expect(ids).toEqual(tok.encode(text, { addSpecialTokens: false }));
    expect(spans.length).toBe(2);
    expect(spanTexts(tok, ids, spans)).toEqual(['Bonjour!<|im_end|>\n', 'Merci.<|im_end|>\n']);
    // The mask is exactly the union of the spans.
    const expected = new Uint8Array(ids.length);
    for (const s of spans) expected.fill(1, s.start, s.end);
    expect(Array.from(trainMask)).toEqual(Array.from(expected));
    expect(maskedText(tok, ids, trainMask)).toBe('Bonjour!<|im_end|>\nMerci.<|im_end|>\n');
    // the tokens just before each span are the generation prompt "<|im_start|>assistant\n"
    for (const s of spans) expect(tok.decode(ids.slice(0, s.start)).endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('Qwen2.5 template: its default system prompt, multi-turn, with a system turn and with tools', () => {
    const tok = fixtureTokenizer('tiny-qwen2', { chatTemplate: QWEN25_TEMPLATE });
    const text = tok.renderChat(TWO_TURNS);
    expect(text).toBe(
      `<|im_start|>system\n${QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\nTranslate hello into French.<|im_end|>\n` +
        '<|im_start|>assistant\nBonjour!<|im_end|>\n<|im_start|>user\nAnd thank you?<|im_end|>\n<|im_start|>assistant\nMerci.<|im_end|>\n',
    );
    const { ids, trainMask, spans } = tok.tokenizeConversation(TWO_TURNS);
    expect(spanTexts(tok, ids, spans)).toEqual(['Bonjour!<|im_end|>\n', 'Merci.<|im_end|>\n']);
    expect(maskedText(tok, ids, trainMask)).toBe('Bonjour!<|im_end|>\nMerci.<|im_end|>\n');

    const withSystem = [{ role: 'system', content: 'Be brief.' }, ...TWO_TURNS];
    expect(tok.renderChat(withSystem).startsWith('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user')).toBe(true);
    expect(spanTexts(tok, ...spansOf(tok.tokenizeConversation(withSystem)))).toEqual(['Bonjour!<|im_end|>\n', 'Merci.<|im_end|>\n']);

    const tools = [{ type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }];
    const toolText = tok.renderChat(TWO_TURNS, { tools });
    expect(toolText).toContain('# Tools');
    expect(toolText).toContain('"name": "get_time"');
    const withTools = tok.tokenizeConversation(TWO_TURNS, { tools });
    expect(spanTexts(tok, withTools.ids, withTools.spans)).toEqual(['Bonjour!<|im_end|>\n', 'Merci.<|im_end|>\n']);
  });

  it('a template that renders the last assistant turn differently is refused, naming the turn', () => {
    // Earlier assistant turns lose their content (like reasoning-stripping templates).
    const lastOnly =
      "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}" +
      "{% if m.role == 'assistant' and not loop.last %}(earlier){% else %}{{ m.content }}{% endif %}" +
      "{{ '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    const tok = fixtureTokenizer('tiny-llama', { chatTemplate: lastOnly });
    let caught: unknown;
    try {
      tok.tokenizeConversation(TWO_TURNS);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ChatTemplateError);
    expect(caught).toBeInstanceOf(WhetstoneError);
    const err = caught as ChatTemplateError;
    expect(err.message).toContain('not prefix-stable');
    expect(err.message).toContain('message 1 (assistant turn 1)');
    expect(err.hint.length).toBeGreaterThan(0);
    // One assistant turn is fine with the same template.
    expect(tok.tokenizeConversation(TWO_TURNS.slice(0, 2)).spans.length).toBe(1);
  });

  it('a generation prompt whose last token merges with the answer is refused (token-level check)', () => {
    // A generation prompt ending in a space: "assistant: " + "the capital" tokenizes " the" as one
    // token, so the text is a prefix but the tokens are not (the classic trailing-space bug).
    const spaced =
      "{% for m in messages %}{{ '<|im_start|>' + m.role + ': ' + m.content + '<|im_end|>' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant: ' }}{% endif %}";
    const tok = fixtureTokenizer('tiny-llama', { chatTemplate: spaced });
    const messages = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'the capital' },
    ];
    expect(tok.renderChat(messages).startsWith(tok.renderChat(messages.slice(0, 1), { addGenerationPrompt: true }))).toBe(true);
    expect(() => tok.tokenizeConversation(messages)).toThrow(/not prefix-stable at message 1 \(assistant turn 1\): the tokens of/);
    expect(() => tok.tokenizePromptCompletion(messages.slice(0, 1), messages.slice(1))).toThrow(ChatTemplateError);
  });

  it('an assistant turn the template drops gives a clear error instead of an empty mask', () => {
    const drops = "{% for m in messages %}{% if m.role != 'assistant' %}{{ m.content }}{% endif %}{% endfor %}";
    const tok = fixtureTokenizer('tiny-llama', { chatTemplate: drops });
    expect(() => tok.tokenizeConversation(TWO_TURNS.slice(0, 2))).toThrow(/renders nothing for message 1/);
    expect(() => tok.tokenizePromptCompletion(TWO_TURNS.slice(0, 1), TWO_TURNS.slice(1, 2))).toThrow(/renders nothing for the completion/);
  });

  it('conversational prompt/completion: the completion is what the full rendering adds', () => {
    const tok = fixtureTokenizer();
    const prompt = TWO_TURNS.slice(0, 3);
    const completion = TWO_TURNS.slice(3);
    const pc = tok.tokenizePromptCompletion(prompt, completion);
    const conv = tok.tokenizeConversation(TWO_TURNS);
    expect(pc.ids).toEqual(conv.ids);
    expect(maskedText(tok, pc.ids, pc.trainMask)).toBe('Merci.<|im_end|>\n');
    // the earlier assistant turn is prompt here: not trained
    expect(Array.from(pc.trainMask.slice(0, conv.spans[1].start)).every((m) => m === 0)).toBe(true);
  });
});

describe('without a chat template', () => {
  const tok = fixtureTokenizer('tiny-llama', {
    config: (c) => {
      const copy = { ...c };
      delete copy['chat_template'];
      return copy;
    },
  });

  it('prompt tokens, then completion tokens + EOS, loss on the completion and EOS', () => {
    expect(tok.hasChatTemplate).toBe(false);
    const { ids, trainMask } = tok.tokenizePromptCompletion('The capital of France is', ' Paris.');
    const p = tok.encode('The capital of France is');
    const c = tok.encode(' Paris.', { addSpecialTokens: false });
    expect(ids).toEqual([...p, ...c, tok.eosTokenId]);
    expect(Array.from(trainMask)).toEqual([...p.map(() => 0), ...c.map(() => 1), 1]);
    expect(maskedText(tok, ids, trainMask)).toBe(' Paris.<|im_end|>');
  });

  it('plain text rows train on every token and end with EOS', () => {
    const { ids, trainMask } = tok.tokenizeText('hello world');
    expect(ids.at(-1)).toBe(tok.eosTokenId);
    expect(Array.from(trainMask).every((m) => m === 1)).toBe(true);
  });

  it('conversations need a template: a typed error, not a guess', () => {
    expect(() => tok.tokenizeConversation(TWO_TURNS)).toThrow(ChatTemplateError);
    expect(() => tok.renderChat(TWO_TURNS)).toThrow(/no chat template/);
    expect(() => tok.tokenizePromptCompletion('a', [{ role: 'assistant', content: 'b' }])).toThrow(/mixes plain text and messages/);
  });

  it('a template can be supplied for a model without one', () => {
    const withTemplate = fixtureTokenizer('tiny-llama', {
      chatTemplate: QWEN25_TEMPLATE,
      config: (c) => ({ ...c, chat_template: undefined }),
    });
    expect(withTemplate.renderChat(TWO_TURNS.slice(0, 1), { addGenerationPrompt: true }).endsWith('<|im_start|>assistant\n')).toBe(true);
  });
});

function spansOf(t: { ids: number[]; spans: { start: number; end: number }[] }): [number[], { start: number; end: number }[]] {
  return [t.ids, t.spans];
}
