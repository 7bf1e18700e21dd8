// Export: the adapter as a PEFT zip (adapter_config.json + adapter_model.safetensors) and the
// merged model as an HF checkpoint zip. Zipped in the page and saved as a download.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { exportMerged } from '../engineClient.ts';
import { asBuffers, getAdapter } from '../persistence/index.ts';
import { downloadBlob, zipFiles } from '../zip.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface AdapterRef {
  runId: string;
  files: Record<string, ArrayBuffer>;
}

export interface ExportState {
  status: 'idle' | 'adapter' | 'merged' | 'error';
  error: ApiError | null;
  lastFile: string | null;
}

export interface ExportSlice {
  exporting: ExportState;
  /** The adapter to compare and export: this session's last run, else the run opened in Runs. */
  currentAdapter: () => Promise<AdapterRef | null>;
  /** A run's finished adapter (the run just trained, or one kept in IndexedDB). */
  runAdapter: (runId: string) => Promise<AdapterRef | null>;
  exportAdapter: (runId?: string) => Promise<void>;
  exportMergedModel: (runId?: string) => Promise<void>;
}

export const createExportSlice: StateCreator<StudioState, [], [], ExportSlice> = (set, get) => {
  async function adapterOf(runId?: string): Promise<AdapterRef | null> {
    const t = get().training;
    if (t.adapter && t.runId && (!runId || runId === t.runId)) return { runId: t.runId, files: t.adapter };
    const id = runId ?? get().openRun.runId;
    if (!id) return null;
    const stored = await getAdapter(id);
    return stored ? { runId: id, files: await asBuffers(stored.files) } : null;
  }

  async function run(kind: 'adapter' | 'merged', runId: string | undefined): Promise<void> {
    set({ exporting: { status: kind, error: null, lastFile: get().exporting.lastFile } });
    try {
      const adapter = await adapterOf(runId);
      if (!adapter) throw new Error('This run has no finished adapter to export');
      const files = kind === 'adapter' ? adapter.files : await exportMerged(adapter.files);
      const name = `${adapter.runId}-${kind === 'adapter' ? 'adapter' : 'merged'}.zip`;
      downloadBlob(zipFiles(files), name);
      set({ exporting: { status: 'idle', error: null, lastFile: name } });
    } catch (e) {
      set({ exporting: { status: 'error', error: asProblem(e), lastFile: null } });
    }
  }

  return {
    exporting: { status: 'idle', error: null, lastFile: null },
    currentAdapter: () => adapterOf(),
    runAdapter: (runId) => adapterOf(runId),
    exportAdapter: (runId) => run('adapter', runId),
    exportMergedModel: (runId) => run('merged', runId),
  };
};
