// The studio's top bar: the app name and the GPU the engine is using, with the limits that
// decide which models fit.
import type { DeviceReport } from '../../engine/api/types.ts';
import { formatBytes } from '../format.ts';
import { PresenterToggle } from './PresenterToggle.tsx';

export function DeviceHeader({ report }: { report: DeviceReport }) {
  return (
    <header className="app-header">
      <div className="brand">
        <h1>Whetstone</h1>
        <span className="tagline">fine-tune language models on your own GPU</span>
      </div>
      <dl className="device" aria-label="GPU">
        <div>
          <dt>Adapter</dt>
          <dd data-testid="adapter-name">{report.adapterName}</dd>
        </div>
        <div>
          <dt>f16</dt>
          <dd data-testid="adapter-f16">{report.f16 ? 'yes' : 'no'}</dd>
        </div>
        <div>
          <dt>Max buffer</dt>
          <dd data-testid="adapter-max-buffer">{formatBytes(report.maxBufferSize)}</dd>
        </div>
        <div>
          <dt>Max storage binding</dt>
          <dd data-testid="adapter-max-binding">{formatBytes(report.maxStorageBufferBindingSize)}</dd>
        </div>
      </dl>
      <PresenterToggle />
      {report.isCpu && (
        <p className="cpu-warning" role="note">
          This is a software (CPU) adapter: everything works, but far too slowly for real training. Use a machine with a
          GPU and hardware acceleration on.
        </p>
      )}
    </header>
  );
}
