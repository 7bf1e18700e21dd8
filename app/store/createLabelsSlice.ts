// The classroom's labels: kept in IndexedDB (write first, then state, so what is on screen
// survives a reload), edited, deleted, downloaded as DPO JSONL, and trained on.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { LABEL_TRAINING_RECIPE } from '../classroom/labelRecipe.ts';
import { dpoRows, oldestFirst, toJsonl, type LabelRecord, type PairVerdict } from '../classroom/labels.ts';
import { clearLabels, deleteLabel, listLabels, putLabels } from '../persistence/index.ts';
import { downloadText } from '../zip.ts';
import { generationsIdle } from './generationQueue.ts';
import { asProblem } from './problems.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import type { StudioState } from './index.ts';

export const LABELS_FILE = 'labels.jsonl';

export interface LabelsSlice {
  /** Oldest first. */
  labels: LabelRecord[];
  labelsStatus: 'idle' | 'loading' | 'ready' | 'error';
  labelsError: ApiError | null;
  /** The run "Train on my labels" started (its status shows in the Label panel). */
  labelRunId: string | null;
  loadLabels: () => Promise<void>;
  addLabels: (labels: LabelRecord[]) => Promise<void>;
  setVerdict: (id: string, verdict: PairVerdict) => Promise<void>;
  removeLabel: (id: string) => Promise<void>;
  removeAllLabels: () => Promise<void>;
  /** The DPO rows as `labels.jsonl` (what `whetstone train --method dpo` reads). */
  downloadLabels: () => void;
  /** Makes the labels the dataset, sets a DPO recipe for a few dozen pairs, and starts training. */
  trainOnLabels: (steps: number) => Promise<void>;
}

export function labelsFile(labels: readonly LabelRecord[]): { name: string; data: ArrayBuffer } {
  return { name: LABELS_FILE, data: new TextEncoder().encode(toJsonl(dpoRows(labels))).buffer as ArrayBuffer };
}

export const createLabelsSlice: StateCreator<StudioState, [], [], LabelsSlice> = (set, get) => {
  async function write(work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      return true;
    } catch (e) {
      set({ labelsError: asProblem(e) });
      return false;
    }
  }
  return {
    labels: [],
    labelsStatus: 'idle',
    labelsError: null,
    labelRunId: null,
    loadLabels: async () => {
      set({ labelsStatus: 'loading' });
      try {
        set({ labels: await listLabels(), labelsStatus: 'ready' });
      } catch (e) {
        set({ labelsStatus: 'error', labelsError: asProblem(e) });
      }
    },
    addLabels: async (labels) => {
      if (!(await write(() => putLabels(labels)))) return;
      const ids = new Set(labels.map((l) => l.id));
      set({ labels: oldestFirst([...get().labels.filter((l) => !ids.has(l.id)), ...labels]), labelsError: null });
    },
    setVerdict: async (id, verdict) => {
      const label = get().labels.find((l) => l.id === id);
      if (!label || label.kind !== 'pair' || label.verdict === verdict) return;
      const edited = { ...label, verdict };
      if (await write(() => putLabels([edited]))) set({ labels: get().labels.map((l) => (l.id === id ? edited : l)) });
    },
    removeLabel: async (id) => {
      if (await write(() => deleteLabel(id))) set({ labels: get().labels.filter((l) => l.id !== id) });
    },
    removeAllLabels: async () => {
      if (await write(() => clearLabels())) set({ labels: [] });
    },
    downloadLabels: () => {
      downloadText(toJsonl(dpoRows(get().labels)), LABELS_FILE, 'application/x-ndjson');
    },
    trainOnLabels: async (steps) => {
      const { labels, model } = get();
      if (model.status !== 'ready' || isTrainingActive(get().training.phase) || dpoRows(labels).length === 0) return;
      // Finish sampling first: a run and a generation must not use the model at once.
      get().stopLabelling();
      await generationsIdle();
      // The labels become the dataset (the Dataset panel shows and checks them like any file);
      // its format sets the method to DPO, then the classroom recipe sizes the run.
      await get().setDatasetFile(labelsFile(labels));
      if (get().dataset.status !== 'ready') return;
      get().setMethod('dpo');
      // The classroom recipe, not the defaults read off the file (their note would no longer hold).
      get().clearDataDefaults();
      get().setRecipe({ ...LABEL_TRAINING_RECIPE, max_steps: steps });
      const started = get().startTraining();
      set({ labelRunId: get().training.runId });
      await started;
    },
  };
};
