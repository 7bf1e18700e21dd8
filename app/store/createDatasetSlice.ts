// The training file: its bytes (kept in the page for training and for the run record) and the
// engine's report on it (format, row count, per-row errors, preview, loss mask).
import type { StateCreator } from 'zustand';
import type { DatasetReport } from '../../engine/api/contract.ts';
import type { ApiError } from '../../engine/api/types.ts';
import { METHOD_INFO, methodReads } from '../../engine/recipe/methods.ts';
import { inspectDataset } from '../engineClient.ts';
import type { RecipeValues } from '../recipe.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface DatasetFile {
  name: string;
  data: ArrayBuffer;
}

export interface DatasetState {
  status: 'idle' | 'reading' | 'ready' | 'error';
  file: DatasetFile | null;
  /** One of the bundled demo datasets (they keep the demo recipe). */
  demo: boolean;
  report: DatasetReport | null;
  error: ApiError | null;
}

export interface DatasetSlice {
  dataset: DatasetState;
  /**
   * A newly chosen file. Pass its bytes as a promise while they are still being read: the recipe
   * is taken as it was when the file was chosen, so a value the user changes meanwhile stays theirs.
   */
  setDatasetFile: (file: DatasetFile | Promise<DatasetFile>) => Promise<void>;
  /**
   * Inspects the current file again (after a model loads: the mask preview and token statistics
   * need its tokenizer); dataDefaults: set the recipe's data-derived values from them.
   */
  reinspectDataset: (options?: { dataDefaults?: boolean }) => Promise<void>;
  /** One of the bundled demo datasets (public/datasets), fetched from this page's own server. */
  loadDemoDataset: (kind: 'sft' | 'dpo' | 'kto') => Promise<void>;
}

let inspection = 0;

interface Inspection {
  /** Take the method from the file (a newly chosen file); else check it against the recipe's. */
  detectMethod: boolean;
  demo: boolean;
  /** Set max length, epochs and checkpoints from the report's token statistics (not for the demo datasets). */
  dataDefaults: boolean;
  /** The recipe when the file was chosen (default: when the inspection starts). */
  recipeBefore?: RecipeValues;
}

export const createDatasetSlice: StateCreator<StudioState, [], [], DatasetSlice> = (set, get) => {
  async function inspect(file: DatasetFile, how: Inspection): Promise<void> {
    const ticket = ++inspection;
    const recipeBefore = how.recipeBefore ?? get().recipe;
    set({ dataset: { ...get().dataset, status: 'reading', file, demo: how.demo, error: null } });
    try {
      const maxLength = get().recipe.max_length;
      let report = await inspectDataset(file, how.detectMethod ? null : get().recipe.method, { maxLength });
      if (ticket !== inspection) return;
      // The file's format says which trainers can take it (messages/prompt-completion: SFT; pairs:
      // DPO, ORPO, SimPO, KTO, reward; prompt/completion/label: KTO). The chosen method stays when
      // it can (read again as that method: KTO counts a pair file's rows unpaired); else the
      // format's method is chosen.
      const current = get().recipe.method;
      if (report.method !== current && methodReads(current, METHOD_INFO[report.method].data)) {
        report = await inspectDataset(file, current, { maxLength });
        if (ticket !== inspection) return;
      }
      set({ dataset: { status: 'ready', file, demo: how.demo, report, error: null } });
      if (report.method !== get().recipe.method) get().switchMethod(report.method);
      if (how.demo) get().clearDataDefaults();
      else if (how.dataDefaults) get().applyDataDefaults(report, recipeBefore);
      // The truncation counts are for the max length the report was made with: redo them for a new one.
      if (get().recipe.max_length !== maxLength && report.tokenStats) await inspect(file, { ...how, detectMethod: false, dataDefaults: false });
    } catch (e) {
      if (ticket !== inspection) return;
      set({ dataset: { status: 'error', file, demo: how.demo, report: null, error: asProblem(e) } });
    }
  }

  return {
    dataset: { status: 'idle', file: null, demo: false, report: null, error: null },
    setDatasetFile: async (chosen) => {
      const recipeBefore = get().recipe;
      let file: DatasetFile;
      try {
        file = await chosen;
      } catch (e) {
        set({ dataset: { status: 'error', file: null, demo: false, report: null, error: asProblem(e) } });
        return;
      }
      await inspect(file, { detectMethod: true, demo: false, dataDefaults: true, recipeBefore });
    },
    reinspectDataset: async (options) => {
      const { file, demo } = get().dataset;
      if (file) await inspect(file, { detectMethod: false, demo, dataDefaults: options?.dataDefaults ?? false });
    },
    loadDemoDataset: async (kind) => {
      const name = `demo-${kind}.jsonl`;
      try {
        const response = await fetch(`datasets/${name}`);
        if (!response.ok) throw new Error(`the studio's server answered ${response.status} for datasets/${name}`);
        await inspect({ name, data: await response.arrayBuffer() }, { detectMethod: true, demo: true, dataDefaults: false });
      } catch (e) {
        set({ dataset: { status: 'error', file: null, demo: true, report: null, error: asProblem(e) } });
      }
    },
  };
};
