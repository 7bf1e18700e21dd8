// The saved run opened in the Runs panel: its metrics (for its charts) and whether it has an
// adapter to export again.
import type { StateCreator } from 'zustand';
import { getAdapter, listMetrics } from '../persistence/index.ts';
import type { StudioState } from './index.ts';

export interface OpenRunState {
  runId: string | null;
  logs: Record<string, number>[];
  hasAdapter: boolean;
  loading: boolean;
}

export interface OpenRunSlice {
  openRun: OpenRunState;
  openSavedRun: (id: string) => Promise<void>;
  closeSavedRun: () => void;
}

export const createOpenRunSlice: StateCreator<StudioState, [], [], OpenRunSlice> = (set, get) => ({
  openRun: { runId: null, logs: [], hasAdapter: false, loading: false },
  openSavedRun: async (id) => {
    set({ openRun: { runId: id, logs: [], hasAdapter: false, loading: true } });
    const [metrics, adapter] = await Promise.all([listMetrics(id).catch(() => []), getAdapter(id).catch(() => undefined)]);
    if (get().openRun.runId !== id) return;
    set({ openRun: { runId: id, logs: metrics.map((m) => m.values), hasAdapter: !!adapter, loading: false } });
  },
  closeSavedRun: () => set({ openRun: { runId: null, logs: [], hasAdapter: false, loading: false } }),
});
