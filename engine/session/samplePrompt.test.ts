// The default sample prompt: the first user turn of a dataset row in each format the readers know.
import { describe, expect, it } from 'vitest';
import { firstUserPrompt } from './samplePrompt.ts';

describe('firstUserPrompt', () => {
  it('finds the first user turn in every dataset format', () => {
    expect(firstUserPrompt({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: ' Hi? ' }, { role: 'assistant', content: 'Hello.' }] })).toBe('Hi?');
    expect(firstUserPrompt({ conversations: [{ from: 'human', value: 'Name a fruit.' }, { from: 'gpt', value: 'Apple.' }] })).toBe('Name a fruit.');
    expect(firstUserPrompt({ prompt: 'What is 2+2?', completion: '4' })).toBe('What is 2+2?');
    expect(firstUserPrompt({ prompt: [{ role: 'user', content: 'Pick one.' }], chosen: [{ role: 'assistant', content: 'A' }] })).toBe('Pick one.');
    expect(firstUserPrompt({ instruction: 'Translate.', input: 'bonjour', output: 'hello' })).toBe('Translate.\n\nbonjour');
    expect(firstUserPrompt({ chosen: '\n\nHuman: Is ice cold?\n\nAssistant: Yes.', rejected: '\n\nHuman: Is ice cold?\n\nAssistant: No.' })).toBe('Is ice cold?');
    expect(firstUserPrompt({ chosen: [{ role: 'user', content: 'Q?' }, { role: 'assistant', content: 'A' }] })).toBe('Q?');
    expect(firstUserPrompt({ text: 'one two three four five six seven eight nine ten' })).toBe('one two three four five six seven eight');
    expect(firstUserPrompt({ answer: 42 })).toBeNull();
    expect(firstUserPrompt(undefined)).toBeNull();
  });
});
