// The GPU as the engine sees it: probing, ready (with the adapter report), or unavailable (with
// the engine's explanation). The page checks navigator.gpu itself first so a browser without
// WebGPU never even starts the worker.
import type { StateCreator } from 'zustand';
import type { ApiError, DeviceReport } from '../../engine/api/types.ts';
import { onDeviceLost, probeDevice } from '../engineClient.ts';
import { asProblem } from './problems.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import type { StudioState } from './index.ts';

export type DeviceState =
  | { status: 'idle' }
  | { status: 'probing' }
  | { status: 'ready'; report: DeviceReport }
  /** No WebGPU at all, or no adapter: show the "how to get WebGPU" page. */
  | { status: 'unavailable'; error: ApiError }
  /** WebGPU exists but something else failed (worker crash, device refused, device lost). */
  | { status: 'error'; error: ApiError };

export interface DeviceSlice {
  device: DeviceState;
  probeDevice: () => Promise<void>;
}

const NO_NAVIGATOR_GPU: ApiError = {
  name: 'WebGpuUnavailable',
  message: 'WebGPU is not available: this browser has no navigator.gpu',
  hint: 'Use a browser with WebGPU (see the list below) and turn hardware acceleration on.',
};

export const createDeviceSlice: StateCreator<StudioState, [], [], DeviceSlice> = (set, get) => {
  // Device loss (driver reset, GPU reclaimed) takes the studio to an explanation with "Try
  // again", which acquires a new device.
  // During a run the training slice handles the loss itself (new device, resume from the last
  // checkpoint), so the panels stay on screen.
  onDeviceLost((error) => {
    if (isTrainingActive(get().training.phase)) return;
    set({ device: { status: 'error', error } });
  });

  return {
    device: { status: 'idle' },
    probeDevice: async () => {
      if (get().device.status === 'probing') return;
      if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) {
        set({ device: { status: 'unavailable', error: NO_NAVIGATOR_GPU } });
        return;
      }
      set({ device: { status: 'probing' } });
      try {
        const report = await probeDevice();
        set({ device: { status: 'ready', report } });
      } catch (e) {
        const error = asProblem(e);
        set({ device: { status: error.name === 'WebGpuUnavailable' ? 'unavailable' : 'error', error } });
      }
    },
  };
};
