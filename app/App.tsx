// The studio: the start screen while the GPU is probed (or the "no WebGPU" page), then the
// header with the adapter and the panels.
import { useEffect } from 'react';
import { useStudio } from './store/index.ts';
import { ComparePanel } from './components/ComparePanel.tsx';
import { DatasetPanel } from './components/DatasetPanel.tsx';
import { DeviceHeader } from './components/DeviceHeader.tsx';
import { EngineFailed } from './components/EngineFailed.tsx';
import { ExportPanel } from './components/ExportPanel.tsx';
import { ModelPanel } from './components/ModelPanel.tsx';
import { NoWebGpu } from './components/NoWebGpu.tsx';
import { RecipePanel } from './components/RecipePanel.tsx';
import { RunPanel } from './components/RunPanel.tsx';
import { RunsPanel } from './components/RunsPanel.tsx';

export function App() {
  const device = useStudio((s) => s.device);
  const probeDevice = useStudio((s) => s.probeDevice);
  const loadRuns = useStudio((s) => s.loadRuns);
  const runsStatus = useStudio((s) => s.runsStatus);
  const resumeInterruptedRun = useStudio((s) => s.resumeInterruptedRun);

  useEffect(() => {
    void probeDevice();
    void loadRuns();
  }, [probeDevice, loadRuns]);

  // A run that was still training when the page closed continues from its last checkpoint.
  useEffect(() => {
    if (device.status === 'ready' && runsStatus === 'ready') void resumeInterruptedRun();
  }, [device.status, runsStatus, resumeInterruptedRun]);

  switch (device.status) {
    case 'idle':
    case 'probing':
      return (
        <main className="start-screen" aria-busy="true">
          <h1>Whetstone</h1>
          <p className="lead">Looking for a GPU…</p>
        </main>
      );
    case 'unavailable':
      return <NoWebGpu error={device.error} onRetry={() => void probeDevice()} />;
    case 'error':
      return <EngineFailed error={device.error} onRetry={() => void probeDevice()} />;
    case 'ready':
      return (
        <div className="studio">
          <DeviceHeader report={device.report} />
          <main className="panels">
            <div className="column">
              <ModelPanel />
              <DatasetPanel />
              <RecipePanel />
            </div>
            <div className="column">
              <RunPanel />
              <ComparePanel />
            </div>
            <div className="column">
              <RunsPanel />
              <ExportPanel />
            </div>
          </main>
        </div>
      );
  }
}
