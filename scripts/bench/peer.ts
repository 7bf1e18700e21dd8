// The peer we measure against: @tensorflow/tfjs-backend-webgpu, given OUR GPUDevice, registered as
// a tfjs backend in this process, so both run on the same adapter and device.
import { createRequire } from 'node:module';
import type { AcquiredDevice } from '../../engine/gpu/device.ts';

export type Tf = typeof import('@tensorflow/tfjs-core');
export interface Peer {
  tf: Tf;
  /** The tfjs WebGPU backend (for submitQueue). */
  backend: { submitQueue(): void; supportTimestampQuery: boolean };
  version: string;
}

let peer: Promise<Peer> | null = null;

export function tfjsPeer(acquired: AcquiredDevice): Promise<Peer> {
  peer ??= (async () => {
    // tfjs-backend-webgpu checks navigator.gpu before it will construct a backend (Node has none).
    const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    if (!g.navigator!.gpu) Object.defineProperty(g.navigator!, 'gpu', { value: { requestAdapter: async () => acquired.adapter }, configurable: true });
    const tf = await import('@tensorflow/tfjs-core');
    const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
    const backend = new webgpu.WebGPUBackend(acquired.device, acquired.adapter.info);
    // Its kernels are registered under the name 'webgpu': replace the auto-registered factory.
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => backend, 10);
    if (!(await tf.setBackend('webgpu')) || tf.backend() !== backend) throw new Error('tfjs refused our WebGPU device');
    // Never fall back to the CPU for small tensors: we measure the GPU kernels.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    return { tf, backend: backend as unknown as Peer['backend'], version: (createRequire(import.meta.url)('@tensorflow/tfjs-backend-webgpu/package.json') as { version: string }).version };
  })();
  return peer;
}
