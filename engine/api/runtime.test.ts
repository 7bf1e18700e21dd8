// When the studio's training run reloads the model: a recipe's load_in_4bit (and double
// quantization) that differs from how the model is loaded; never for a pre-quantized checkpoint.
import { describe, expect, it } from 'vitest';
import { needsReload } from './runtime.ts';

describe('needsReload', () => {
  it('reloads only when the recipe asks for the other precision or double quantization', () => {
    expect(needsReload(null, {})).toBe(false);
    expect(needsReload(null, { loadIn4bit: false, doubleQuant: true })).toBe(false);
    expect(needsReload(null, { loadIn4bit: true })).toBe(true);
    const fourBit = { preQuantized: false, doubleQuant: true };
    expect(needsReload(fourBit, { loadIn4bit: true, doubleQuant: true })).toBe(false);
    expect(needsReload(fourBit, { loadIn4bit: true, doubleQuant: false })).toBe(true);
    expect(needsReload(fourBit, { loadIn4bit: false })).toBe(true);
    // A *-bnb-4bit checkpoint is 4-bit whatever the recipe says, with its own double quantization.
    for (const want of [{ loadIn4bit: false }, { loadIn4bit: true, doubleQuant: false }]) expect(needsReload({ preQuantized: true, doubleQuant: true }, want)).toBe(false);
  });
});
