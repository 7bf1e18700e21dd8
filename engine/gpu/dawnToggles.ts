// Dawn toggles for the Node `GPU` object (npm `webgpu`): the defaults Whetstone wants, the user's
// WHETSTONE_DAWN_TOGGLES override, and the instance flags Dawn takes. Pure: no Dawn import, so it
// is testable anywhere and the browser bundle can ignore it (Chrome takes --enable-dawn-features).
//
//   WHETSTONE_DAWN_TOGGLES="enable=a,b;disable=c"   adds to / overrides the defaults below
//   WHETSTONE_NVIDIA_F16=1                           also enables vulkan_enable_f16_on_nvidia
//
// Dawn's node binding reads ONE string per key: create(["enable-dawn-features=a,b",
// "disable-dawn-features=c"]) (a repeated key overwrites the earlier one), and applies them to the
// instance, its adapters and their devices.
import { WhetstoneError } from '../errors.ts';

export interface DawnToggles {
  enable: string[];
  disable: string[];
}

/**
 * Defaults in Node:
 *  - allow_unsafe_apis: exposes `chromium-experimental-subgroup-matrix` (tensor-core matrix ops
 *    from WGSL) where the driver has them; nothing else changes unless a feature is requested.
 *  - timestamp_quantization off: timestamp queries come back in real nanoseconds instead of
 *    65,536 ns steps, which the profiler (`npm run bench -- --profile`) needs.
 */
export const DEFAULT_DAWN_TOGGLES: Readonly<DawnToggles> = Object.freeze({
  enable: ['allow_unsafe_apis'],
  disable: ['timestamp_quantization'],
});

/**
 * Dawn blocks shader-f16 on NVIDIA through Vulkan (a blocklist for old driver crashes, not a
 * missing Vulkan feature). Off by default until the kernel tests have passed with it on an NVIDIA
 * card; WHETSTONE_NVIDIA_F16=1 turns it on (it has no effect on other vendors).
 */
export const NVIDIA_F16_TOGGLE = 'vulkan_enable_f16_on_nvidia';

export class DawnTogglesError extends WhetstoneError {
  constructor(spec: string, detail: string) {
    super(
      `WHETSTONE_DAWN_TOGGLES="${spec}" is not understood: ${detail}`,
      'Write it as "enable=toggle_a,toggle_b;disable=toggle_c" (Dawn toggle names: lowercase letters, digits and underscores).',
    );
  }
}

const TOGGLE_NAME = /^[a-z0-9_]+$/;

/** Parses "enable=a,b;disable=c" (either part optional, spaces ignored, empty string = nothing). */
export function parseDawnToggles(spec: string): DawnToggles {
  const out: DawnToggles = { enable: [], disable: [] };
  for (const part of spec.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new DawnTogglesError(spec, `"${part.trim()}" has no "=" (expected enable=... or disable=...)`);
    const key = part.slice(0, eq).trim();
    if (key !== 'enable' && key !== 'disable') throw new DawnTogglesError(spec, `unknown key "${key}" (expected enable or disable)`);
    for (const raw of part.slice(eq + 1).split(',')) {
      const name = raw.trim();
      if (!name) continue;
      if (!TOGGLE_NAME.test(name)) throw new DawnTogglesError(spec, `"${name}" is not a toggle name`);
      if (!out[key].includes(name)) out[key].push(name);
    }
  }
  const both = out.enable.filter((t) => out.disable.includes(t));
  if (both.length) throw new DawnTogglesError(spec, `${both.join(', ')} is both enabled and disabled`);
  return out;
}

/** Defaults, then the NVIDIA f16 switch, then the user's toggles (which win over both). */
export function resolveDawnToggles(env: { WHETSTONE_DAWN_TOGGLES?: string; WHETSTONE_NVIDIA_F16?: string }): DawnToggles {
  const enable = [...DEFAULT_DAWN_TOGGLES.enable];
  const disable = [...DEFAULT_DAWN_TOGGLES.disable];
  if (env.WHETSTONE_NVIDIA_F16 === '1' || env.WHETSTONE_NVIDIA_F16 === 'true') enable.push(NVIDIA_F16_TOGGLE);
  const user = parseDawnToggles(env.WHETSTONE_DAWN_TOGGLES ?? '');
  const keep = (list: string[], drop: string[]) => list.filter((t) => !drop.includes(t));
  return {
    enable: [...keep(enable, user.disable), ...user.enable.filter((t) => !enable.includes(t))],
    disable: [...keep(disable, user.enable), ...user.disable.filter((t) => !disable.includes(t))],
  };
}

/** The instance flags for npm `webgpu`'s create(): one string per key, none for an empty list. */
export function dawnInstanceFlags(t: DawnToggles): string[] {
  const flags: string[] = [];
  if (t.enable.length) flags.push(`enable-dawn-features=${t.enable.join(',')}`);
  if (t.disable.length) flags.push(`disable-dawn-features=${t.disable.join(',')}`);
  return flags;
}
