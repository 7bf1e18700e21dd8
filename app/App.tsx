// The studio: the start screen while the GPU is probed (or the "no WebGPU" page), then the
// header with the adapter and the panels.
import { useEffect } from 'react';
import { useStudio } from './store/index.ts';
import { ArenaPanel } from './components/ArenaPanel.tsx';
import { ComparePanel } from './components/ComparePanel.tsx';
import { DatasetPanel } from './components/DatasetPanel.tsx';
import { DeviceHeader } from './components/DeviceHeader.tsx';
import { EngineFailed } from './components/EngineFailed.tsx';
import { ExportPanel } from './components/ExportPanel.tsx';
import { LabelPanel } from './components/LabelPanel.tsx';
import { LessonPanel } from './components/LessonPanel.tsx';
import { ModelPanel } from './components/ModelPanel.tsx';
import { NoWebGpu } from './components/NoWebGpu.tsx';
import { OpenedLesson } from './components/OpenedLesson.tsx';
import { RecipePanel } from './components/RecipePanel.tsx';
import { RunPanel } from './components/RunPanel.tsx';
import { RunsPanel } from './components/RunsPanel.tsx';
import { WhatChangedPanel } from './components/WhatChangedPanel.tsx';

export function App() {
  const device = useStudio((s) => s.device);
  const probeDevice = useStudio((s) => s.probeDevice);
  const loadRuns = useStudio((s) => s.loadRuns);
  const runsStatus = useStudio((s) => s.runsStatus);
  const resumeInterruptedRun = useStudio((s) => s.resumeInterruptedRun);
  const loadLabels = useStudio((s) => s.loadLabels);
  const openLessonFromPage = useStudio((s) => s.openLessonFromPage);
  const presenter = useStudio((s) => s.presenter);

  useEffect(() => {
    void probeDevice();
    void loadRuns();
    void loadLabels();
  }, [probeDevice, loadRuns, loadLabels]);

  // Presenter mode scales the whole page (rem units) for a projector.
  useEffect(() => {
    document.documentElement.classList.toggle('presenter', presenter);
  }, [presenter]);

  // A lesson link (#lesson=…) opens once the GPU is ready: model, recipe and data, then it waits.
  useEffect(() => {
    if (device.status === 'ready') void openLessonFromPage();
  }, [device.status, openLessonFromPage]);

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
        <div className={presenter ? 'studio presenter' : 'studio'}>
          <DeviceHeader report={device.report} />
          <OpenedLesson />
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
          <section className="classroom" aria-labelledby="classroom-heading">
            <header className="classroom-header">
              <h2 id="classroom-heading">Classroom</h2>
              <p className="muted">Label answers, train on your labels, judge the result blind, and share it all as a lesson.</p>
            </header>
            <div className="classroom-panels">
              <LabelPanel />
              <div className="column">
                <ArenaPanel />
                <WhatChangedPanel />
                <LessonPanel />
              </div>
            </div>
          </section>
        </div>
      );
  }
}
