// Chat templates: a model's `chat_template` (Jinja, from tokenizer_config.json) rendered with
// @huggingface/jinja, given the same context transformers' apply_chat_template gives it:
// messages, tools (None when absent), add_generation_prompt, the special-token strings
// (bos_token, eos_token, pad_token, unk_token, ...), raise_exception and strftime_now.
//
// Guard: @huggingface/jinja's range() has no cap, so a hostile template could loop for ever.
// We replace range() with one that counts the items it hands out per render and stops at
// MAX_RANGE_ITEMS, cap the template's size, and cap the rendered output. A template can still
// be slow in other ways (deep macro recursion, huge string products): untrusted templates
// should render inside the engine worker, which the caller can terminate on a time limit.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { WhetstoneError } from '../errors.ts';

export class ChatTemplateError extends WhetstoneError {
  constructor(message: string, hint = 'Check the chat template (tokenizer_config.json `chat_template`) or pick another one.') {
    super(message, hint);
  }
}

/** One conversation turn, passed to the template as-is (extra fields like tool_calls included). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
  [field: string]: unknown;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** JSON tool schemas, as transformers' `tools=` argument. */
  tools?: unknown[];
  /** Extra template variables (transformers' **kwargs, e.g. enable_thinking). */
  extra?: Record<string, unknown>;
}

export const MAX_TEMPLATE_CHARS = 256 * 1024;
export const MAX_RANGE_ITEMS = 100_000;
export const MAX_RENDERED_CHARS = 32 * 1024 * 1024;

export class ChatTemplate {
  readonly source: string;
  private readonly template: Template;
  private readonly specialTokens: Record<string, unknown>;

  /**
   * @param source the Jinja template text
   * @param specialTokens strings the template may use: bos_token, eos_token, pad_token, unk_token,
   *   additional_special_tokens (transformers passes tokenizer.special_tokens_map)
   */
  constructor(source: string, specialTokens: Record<string, unknown> = {}) {
    if (source.length > MAX_TEMPLATE_CHARS) {
      throw new ChatTemplateError(
        `The chat template is ${source.length} characters long; Whetstone accepts at most ${MAX_TEMPLATE_CHARS}.`,
      );
    }
    this.source = source;
    this.specialTokens = specialTokens;
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`The chat template does not parse: ${errorMessage(e)}`);
    }
  }

  render(messages: ChatMessage[], options: RenderOptions = {}): string {
    let rangeItems = 0;
    const range = (start: number, stop?: number, step = 1): number[] => {
      if (stop === undefined) [start, stop] = [0, start];
      if (step === 0) throw new ChatTemplateError('range() step must not be zero');
      const n = Math.max(0, Math.ceil((stop - start) / step));
      rangeItems += n;
      if (rangeItems > MAX_RANGE_ITEMS) {
        throw new ChatTemplateError(
          `The chat template asked range() for more than ${MAX_RANGE_ITEMS} items in one rendering; refusing to run it.`,
        );
      }
      return Array.from({ length: n }, (_, i) => start + i * step);
    };
    const raiseException = (message: unknown): never => {
      throw new ChatTemplateError(`The chat template raised an error: ${String(message)}`);
    };
    // Template.render() declares its own range/raise_exception and refuses redeclaration, so
    // build the environment here: jinja's constants, our guarded globals, then the context.
    const context: Record<string, unknown> = {
      true: true, false: false, none: null, True: true, False: false, None: null,
      raise_exception: raiseException,
      range,
      strftime_now: strftimeNow,
      ...this.specialTokens,
      ...(options.extra ?? {}),
      messages,
      tools: options.tools ?? null,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    };
    let out: string;
    try {
      const env = new Environment();
      for (const [name, value] of Object.entries(context)) env.set(name, value);
      const result = new Interpreter(env).run(this.template.parsed);
      out = String(result.value);
    } catch (e) {
      if (e instanceof ChatTemplateError) throw e;
      throw new ChatTemplateError(`The chat template failed to render: ${errorMessage(e)}`);
    }
    if (out.length > MAX_RENDERED_CHARS) {
      throw new ChatTemplateError(`The chat template rendered ${out.length} characters; refusing output over ${MAX_RENDERED_CHARS}.`);
    }
    return out;
  }
}

/**
 * tokenizer_config.json's `chat_template` is a string, or (newer files) a list of
 * {name, template}; transformers then uses the one named "default". Returns null when absent.
 */
export function pickChatTemplate(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.filter(
      (t): t is { name: string; template: string } =>
        typeof t === 'object' && t !== null && typeof t.name === 'string' && typeof t.template === 'string',
    );
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Python's datetime.now().strftime for the codes chat templates use (Llama 3.x: "%d %b %Y"). */
export function strftimeNow(format: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const codes: Record<string, string> = {
    Y: String(now.getFullYear()), m: pad(now.getMonth() + 1), d: pad(now.getDate()),
    b: MONTHS[now.getMonth()].slice(0, 3), B: MONTHS[now.getMonth()], H: pad(now.getHours()),
    M: pad(now.getMinutes()), S: pad(now.getSeconds()), '%': '%',
  };
  return String(format).replace(/%([YmdbBHMS%])/g, (_, c: string) => codes[c]);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
