import { describe, expect, it } from 'vitest';
import { renameHint } from './formatHints.ts';
import { detectFormat, unsupportedFormat, type FormatId } from './formats.ts';
import { hhToMessages, splitHh, toPreferenceRecord, toSftRecord } from './records.ts';
import { RowProblem } from './validate.ts';

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

function problem(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof RowProblem) return `${e.field}: ${e.message}`;
    throw e;
  }
  throw new Error('expected a RowProblem');
}

describe('detectFormat', () => {
  const cases: [Record<string, unknown>, FormatId, string][] = [
    [{ messages: [] }, 'messages', 'OpenAI messages'],
    [{ conversations: [] }, 'sharegpt', 'ShareGPT'],
    [{ instruction: 'x', input: '', output: 'y' }, 'alpaca', 'Alpaca'],
    [{ prompt: 'x', completion: 'y' }, 'prompt_completion', 'prompt/completion'],
    [{ text: 'x' }, 'text', 'text'],
    [{ prompt: 'x', chosen: 'y', rejected: 'z' }, 'preference', 'preference pairs (prompt/chosen/rejected)'],
    [{ chosen: 'y', rejected: 'z' }, 'hh', 'Anthropic HH (implicit prompt)'],
    [{ prompt: 'x', chosen: [u('x'), a('y')], rejected: [u('x'), a('z')], score_chosen: 8, score_rejected: 2 }, 'ultrafeedback', 'UltraFeedback binarized'],
    [{ conversations: [{ from: 'human', value: 'q' }], chosen: { from: 'gpt', value: 'y' }, rejected: { from: 'gpt', value: 'n' } }, 'sharegpt_preference', 'LLaMA-Factory preference (conversation + chosen/rejected messages)'],
    [{ instruction: 'x', input: '', chosen: 'y', rejected: 'z' }, 'alpaca_preference', 'Alpaca preference (instruction/chosen/rejected)'],
    [{ chosen_messages: [u('x'), a('y')], rejected_messages: [u('x'), a('z')] }, 'preference_messages', 'preference pairs (chosen_messages/rejected_messages)'],
    [{ instruction: 'x', response: 'y' }, 'alpaca', 'Alpaca'],
  ];
  for (const [row, id, name] of cases) {
    it(`${name}`, () => {
      const f = detectFormat([row]);
      expect(f?.id).toBe(id);
      expect(f?.name).toBe(name);
    });
  }
  it('reads columns from several rows and follows the method', () => {
    expect(detectFormat([{ instruction: 'a', output: 'b' }, { instruction: 'a', input: 'c', output: 'b' }])?.columns).toEqual(['instruction', 'output', 'input']);
    expect(detectFormat([{ text: 'x', chosen: 'a', rejected: 'b' }], 'sft')?.id).toBe('text');
    expect(detectFormat([{ text: 'x', chosen: 'a', rejected: 'b' }])?.id).toBe('hh');
    expect(detectFormat([{ foo: 1 }])).toBeNull();
  });

  it('a prompt under another name is not taken for an implicit prompt: the hint says what to rename', () => {
    const orca = { system: '', question: 'q', chosen: 'y', rejected: 'n' };
    expect(detectFormat([orca])).toBeNull();
    expect(renameHint(Object.keys(orca))).toBe('The columns look like preference pairs (prompt/chosen/rejected): rename question -> prompt.');
    expect(renameHint(['id', 'system_prompt', 'question', 'response'])).toBe('The columns look like Alpaca (instruction/input/output): rename question -> instruction, system_prompt -> system.');
    expect(renameHint(['input', 'target'])).toBe('The columns look like prompt/completion: rename input -> prompt, target -> completion.');
    expect(renameHint(['conversation', 'model'])).toBe('The columns look like ShareGPT (conversations): rename conversation -> conversations.');
    expect(renameHint(['foo', 'bar'])).toBeNull();
  });

  it('refuses unpaired (KTO) rows instead of training SFT on the bad completions', () => {
    expect(unsupportedFormat([{ prompt: 'p', completion: 'c', label: false }])?.problem).toMatch(/unpaired preference data \(KTO: a completion and a true\/false "label"\)/);
    expect(unsupportedFormat([{ prompt: 'p', completion: 'c', label: 'positive' }])).toBeNull();
  });
});

