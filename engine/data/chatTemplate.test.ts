import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateError, MAX_RANGE_ITEMS, MAX_TEMPLATE_CHARS, pickChatTemplate, strftimeNow } from './chatTemplate.ts';

const USER = [{ role: 'user', content: 'hi' }];

describe('ChatTemplate rendering context (as transformers gives it)', () => {
  it('exposes bos_token / eos_token, messages, add_generation_prompt and tools (None when absent)', () => {
    const t = new ChatTemplate(
      "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}" +
        "{% if tools is none %}[no tools]{% else %}{{ tools | length }} tools{% endif %}{% if add_generation_prompt %}>{% endif %}",
      { bos_token: '<s>', eos_token: '</s>' },
    );
    expect(t.render(USER)).toBe('<s>user:hi</s>[no tools]');
    expect(t.render(USER, { addGenerationPrompt: true, tools: [{ name: 'f' }] })).toBe('<s>user:hi</s>1 tools>');
  });

  it('passes extra template variables (e.g. enable_thinking)', () => {
    const t = new ChatTemplate('{% if enable_thinking is defined and not enable_thinking %}no-think{% endif %}');
    expect(t.render(USER, { extra: { enable_thinking: false } })).toBe('no-think');
    expect(t.render(USER)).toBe('');
  });

  it('raise_exception becomes a typed ChatTemplateError with the template message', () => {
    const t = new ChatTemplate("{% if messages[0].role != 'system' %}{{ raise_exception('System role required') }}{% endif %}");
    expect(() => t.render(USER)).toThrow(ChatTemplateError);
    expect(() => t.render(USER)).toThrow(/System role required/);
  });

  it('range() works like Python and is capped: a runaway loop fails fast instead of hanging', () => {
    expect(new ChatTemplate('{% for i in range(3) %}{{ i }}{% endfor %}|{{ range(2, 9, 3) | join(",") }}|{{ range(3, 0, -1) | join(",") }}').render([])).toBe(
      '012|2,5,8|3,2,1',
    );
    const runaway = new ChatTemplate('{% for i in range(1000000000) %}x{% endfor %}');
    expect(() => runaway.render([])).toThrow(new RegExp(`more than ${MAX_RANGE_ITEMS} items`));
    // The cap is per rendering, across nested loops.
    const nested = new ChatTemplate('{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}');
    expect(() => nested.render([])).toThrow(ChatTemplateError);
  });

  it('refuses oversized and unparsable templates with a typed error', () => {
    expect(() => new ChatTemplate('x'.repeat(MAX_TEMPLATE_CHARS + 1))).toThrow(ChatTemplateError);
    expect(() => new ChatTemplate('{% for m in messages %}')).toThrow(/does not parse/);
  });

  it('wraps runtime failures', () => {
    expect(() => new ChatTemplate('{{ messages[0].content.nope() }}').render(USER)).toThrow(ChatTemplateError);
  });

  it('strftime_now formats dates like Python', () => {
    expect(strftimeNow('%d %b %Y', new Date(2024, 6, 4))).toBe('04 Jul 2024');
    expect(new ChatTemplate('{{ strftime_now("%Y") }}').render([])).toMatch(/^\d{4}$/);
  });

  it('pickChatTemplate reads a string or the "default" of a named list', () => {
    expect(pickChatTemplate('abc')).toBe('abc');
    expect(pickChatTemplate([{ name: 'tool_use', template: 't' }, { name: 'default', template: 'd' }])).toBe('d');
    expect(pickChatTemplate(undefined)).toBeNull();
  });
});
