// The one GPU device a worker holds, acquired on first use and shared by every EngineApi method
// (probe, loadModel, train, generate, ...). If the device is lost, the next call acquires a new one.
import { acquireDevice, type AcquiredDevice, type AcquireOptions } from '../gpu/device.ts';

export class DeviceSession {
  private current: Promise<AcquiredDevice> | null = null;

  constructor(
    private readonly gpu: () => GPU | undefined,
    private readonly options: AcquireOptions = {},
  ) {}

  /** The device, acquiring it the first time (or again after a loss or a failed attempt). */
  acquire(): Promise<AcquiredDevice> {
    if (!this.current) {
      const attempt = acquireDevice(this.gpu(), this.options);
      this.current = attempt;
      attempt.then(
        (acquired) => {
          void acquired.lost.then(() => {
            if (this.current === attempt) this.current = null;
          });
        },
        () => {
          // A failed acquisition is not cached: the user may enable WebGPU and retry.
          if (this.current === attempt) this.current = null;
        },
      );
    }
    return this.current;
  }
}