describe('SFT conversion', () => {
  it('OpenAI messages keep tool roles and extra fields; text content parts are joined', () => {
    const rec = toSftRecord('messages', {
      messages: [u('hi'), { role: 'assistant', content: null, tool_calls: [{ id: '1' }] }, { role: 'tool', content: '42' }, { role: 'assistant', content: [{ type: 'text', text: 'It is ' }, { type: 'text', text: '42' }] }],
    });
    expect(rec).toEqual({ kind: 'conversation', messages: [u('hi'), { role: 'assistant', content: '', tool_calls: [{ id: '1' }] }, { role: 'tool', content: '42' }, a('It is 42')] });
  });

  it('ShareGPT function_call / observation turns become tool_calls / tool messages; the tools column (JSON text) is wrapped the OpenAI way', () => {
    const tool = { name: 'f', parameters: { type: 'object', properties: {} } };
    const rec = toSftRecord('sharegpt', {
      conversations: [{ from: 'human', value: 'q' }, { from: 'function_call', value: '{"name": "f", "arguments": {"x": 1}}' }, { from: 'observation', value: '42' }, { from: 'gpt', value: 'r' }],
      tools: JSON.stringify([tool]),
      system: 'Be brief.',
    });
    expect(rec).toEqual({
      kind: 'conversation',
      messages: [{ role: 'system', content: 'Be brief.' }, u('q'), { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'f', arguments: { x: 1 } } }] }, { role: 'tool', content: '42' }, a('r')],
      tools: [{ type: 'function', function: tool }],
    });
    expect(problem(() => toSftRecord('sharegpt', { conversations: [u('q'), { from: 'function_call', value: 'f(x=1)' }] }))).toMatch(/^conversations\[1\]\.value: a function_call turn must hold the call as JSON/);
    expect(problem(() => toSftRecord('sharegpt', { conversations: [u('q'), a('r')], tools: 'not json' }))).toMatch(/^tools: must be a list of tool schemas \(as JSON\)/);
    // role/content messages in a conversations column (LLaMA-Factory's OpenAI spelling) work too.
    expect(toSftRecord('sharegpt', { conversations: [u('q'), a('r')] })).toEqual({ kind: 'conversation', messages: [u('q'), a('r')] });
  });

  it('content parts may hold their text in `value`; non-text parts are refused', () => {
    const rec = toSftRecord('messages', { messages: [{ role: 'user', content: [{ type: 'text', value: 'a' }, { type: 'text', text: 'b' }] }, a('c')] });
    expect(rec).toEqual({ kind: 'conversation', messages: [u('ab'), a('c')] });
    expect(problem(() => toSftRecord('messages', { messages: [{ role: 'user', content: [{ type: 'image', url: 'x' }] }, a('c')] }))).toBe(
      'messages[0].content[0]: only text content parts ({"type": "text", "text": ...}) are supported, got a part of type "image": Whetstone trains text-only models',
    );
  });

  it('Alpaca reads response as output, a system column, and history turns (their answers trained too)', () => {
    expect(toSftRecord('alpaca', { instruction: 'x', response: 'y' })).toEqual({ kind: 'prompt_completion', prompt: [u('x')], completion: [a('y')] });
    expect(toSftRecord('alpaca', { instruction: 'x', output: 'y', system: 'S', history: [['h1', 'r1']] })).toEqual({
      kind: 'conversation',
      messages: [{ role: 'system', content: 'S' }, u('h1'), a('r1'), u('x'), a('y')],
    });
    expect(problem(() => toSftRecord('alpaca', { instruction: 'x', output: 'y', history: [['only one']] }))).toBe('history[0]: must be a pair of non-empty texts [instruction, response]');
  });

  it('ShareGPT maps human/gpt/system', () => {
    const rec = toSftRecord('sharegpt', { conversations: [{ from: 'system', value: 's' }, { from: 'human', value: 'q' }, { from: 'gpt', value: 'r' }] });
    expect(rec).toEqual({ kind: 'conversation', messages: [{ role: 'system', content: 's' }, u('q'), a('r')] });
    expect(problem(() => toSftRecord('sharegpt', { conversations: [{ from: 'robot', value: 'q' }] }))).toMatch(/^conversations\[0\]\.from: unknown role "robot"/);
  });

  it('Alpaca joins instruction and a non-empty input with a blank line', () => {
    expect(toSftRecord('alpaca', { instruction: 'Translate', input: 'chat', output: 'cat' })).toEqual({ kind: 'prompt_completion', prompt: [u('Translate\n\nchat')], completion: [a('cat')] });
    expect(toSftRecord('alpaca', { instruction: 'Say hi', input: '', output: 'hi' })).toEqual({ kind: 'prompt_completion', prompt: [u('Say hi')], completion: [a('hi')] });
    expect(problem(() => toSftRecord('alpaca', { instruction: 'x', output: '' }))).toBe('output: is empty');
    expect(problem(() => toSftRecord('alpaca', { instruction: 'x', input: 3, output: 'y' }))).toBe('input: must be text, got a number');
  });

  it('prompt/completion as text or messages; text', () => {
    expect(toSftRecord('prompt_completion', { prompt: 'a', completion: 'b' })).toEqual({ kind: 'prompt_completion', prompt: 'a', completion: 'b' });
    expect(toSftRecord('prompt_completion', { prompt: [u('a')], completion: [a('b')] })).toEqual({ kind: 'prompt_completion', prompt: [u('a')], completion: [a('b')] });
    expect(toSftRecord('text', { text: 'hello' })).toEqual({ kind: 'text', text: 'hello' });
  });

  it('names the field of each problem', () => {
    expect(problem(() => toSftRecord('messages', {}))).toBe('messages: missing');
    expect(problem(() => toSftRecord('messages', { messages: 'hi' }))).toBe('messages: must be a list of messages, got text');
    expect(problem(() => toSftRecord('messages', { messages: [] }))).toBe('messages: is empty');
    expect(problem(() => toSftRecord('messages', { messages: [u('a'), { role: 'bot', content: 'b' }] }))).toMatch(/^messages\[1\]\.role: unknown role "bot" \(expected system, user, assistant, tool\)/);
    expect(problem(() => toSftRecord('messages', { messages: [u('a'), { role: 'assistant' }] }))).toBe('messages[1].content: missing');
    expect(problem(() => toSftRecord('messages', { messages: [u('a'), { role: 'assistant', content: 5 }] }))).toBe('messages[1].content: must be text, got a number');
    expect(problem(() => toSftRecord('messages', { messages: [u('a')] }))).toBe('messages: has no assistant message, so nothing would be trained');
    expect(problem(() => toSftRecord('text', { text: ' ' }))).toBe('text: is empty');
    expect(problem(() => toSftRecord('prompt_completion', { prompt: 1, completion: 'b' }))).toBe('prompt: must be text or a list of messages, got a number');
  });
});

