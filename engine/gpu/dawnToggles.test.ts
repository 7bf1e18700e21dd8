import { describe, expect, it } from 'vitest';
import { dawnInstanceFlags, DawnTogglesError, DEFAULT_DAWN_TOGGLES, NVIDIA_F16_TOGGLE, parseDawnToggles, resolveDawnToggles } from './dawnToggles.ts';

describe('WHETSTONE_DAWN_TOGGLES', () => {
  it('parses enable and disable lists, spaces and empty parts ignored, duplicates dropped', () => {
    expect(parseDawnToggles('enable=a,b;disable=c')).toEqual({ enable: ['a', 'b'], disable: ['c'] });
    expect(parseDawnToggles(' disable = c ; enable=a, a ,;')).toEqual({ enable: ['a'], disable: ['c'] });
    expect(parseDawnToggles('')).toEqual({ enable: [], disable: [] });
  });

  it('rejects what it cannot read with a typed error that says how to write it', () => {
    for (const bad of ['allow_unsafe_apis', 'turn_on=a', 'enable=A-B', 'enable=a;disable=a']) {
      expect(() => parseDawnToggles(bad)).toThrow(DawnTogglesError);
    }
    try {
      parseDawnToggles('turn_on=a');
    } catch (e) {
      expect((e as DawnTogglesError).message).toContain('unknown key "turn_on"');
      expect((e as DawnTogglesError).hint).toContain('enable=');
    }
  });

  it('defaults: unsafe APIs on (subgroup matrices), timestamp quantization off, NVIDIA f16 only behind its switch', () => {
    expect(resolveDawnToggles({})).toEqual({ enable: ['allow_unsafe_apis'], disable: ['timestamp_quantization'] });
    expect(resolveDawnToggles({ WHETSTONE_NVIDIA_F16: '1' }).enable).toEqual(['allow_unsafe_apis', NVIDIA_F16_TOGGLE]);
    expect(resolveDawnToggles({ WHETSTONE_NVIDIA_F16: '0' }).enable).not.toContain(NVIDIA_F16_TOGGLE);
    expect(DEFAULT_DAWN_TOGGLES.enable).not.toContain(NVIDIA_F16_TOGGLE);
  });

  it("the user's toggles win over the defaults in both directions", () => {
    expect(resolveDawnToggles({ WHETSTONE_DAWN_TOGGLES: 'disable=allow_unsafe_apis;enable=timestamp_quantization,dump_shaders' })).toEqual({
      enable: ['timestamp_quantization', 'dump_shaders'],
      disable: ['allow_unsafe_apis'],
    });
    expect(resolveDawnToggles({ WHETSTONE_NVIDIA_F16: '1', WHETSTONE_DAWN_TOGGLES: `disable=${NVIDIA_F16_TOGGLE}` })).toEqual({
      enable: ['allow_unsafe_apis'],
      disable: ['timestamp_quantization', NVIDIA_F16_TOGGLE],
    });
  });

  it('makes one instance flag per key (Dawn keeps only the last of a repeated key)', () => {
    expect(dawnInstanceFlags({ enable: ['a', 'b'], disable: ['c'] })).toEqual(['enable-dawn-features=a,b', 'disable-dawn-features=c']);
    expect(dawnInstanceFlags({ enable: [], disable: ['c'] })).toEqual(['disable-dawn-features=c']);
    expect(dawnInstanceFlags({ enable: [], disable: [] })).toEqual([]);
  });
});
