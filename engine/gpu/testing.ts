// Test-only: one real WebGPU device per test process (Dawn in Node), announced once so every test
// log names the adapter it ran on.
import { GpuContext } from './context.ts';
import { acquireNodeDevice } from './nodeGpu.ts';

let shared: Promise<GpuContext> | null = null;

export function testContext(): Promise<GpuContext> {
  shared ??= acquireNodeDevice().then(({ device, caps }) => {
    device.addEventListener('uncapturederror', (e) => {
      console.error(`[webgpu] uncaptured error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    console.log(`[webgpu] adapter: ${caps.adapterName}; f16=${caps.f16} subgroups=${caps.subgroups} maxBinding=${caps.maxStorageBufferBindingSize}`);
    return new GpuContext(device, caps);
  });
  return shared;
}
