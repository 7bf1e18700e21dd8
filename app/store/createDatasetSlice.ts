// The training file: its bytes (kept in the page for training and for the run record) and the
// engine's report on it (format, row count, per-row errors, preview, loss mask).
import type { StateCreator } from 'zustand';
import type { DatasetReport } from '../../engine/api/contract.ts';
import type { ApiError } from '../../engine/api/types.ts';
import { methodReads, methodRows } from '../../engine/recipe/methods.ts';
import { inspectDataset } from '../engineClient.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface DatasetFile {
  name: string;
  data: ArrayBuffer;
}

export interface DatasetState {
  status: 'idle' | 'reading' | 'ready' | 'error';
  file: DatasetFile | null;
  report: DatasetReport | null;
  error: ApiError | null;
}

export interface DatasetSlice {
  dataset: DatasetState;
  setDatasetFile: (file: DatasetFile) => Promise<void>;
  /** Inspects the current file again (after a model loads: the mask preview needs its tokenizer). */
  reinspectDataset: () => Promise<void>;
  /** One of the bundled demo datasets (public/datasets), fetched from this page's own server. */
  loadDemoDataset: (kind: 'sft' | 'dpo' | 'kto') => Promise<void>;
}

let inspection = 0;

export const createDatasetSlice: StateCreator<StudioState, [], [], DatasetSlice> = (set, get) => {
  async function inspect(file: DatasetFile, detectMethod: boolean): Promise<void> {
    const ticket = ++inspection;
    set({ dataset: { ...get().dataset, status: 'reading', file, error: null } });
    try {
      const options = { maxLength: get().recipe.max_length };
      let report = await inspectDataset(file, detectMethod ? null : get().recipe.method, options);
      if (ticket !== inspection) return;
      // The file's format says which trainers can take it (messages/prompt-completion: SFT; pairs:
      // DPO, ORPO, SimPO, KTO, reward; prompt/completion/label: KTO). The chosen method stays when
      // it can (read again as that method: KTO counts a pair file's rows unpaired); else the
      // format's method is chosen.
      const current = get().recipe.method;
      if (report.method !== current && methodReads(current, methodRows(report.method))) {
        report = await inspectDataset(file, current, options);
        if (ticket !== inspection) return;
      }
      set({ dataset: { status: 'ready', file, report, error: null } });
      if (report.method !== get().recipe.method) get().switchMethod(report.method);
    } catch (e) {
      if (ticket !== inspection) return;
      set({ dataset: { status: 'error', file, report: null, error: asProblem(e) } });
    }
  }

  return {
    dataset: { status: 'idle', file: null, report: null, error: null },
    setDatasetFile: (file) => inspect(file, true),
    reinspectDataset: async () => {
      const file = get().dataset.file;
      if (file) await inspect(file, false);
    },
    loadDemoDataset: async (kind) => {
      const name = `demo-${kind}.jsonl`;
      try {
        const response = await fetch(`datasets/${name}`);
        if (!response.ok) throw new Error(`the studio's server answered ${response.status} for datasets/${name}`);
        await inspect({ name, data: await response.arrayBuffer() }, true);
      } catch (e) {
        set({ dataset: { status: 'error', file: null, report: null, error: asProblem(e) } });
      }
    },
  };
};