describe('preference conversion', () => {
  it('standard and conversational prompt/chosen/rejected', () => {
    expect(toPreferenceRecord('preference', { prompt: 'p', chosen: 'c', rejected: 'r' })).toEqual({ prompt: 'p', chosen: 'c', rejected: 'r' });
    expect(toPreferenceRecord('preference', { prompt: [u('p')], chosen: [a('c')], rejected: [a('r')] })).toEqual({ prompt: [u('p')], chosen: [a('c')], rejected: [a('r')] });
  });

  it('Anthropic HH: the prompt is the longest shared prefix ending at "\\n\\nAssistant:"', () => {
    const chosen = '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: How are you?\n\nAssistant: Great, thanks.';
    const rejected = '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: How are you?\n\nAssistant: Go away.';
    const rec = toPreferenceRecord('hh', { chosen, rejected });
    expect(rec).toEqual({ prompt: '\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: How are you?\n\nAssistant:', chosen: ' Great, thanks.', rejected: ' Go away.' });
    // The shared prefix runs into the answers ("G..."): the split still happens at the boundary.
    expect(splitHh('\n\nHuman: x\n\nAssistant: Good', '\n\nHuman: x\n\nAssistant: Go').chosen).toBe(' Good');
    expect(hhToMessages(rec.prompt as string)).toEqual([u('Hi'), a('Hello!'), u('How are you?')]);
    expect(problem(() => toPreferenceRecord('hh', { chosen: 'abc', rejected: 'abd' }))).toMatch(/^chosen: chosen and rejected share no prefix ending in/);
  });

  it('implicit prompt in message lists: the shared leading messages', () => {
    const rec = toPreferenceRecord('hh', { chosen: [u('q'), a('a1'), u('q2'), a('good')], rejected: [u('q'), a('a1'), u('q2'), a('bad')] });
    expect(rec).toEqual({ prompt: [u('q'), a('a1'), u('q2')], chosen: [a('good')], rejected: [a('bad')] });
  });

  it('UltraFeedback binarized: chosen/rejected hold the whole conversation', () => {
    const row = { prompt: 'q', prompt_id: 'x', chosen: [u('q'), a('yes')], rejected: [u('q'), a('no')], messages: [u('q'), a('yes')], score_chosen: 9, score_rejected: 3 };
    expect(toPreferenceRecord('ultrafeedback', row)).toEqual({ prompt: [u('q')], chosen: [a('yes')], rejected: [a('no')] });
  });

  it("LLaMA-Factory preference: the conversation is the prompt, chosen/rejected one message each", () => {
    const row = { conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a1' }, { from: 'human', value: 'q2' }], chosen: { from: 'gpt', value: 'good' }, rejected: { from: 'gpt', value: 'bad' } };
    expect(toPreferenceRecord('sharegpt_preference', row)).toEqual({ prompt: [u('q'), a('a1'), u('q2')], chosen: [a('good')], rejected: [a('bad')] });
    expect(toPreferenceRecord('alpaca_preference', { instruction: 'Translate', input: 'cat', chosen: 'chat', rejected: 'chien' })).toEqual({ prompt: [u('Translate\n\ncat')], chosen: 'chat', rejected: 'chien' });
  });

  it('chosen_messages/rejected_messages: the shared leading messages are the prompt; a system column is added to it', () => {
    const row = { chosen_messages: [u('q'), a('yes')], rejected_messages: [u('q'), a('no')], system: 'S' };
    expect(toPreferenceRecord('preference_messages', row)).toEqual({ prompt: [{ role: 'system', content: 'S' }, u('q')], chosen: [a('yes')], rejected: [a('no')] });
    expect(toPreferenceRecord('preference', { prompt: 'p', chosen: 'c', rejected: 'r', system: 'S' })).toEqual({ prompt: [{ role: 'system', content: 'S' }, u('p')], chosen: 'c', rejected: 'r' });
  });

  it('refuses identical pairs, missing fields, mixed types', () => {
    expect(problem(() => toPreferenceRecord('preference', { prompt: 'p', chosen: 'same', rejected: 'same' }))).toBe('rejected: is identical to chosen, so the pair teaches nothing');
    expect(problem(() => toPreferenceRecord('hh', { chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: b' }))).toMatch(/^rejected: is identical/);
    expect(problem(() => toPreferenceRecord('preference', { prompt: 'p', chosen: 'c' }))).toBe('rejected: missing');
    expect(problem(() => toPreferenceRecord('preference', { prompt: '', chosen: 'c', rejected: 'r' }))).toBe('prompt: is empty');
    expect(problem(() => toPreferenceRecord('preference', { prompt: 'p', chosen: [a('c')], rejected: 'r' }))).toMatch(/^rejected: chosen and rejected must both be text/);
    expect(problem(() => toPreferenceRecord('preference', { prompt: [u('p')], chosen: [u('c')], rejected: [u('c'), a('r')] }))).toMatch(/^chosen: has nothing after the shared prompt/);
  });
});
