// The run history kept in IndexedDB, as the Runs panel shows it. Writes go to the database
// first, then to the state, so what is on screen is what survives a reload.
import type { StateCreator } from 'zustand';
import { deleteRun, listRuns, putRun, type RunRecord } from '../persistence/index.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface StorageProblem {
  name: string;
  message: string;
  hint: string;
}

export interface RunsSlice {
  runs: RunRecord[];
  runsStatus: 'idle' | 'loading' | 'ready' | 'error';
  /** The last storage failure (full quota, no IndexedDB), shown in the Runs panel until dismissed. */
  runsError: StorageProblem | null;
  loadRuns: () => Promise<void>;
  saveRun: (run: RunRecord) => Promise<void>;
  deleteRun: (id: string) => Promise<void>;
  dismissRunsError: () => void;
}

function problem(e: unknown): StorageProblem {
  const { name, message, hint } = asProblem(e);
  return { name, message, hint };
}

function newestFirst(runs: RunRecord[]): RunRecord[] {
  return [...runs].sort((a, b) => b.createdAt - a.createdAt);
}

export const createRunsSlice: StateCreator<StudioState, [], [], RunsSlice> = (set, get) => ({
  runs: [],
  runsStatus: 'idle',
  runsError: null,
  loadRuns: async () => {
    set({ runsStatus: 'loading' });
    try {
      set({ runs: await listRuns(), runsStatus: 'ready' });
    } catch (e) {
      set({ runsStatus: 'error', runsError: problem(e) });
    }
  },
  saveRun: async (run) => {
    try {
      await putRun(run);
    } catch (e) {
      set({ runsError: problem(e) });
      throw e;
    }
    set({ runs: newestFirst([run, ...get().runs.filter((r) => r.id !== run.id)]) });
  },
  deleteRun: async (id) => {
    try {
      await deleteRun(id);
    } catch (e) {
      set({ runsError: problem(e) });
      return;
    }
    set({ runs: get().runs.filter((r) => r.id !== id) });
  },
  dismissRunsError: () => set({ runsError: null }),
});
