// ChatTokenizer: a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json, through
// @huggingface/tokenizers) plus its chat template, and the loss masks SFT trains on.
//
// Assistant spans follow TRL's prompt/completion split, computed BY TOKENS: the span of the
// assistant message i is what rendering messages[:i+1] adds to rendering messages[:i] with
// add_generation_prompt=True. Each prefix rendering is tokenized on its own and must be a token
// prefix of the longer one (and of the whole conversation); a template for which that fails is
// not prefix-stable and gets a ChatTemplateError naming the turn. (@huggingface/jinja strips
// `{% generation %}` tags, so masks cannot come from the template itself.)
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../io/errors.ts';
import { ChatTemplate, ChatTemplateError, DEFAULT_TEMPLATE_NAME, pickChatTemplate, type ChatMessage, type RenderOptions } from './chatTemplate.ts';

export interface TokenSpan {
  /** First token of the span (inclusive). */
  start: number;
  /** One past the last token. */
  end: number;
}

export interface TokenizedConversation {
  ids: number[]; // (T)
  /** (T) 1 = the token is counted in the loss (label of the logits at position t-1). */
  trainMask: Uint8Array;
  /** One span per assistant message, in order. */
  spans: TokenSpan[];
}

export interface TokenizedExample {
  ids: number[]; // (T)
  trainMask: Uint8Array; // (T)
}

export interface ChatTokenizerOptions {
  /** generation_config.json; its eos_token_id (number or list) adds stop tokens. */
  generationConfig?: Record<string, unknown>;
  /** A Jinja chat template to use instead of (or in the absence of) tokenizer_config's. */
  chatTemplate?: string;
  /** How errors name the template, e.g. 'The chat template of HuggingFaceTB/SmolLM2-135M-Instruct'. */
  templateName?: string;
}

type Json = Record<string, unknown>;
const PREFIX_NAME = 'messages[:i] with add_generation_prompt=True';

