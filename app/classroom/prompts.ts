// Prompts for labelling and the arena. The demo prompts are questions the built-in demo model
// learnt to answer (scripts/reference/demo_corpus.py), phrased a little differently, so its
// sampled answers vary between good, odd and off-topic: things worth labelling.

export const DEMO_PROMPTS: readonly string[] = [
  'Sky colour?',
  'Tell me about dogs.',
  'What is your favourite animal?',
  'Tell me a fact.',
  'What is big?',
  'Say something nice.',
  'What do you like?',
  'Tell me about the sea.',
  'What is a cat?',
  'What is red?',
  'Describe the sun.',
  'Tell me about winter.',
  'Name an animal.',
  'Tell me about birds.',
  'What is cold?',
  'What can you do?',
  'Tell me a story.',
  'What is in the park?',
  'Describe a frog.',
  'What is nice?',
];

/** The fixed prompts the "what changed" panel answers before and after a run (demo prompts whose greedy answers label training moved). */
export const WHAT_CHANGED_PROMPTS: readonly string[] = ['What is your favourite animal?', 'Tell me a fact.', 'What is big?'];

/** One prompt per non-empty line, trimmed, without repeats. */
export function parsePromptList(text: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim();
    if (p && !seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  }
  return out;
}
