import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ChatTemplate, ChatTemplateBudgetError, ChatTemplateError, MAX_RANGE_ITEMS, MAX_TEMPLATE_CHARS, pickChatTemplate, strftimeNow } from './chatTemplate.ts';

// Two recursive calls per level, 40 levels: 2^41 macro calls, which hung every command before
// rendering had a budget.
const EXPONENTIAL = '{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}';

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

describe('ChatTemplate rendering budget (untrusted templates)', () => {
  it('stops exponential macro recursion with an error naming the template', () => {
    const t = new ChatTemplate(EXPONENTIAL, {}, 'The chat template of evil/model');
    // The budget counts interpreter steps, not time (it holds the same in any thread): the error
    // says the rendering stopped at the step cap, so it cannot hang (~0.15 s of CPU here).
    expect(() => t.render(USER)).toThrow(ChatTemplateBudgetError);
    expect(() => t.render(USER)).toThrow(/^The chat template of evil\/model took more than 250,000 steps/);
  });

  it('stops deep recursion, doubling strings and doubling lists', () => {
    const deep = new ChatTemplate('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}');
    expect(() => deep.render(USER)).toThrow(/nests deeper than 400 levels/);
    const str = new ChatTemplate("{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}");
    expect(() => str.render(USER)).toThrow(/built a string of \d+ characters/);
    const list = new ChatTemplate('{% set ns = namespace(l=[1, 2, 3, 4]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}');
    expect(() => list.render(USER)).toThrow(/built a list of \d+ items/);
  });

  it('still renders a real template (Qwen2.5, tools, 200 messages) in full', () => {
    const qwen = new ChatTemplate(readFileSync(new URL('./fixtures/qwen2_5_chat_template.jinja', import.meta.url), 'utf8'));
    const messages = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }));
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
    const out = qwen.render(messages, { addGenerationPrompt: true, tools });
    expect(out).toContain('get_weather');
    expect(out).toContain('<|im_start|>assistant\nmessage 199<|im_end|>');
    expect(out.endsWith('<|im_start|>assistant\n')).toBe(true);
  });

  it('holds inside a worker thread (the studio renders in the engine worker)', async () => {
    const url = new URL('./chatTemplate.ts', import.meta.url).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import('tsx/esm/api').then(({ register }) => { register(); return import(workerData.url); }).then(({ ChatTemplate }) => {
        try { new ChatTemplate(workerData.src).render([{ role: 'user', content: 'hi' }]); parentPort.postMessage('rendered'); }
        catch (e) { parentPort.postMessage(e.name + ': ' + e.message); }
      });`;
    const worker = new Worker(code, { eval: true, workerData: { url, src: EXPONENTIAL } });
    const answer = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(answer).toMatch(/^ChatTemplateBudgetError: .* took more than 250,000 steps/);
  });
});
