// The `GPU` object in Node, through Dawn (npm `webgpu`). On a machine without a GPU we look for a
// CPU Vulkan driver ourselves so nobody has to set environment variables by hand:
//   1. whatever Vulkan driver the loader finds (a real GPU, or Mesa lavapipe >= 25);
//   2. SwiftShader from Debian's chromium package (VK_ICD_FILENAMES must be set before Dawn starts,
//      so this path runs in a Dawn instance created after setting it).
// WHETSTONE_ADAPTER=swiftshader forces 2 (to test the no-f16 path); =default forces 1.
// Every instance gets the Dawn toggles of dawnToggles.ts (defaults + WHETSTONE_DAWN_TOGGLES).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dawnInstanceFlags, resolveDawnToggles } from './dawnToggles.ts';
import { acquireDevice, type AcquireOptions, type AcquiredDevice } from './device.ts';
import { WebGpuUnavailable } from './errors.ts';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

// Dawn crashes the process if its GPU object is collected while devices live: keep them all.
const liveInstances: GPU[] = [];

function loadDawn(): DawnModule {
  const require = createRequire(import.meta.url);
  try {
    return require('webgpu') as DawnModule;
  } catch (e) {
    throw new WebGpuUnavailable(
      `the npm package "webgpu" could not be loaded (${(e as Error).message})`,
      'Run `npm install` in the whetstone folder.',
    );
  }
}

function vulkanLoaderPresent(): boolean {
  return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);
}

export async function acquireNodeDevice(options: AcquireOptions = {}): Promise<AcquiredDevice> {
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  const choice = process.env.WHETSTONE_ADAPTER ?? 'auto';
  const swiftshader = SWIFTSHADER_ICDS.find(existsSync);
  const toggles = resolveDawnToggles(process.env);
  const flags = dawnInstanceFlags(toggles);
  const acquire = async (gpu: GPU): Promise<AcquiredDevice> => {
    const acquired = await acquireDevice(gpu, options);
    // WHETSTONE_SUBGROUP_MATMUL=off|f16-weights|all: which matmuls use subgroup matrices (subgroupMatrix.ts).
    const use = process.env.WHETSTONE_SUBGROUP_MATMUL;
    if (acquired.caps.subgroupMatrix && use === 'off') acquired.caps.subgroupMatrix = null;
    else if (acquired.caps.subgroupMatrix && (use === 'all' || use === 'f16-weights')) acquired.caps.subgroupMatrix.use = use;
    return { ...acquired, dawnToggles: toggles };
  };

  if (choice === 'swiftshader' && swiftshader) process.env.VK_ICD_FILENAMES = swiftshader;
  const first = dawn.create(flags);
  liveInstances.push(first);
  let adapter = await first.requestAdapter();
  if (adapter || choice === 'default') return acquire(first);

  if (swiftshader && process.env.VK_ICD_FILENAMES !== swiftshader) {
    process.env.VK_ICD_FILENAMES = swiftshader;
    const second = dawn.create(flags);
    liveInstances.push(second);
    adapter = await second.requestAdapter();
    if (adapter) return acquire(second);
  }
  const missing = vulkanLoaderPresent()
    ? 'no usable Vulkan driver was found'
    : 'the Vulkan loader (libvulkan.so.1) is not installed';
  throw new WebGpuUnavailable(
    missing,
    'Install a GPU driver, or a CPU Vulkan driver for testing: `apt-get install -y libvulkan1 chromium` (SwiftShader) ' +
      'or `apt-get install -y libvulkan1 mesa-vulkan-drivers` (lavapipe from bookworm-backports).',
  );
}