export class ChatTokenizer {
  readonly bosTokenId: number | null;
  /** tokenizer_config's eos_token, else generation_config's first eos_token_id. */
  readonly eosTokenId: number | null;
  /** Every token that ends generation: eos_token plus generation_config's eos_token_id(s). */
  readonly stopTokenIds: number[];
  readonly padTokenId: number | null;
  readonly vocabSize: number;
  /** The largest token id the tokenizer can produce (added tokens included). */
  readonly maxTokenId: number;
  readonly chatTemplate: ChatTemplate | null;
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: Json, tokenizerConfig: Json, options: ChatTokenizerOptions = {}) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
      const vocab = this.tokenizer.get_vocab(true);
      this.vocabSize = vocab.size;
      let maxId = -1;
      for (const id of vocab.values()) if (id > maxId) maxId = id;
      this.maxTokenId = maxId;
      this.tokenizer.encode('a', { add_special_tokens: false }); // a broken model section fails here, not mid-dataset
    } catch (e) {
      throw new ModelFormatError(
        'tokenizer.json',
        `cannot be loaded as a tokenizer: ${(e as Error).message}`,
        'tokenizer.json is damaged or not a Hugging Face fast-tokenizer file (it needs "model", "decoder", ...); download it again.',
      );
    }
    const strings: Record<string, unknown> = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
      const s = tokenString(tokenizerConfig[key]);
      if (s !== null) strings[key] = s;
    }
    const extra = tokenizerConfig['additional_special_tokens'];
    if (Array.isArray(extra)) strings['additional_special_tokens'] = extra.map(tokenString).filter((s) => s !== null);

    this.bosTokenId = this.idOf(strings['bos_token']);
    this.padTokenId = this.idOf(strings['pad_token']);
    const genEos = options.generationConfig?.['eos_token_id'];
    const genIds = (Array.isArray(genEos) ? genEos : [genEos]).filter((x): x is number => Number.isInteger(x));
    this.eosTokenId = this.idOf(strings['eos_token']) ?? genIds[0] ?? null;
    this.stopTokenIds = [...new Set([...(this.eosTokenId === null ? [] : [this.eosTokenId]), ...genIds])];

    const source = options.chatTemplate ?? pickChatTemplate(tokenizerConfig['chat_template']);
    this.chatTemplate = source === null ? null : new ChatTemplate(source, strings, options.templateName ?? DEFAULT_TEMPLATE_NAME);
  }

  /**
   * Refuses a tokenizer that can produce ids the model has no embedding row for (a tokenizer of
   * another model): training would read past the embedding and every loss would be NaN.
   */
  checkFitsModel(vocabSize: number): void {
    if (this.maxTokenId < vocabSize) return;
    const over = [...this.tokenizer.get_vocab(true)].filter(([, id]) => id >= vocabSize).sort((a, b) => b[1] - a[1]);
    const [token, id] = over[0];
    throw new ModelFormatError(
      'tokenizer.json',
      `has ${over.length} token id${over.length === 1 ? '' : 's'} the model cannot embed: ids up to ${id} (${JSON.stringify(token)}), but config.json vocab_size is ${vocabSize}`,
      'The tokenizer files are from another model: use the tokenizer.json and tokenizer_config.json published with these weights.',
    );
  }

  /** The id padded positions get: pad_token, else eos_token (as TRL sets it), else 0. Never a label. */
  get padId(): number {
    return this.padTokenId ?? this.eosTokenId ?? 0;
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /** addSpecialTokens (default true, like transformers) applies the post-processor (e.g. BOS). */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Token ids -> text. With skipSpecialTokens (the text shown to people: generate, the
   * playground), control characters that are not text (NUL, ESC, ... C0/C1 except tab and
   * newlines) become U+FFFD, so model output never writes NUL bytes or terminal escapes.
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const text = this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
    return options.skipSpecialTokens ? printableText(text) : text;
  }

  tokenToId(token: string): number | null {
    return this.tokenizer.token_to_id(token) ?? null;
  }

  renderChat(messages: ChatMessage[], options: RenderOptions = {}): string {
    return this.requireTemplate().render(messages, options);
  }

  /**
   * A whole conversation, every assistant message trained. ids is the tokenized rendering of all
   * messages (no add_generation_prompt, no added special tokens: the template writes its own).
   */
  tokenizeConversation(messages: ChatMessage[], options: Omit<RenderOptions, 'addGenerationPrompt'> = {}): TokenizedConversation {
    const template = this.requireTemplate();
    const fullText = template.render(messages, options);
    const ids = this.encode(fullText, { addSpecialTokens: false });
    const trainMask = new Uint8Array(ids.length);
    const spans: TokenSpan[] = [];
    let turn = 0;
    for (let i = 0; i < messages.length; i++) {
      if (messages[i].role !== 'assistant') continue;
      turn++;
      const where = `message ${i} (assistant turn ${turn})`;
      const before = template.render(messages.slice(0, i), { ...options, addGenerationPrompt: true });
      const last = i === messages.length - 1;
      const upTo = last ? fullText : template.render(messages.slice(0, i + 1), options);
      const upToIds = last ? ids : this.encode(upTo, { addSpecialTokens: false });
      const span = { start: this.tokenPrefix(before, null, upTo, upToIds, where, PREFIX_NAME, 'messages[:i+1]'), end: upToIds.length };
      if (!last) this.tokenPrefix(upTo, upToIds, fullText, ids, where, 'messages[:i+1]', 'all messages');
      if (span.end === span.start) throw emptySpan(where);
      trainMask.fill(1, span.start, span.end);
      spans.push(span);
    }
    return { ids, trainMask, spans };
  }

  /**
   * A prompt and its completion (TRL's prompt/completion rows). Conversational: the completion
   * is what rendering prompt+completion adds after the prompt rendered with
   * add_generation_prompt=True. Plain text: prompt tokens (with the tokenizer's special tokens,
   * e.g. BOS), then completion tokens, then EOS; only the completion and EOS are trained.
   */
  tokenizePromptCompletion(prompt: ChatMessage[] | string, completion: ChatMessage[] | string, options: Omit<RenderOptions, 'addGenerationPrompt'> = {}): TokenizedExample {
    if (typeof prompt === 'string' || typeof completion === 'string') {
      if (typeof prompt !== 'string' || typeof completion !== 'string') {
        throw new ChatTemplateError('A prompt/completion row mixes plain text and messages.', 'Make both fields text, or both lists of messages.');
      }
      return this.tokenizeText(prompt, completion);
    }
    const template = this.requireTemplate();
    const before = template.render(prompt, { ...options, addGenerationPrompt: true });
    const full = template.render([...prompt, ...completion], options);
    const ids = this.encode(full, { addSpecialTokens: false });
    const span = { start: this.tokenPrefix(before, null, full, ids, 'the completion', 'the prompt rendered with add_generation_prompt=True', 'prompt + completion'), end: ids.length };
    if (span.end === span.start) throw emptySpan('the completion');
    const trainMask = new Uint8Array(ids.length);
    trainMask.fill(1, span.start, span.end);
    return { ids, trainMask };
  }

  /**
   * Plain text without a chat template. With a completion: prompt tokens (special tokens added)
   * + completion tokens + EOS, loss on completion and EOS. Without: text tokens + EOS, all
   * trained (TRL's language-modeling rows).
   */
  tokenizeText(prompt: string, completion?: string): TokenizedExample {
    const eos = this.eosTokenId;
    if (eos === null) {
      throw new ChatTemplateError('This tokenizer has no EOS token, so a completion cannot be terminated.', 'Set eos_token in tokenizer_config.json.');
    }
    const promptIds = this.encode(prompt, { addSpecialTokens: true });
    if (completion === undefined) {
      const ids = promptIds.at(-1) === eos ? promptIds : [...promptIds, eos];
      return { ids, trainMask: new Uint8Array(ids.length).fill(1) };
    }
    const completionIds = this.encode(completion, { addSpecialTokens: false });
    if (completionIds.at(-1) !== eos) completionIds.push(eos);
    const ids = [...promptIds, ...completionIds];
    const trainMask = new Uint8Array(ids.length);
    trainMask.fill(1, promptIds.length);
    return { ids, trainMask };
  }

  /**
   * Checks that `shorter` is a text prefix of `longer` and that its tokens are a prefix of
   * longIds (the tokens of `longer`); returns the number of tokens of `shorter`.
   */
  private tokenPrefix(shorter: string, shortIds: number[] | null, longer: string, longIds: number[], where: string, shortName: string, longName: string): number {
    if (!longer.startsWith(shorter)) {
      let k = 0;
      while (k < shorter.length && shorter[k] === longer[k]) k++;
      const show = (s: string) => JSON.stringify(s.slice(k, k + 40));
      throw notPrefixStable(where, `the rendering of ${shortName} is not a prefix of the rendering of ${longName} (from character ${k}: ${show(shorter)} vs ${show(longer)})`);
    }
    const ids = shortIds ?? this.encode(shorter, { addSpecialTokens: false });
    const k = ids.findIndex((id, j) => id !== longIds[j]);
    if (k >= 0) {
      throw notPrefixStable(where, `the tokens of ${shortName} are not a prefix of the tokens of ${longName} (token ${k} differs: a token merges across the boundary)`);
    }
    return ids.length;
  }

  private requireTemplate(): ChatTemplate {
    if (this.chatTemplate === null) {
      throw new ChatTemplateError(
        'This tokenizer has no chat template, so conversations (lists of messages) cannot be rendered.',
        'Use prompt/completion or text rows, or pick a chat template (e.g. ChatML) for the model.',
      );
    }
    return this.chatTemplate;
  }

  private idOf(token: unknown): number | null {
    return typeof token === 'string' ? (this.tokenizer.token_to_id(token) ?? null) : null;
  }
}

/** Control characters other than tab, newline and carriage return -> U+FFFD (same length). */
export function printableText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, '\ufffd');
}

function emptySpan(where: string): ChatTemplateError {
  return new ChatTemplateError(
    `The chat template renders nothing for ${where}: its loss mask would be empty.`,
    'Check that the template writes assistant messages (some templates drop them, e.g. reasoning turns).',
  );
}

function notPrefixStable(where: string, detail: string): ChatTemplateError {
  return new ChatTemplateError(
    `The chat template is not prefix-stable at ${where}: ${detail}. Loss masks are computed by rendering prefixes of the conversation, which needs earlier turns to render the same whatever follows.`,
    'Use a prefix-stable template (e.g. ChatML), or split the conversation into prompt/completion rows whose completion is the last assistant message.',
  );
}

/** A special token in tokenizer_config is a string or an AddedToken dict {content, ...}. */
function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}
