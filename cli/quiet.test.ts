// The quiet CLI: Dawn's native "artificially reduced" warnings never reach the user's stderr
// (cli/quiet.mjs filters the CLI child's stderr), while everything else — progress redraws,
// partial lines, errors — passes through unchanged and in order.
import { describe, expect, it } from 'vitest';
import { DAWN_NOISE, noiseFilter } from './quiet.mjs';
import { whetstone } from './testing.ts';

const dawn = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

describe('quiet CLI', () => {
  it('drops exactly the Dawn warning lines, however the chunks split them', () => {
    expect(DAWN_NOISE.test(dawn)).toBe(true);
    expect(DAWN_NOISE.test('Warning: something else')).toBe(false);
    const text = `adapter: x\n${dawn}\n${dawn.replace('Uniform', 'Storage')}\n\r[###.....] step 1/3\rwarning: truncated 1 row\nWarning: max_length is small\n`;
    const want = 'adapter: x\n\r[###.....] step 1/3\rwarning: truncated 1 row\nWarning: max_length is small\n';
    for (const size of [1, 3, 7, 40, text.length]) {
      const f = noiseFilter();
      let out = '';
      for (let i = 0; i < text.length; i += size) out += f.push(text.slice(i, i + size));
      out += f.end();
      expect(out, `chunks of ${size}`).toBe(want);
    }
    // A progress redraw (no newline) is passed on at once, not held back.
    expect(noiseFilter().push('\r[#.......] step 1/9')).toBe('\r[#.......] step 1/9');
  });

  it('a command prints no Dawn warnings on stderr', { timeout: 120_000 }, async () => {
    const { json, stderr } = await whetstone('device', '--json');
    expect(typeof json.adapterName).toBe('string');
    expect(stderr).not.toMatch(/artificially reduced/);
  });
});
