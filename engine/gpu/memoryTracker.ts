// Counts the bytes of every GPUBuffer a device creates and destroys, for the benchmark's peak
// memory figures. WebGPU has no memory query, so we wrap createBuffer/destroy on the device.
export interface MemoryTracker {
  readonly liveBytes: number;
  readonly peakBytes: number;
  /** Starts a new peak measurement from the current live bytes. */
  resetPeak(): void;
}

const trackers = new WeakMap<GPUDevice, MemoryTracker>();

export function trackDeviceMemory(device: GPUDevice): MemoryTracker {
  const existing = trackers.get(device);
  if (existing) return existing;
  let live = 0;
  let peak = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(desc);
    const size = buffer.size;
    live += size;
    peak = Math.max(peak, live);
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) live -= size;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  const tracker: MemoryTracker = {
    get liveBytes() {
      return live;
    },
    get peakBytes() {
      return peak;
    },
    resetPeak() {
      peak = live;
    },
  };
  trackers.set(device, tracker);
  return tracker;
}
