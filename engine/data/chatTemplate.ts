// Chat templates: a model's `chat_template` (Jinja, from tokenizer_config.json) rendered with
// @huggingface/jinja, given the same context transformers' apply_chat_template gives it:
// messages, tools (None when absent), add_generation_prompt, the special-token strings
// (bos_token, eos_token, pad_token, unk_token, ...), raise_exception and strftime_now.
//
// Guard: a model's template comes from the hub and is untrusted, and @huggingface/jinja is
// synchronous with no limits of its own, so one rendering could hang the process (a macro that
// calls itself twice per level, 40 levels deep) or exhaust memory (a string or list doubled in a
// loop). Every rendering therefore runs under a budget that holds the same in Node and in a
// Worker (it counts work, not time): at most MAX_RENDER_STEPS interpreter steps (one per
// evaluated node: ~27 per message for Qwen2.5's template with tools, so 250k steps is ~8,000
// messages in one conversation and 0.1-0.2 s of CPU), at most MAX_RENDER_DEPTH nested evaluations (macro recursion), no string
// value over MAX_RENDERED_CHARS and no list over MAX_LIST_ITEMS, and range() hands out at most
// MAX_RANGE_ITEMS items. The template's own size is capped too. Going over any of them is a
// ChatTemplateBudgetError naming the template and the limit.
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { WhetstoneError } from '../errors.ts';

export class ChatTemplateError extends WhetstoneError {
  constructor(message: string, hint = 'Check the chat template (tokenizer_config.json `chat_template`) or pick another one.') {
    super(message, hint);
  }
}

/** The template went over a rendering budget: a fault of the template, never of one dataset row. */
export class ChatTemplateBudgetError extends ChatTemplateError {
  constructor(template: string, what: string) {
    super(
      `${template} ${what}; refusing to run it (a runaway or hostile template: deep or exponential macro recursion, an endless loop, or a value doubled in a loop).`,
      'Replace the chat_template in tokenizer_config.json with the one published with the model (or a known-good one such as ChatML).',
    );
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
export const MAX_RENDER_STEPS = 250_000;
export const MAX_RENDER_DEPTH = 400;
export const MAX_LIST_ITEMS = 1_000_000;

/** The name templates get in messages unless the caller gives a better one. */
export const DEFAULT_TEMPLATE_NAME = 'The chat template (tokenizer_config.json "chat_template")';

/**
 * The jinja interpreter with a budget: every node evaluation goes through evaluate(), macro
 * calls included (their closures call this.evaluate), so counting there bounds the whole
 * rendering. The checks are a few integer compares per node.
 */
class BudgetedInterpreter extends Interpreter {
  private steps = 0;
  private depth = 0;
  constructor(
    env: Environment,
    private readonly templateName: string,
  ) {
    super(env);
  }

  override evaluate(statement: Parameters<Interpreter['evaluate']>[0], environment: Environment): ReturnType<Interpreter['evaluate']> {
    if (++this.steps > MAX_RENDER_STEPS) {
      throw new ChatTemplateBudgetError(this.templateName, `took more than ${MAX_RENDER_STEPS.toLocaleString('en-US')} steps to render one conversation`);
    }
    if (++this.depth > MAX_RENDER_DEPTH) {
      this.depth = 0; // let the error unwind without tripping the check again
      throw new ChatTemplateBudgetError(this.templateName, `nests deeper than ${MAX_RENDER_DEPTH} levels while rendering (deep macro recursion)`);
    }
    try {
      const value = super.evaluate(statement, environment);
      const v: unknown = value.value;
      if (typeof v === 'string' && v.length > MAX_RENDERED_CHARS) {
        throw new ChatTemplateBudgetError(this.templateName, `built a string of ${v.length} characters (at most ${MAX_RENDERED_CHARS})`);
      }
      if (Array.isArray(v) && v.length > MAX_LIST_ITEMS) {
        throw new ChatTemplateBudgetError(this.templateName, `built a list of ${v.length} items (at most ${MAX_LIST_ITEMS})`);
      }
      return value;
    } finally {
      this.depth--;
    }
  }
}

export class ChatTemplate {
  readonly source: string;
  /** For messages, e.g. 'The chat template of HuggingFaceTB/SmolLM2-135M-Instruct'. */
  readonly name: string;
  private readonly template: Template;
  private readonly specialTokens: Record<string, unknown>;

  /**
   * @param source the Jinja template text
   * @param specialTokens strings the template may use: bos_token, eos_token, pad_token, unk_token,
   *   additional_special_tokens (transformers passes tokenizer.special_tokens_map)
   * @param name how errors name the template (default: tokenizer_config.json's chat_template)
   */
  constructor(source: string, specialTokens: Record<string, unknown> = {}, name = DEFAULT_TEMPLATE_NAME) {
    this.name = name;
    if (source.length > MAX_TEMPLATE_CHARS) {
      throw new ChatTemplateError(`${name} is ${source.length} characters long; Whetstone accepts at most ${MAX_TEMPLATE_CHARS}.`);
    }
    this.source = source;
    this.specialTokens = specialTokens;
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`${name} does not parse: ${errorMessage(e)}`);
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
        throw new ChatTemplateBudgetError(this.name, `asked range() for more than ${MAX_RANGE_ITEMS} items in one rendering`);
      }
      return Array.from({ length: n }, (_, i) => start + i * step);
    };
    const raiseException = (message: unknown): never => {
      throw new ChatTemplateError(`${this.name} raised an error: ${String(message)}`);
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
      const result = new BudgetedInterpreter(env, this.name).run(this.template.parsed);
      out = String(result.value);
    } catch (e) {
      if (e instanceof ChatTemplateError) throw e;
      // A JS stack overflow or string-length RangeError is the template's doing too.
      if (e instanceof RangeError) throw new ChatTemplateBudgetError(this.name, `ran out of room while rendering (${errorMessage(e)})`);
      throw new ChatTemplateError(`${this.name} failed to render: ${errorMessage(e)}`);
    }
    if (out.length > MAX_RENDERED_CHARS) {
      throw new ChatTemplateBudgetError(this.name, `rendered ${out.length} characters (at most ${MAX_RENDERED_CHARS})`);
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
