// jsonErrorOffset: the first syntax error of a JSON text, found iteratively (any nesting depth),
// agreeing with JSON.parse on what is valid.
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { jsonErrorOffset, lineOfOffset } from './jsonLocate.ts';
import { readDatasetFile } from './readers.ts';
import { DatasetError } from './validate.ts';

describe('jsonErrorOffset', () => {
  it('finds the first error', () => {
    expect(jsonErrorOffset('[{"a": [1, 2.5e3, true, null, "x\\u00e9"]}]')).toBe(-1);
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonErrorOffset('{"a": "b\n"}')).toBe(8);
    expect(jsonErrorOffset('[1] x')).toBe(4);
    expect(jsonErrorOffset('[1, 2')).toBe(5);
    expect(jsonErrorOffset('{"a" 1}')).toBe(5);
    expect(jsonErrorOffset('[1 2]')).toBe(3);
    expect(jsonErrorOffset('{"a": [1, {"b": }]}')).toBe(16);
    expect(jsonErrorOffset('')).toBe(0);
  });

  it('agrees with JSON.parse on validity (random texts)', () => {
    const pieces = ['{', '}', '[', ']', ',', ':', '"k"', '1', '-0.5e2', 'true', 'null', ' ', '\n', '"\\n"', '01', 'x'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % pieces.length;
    for (let k = 0; k < 3000; k++) {
      const text = Array.from({ length: 1 + (k % 12) }, () => pieces[next()]).join('');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(jsonErrorOffset(text) === -1, text).toBe(valid);
    }
  });

  it('handles malformed JSON nested 100,000 deep without a stack overflow', () => {
    const depth = 100_000;
    const text = '['.repeat(depth) + '{"a": }' + ']'.repeat(depth);
    expect(jsonErrorOffset(text)).toBe(depth + 6);
    const deepValid = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    expect(jsonErrorOffset(deepValid)).toBe(-1);
    expect(lineOfOffset('a\nb\nc', 4)).toBe(3);
  });

  it('a whole-file JSON dataset nested 10,000 deep and broken is one line naming it', async () => {
    const text = '[\n' + '['.repeat(10_000) + 'x' + ']'.repeat(10_000) + '\n]';
    const err = await readDatasetFile(new MemorySource('deep.json', new TextEncoder().encode(text))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/^deep\.json line 2: invalid JSON/);
  });
});
