// The classroom's labels: kept in IndexedDB (write first, then state, so what is on screen
// survives a reload), edited, deleted, downloaded as the JSONL they train on (DPO pairs, or KTO
// rows once there are thumbs: app/classroom/labelRecipe.ts), and trained on.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { labelTrainingPlan } from '../classroom/labelRecipe.ts';
import { oldestFirst, type LabelRecord, type PairVerdict } from '../classroom/labels.ts';
import { clearLabels, deleteLabel, listLabels, putLabels } from '../persistence/index.ts';
import { downloadText } from '../zip.ts';
import { generationsIdle } from './generationQueue.ts';
import { asProblem } from './problems.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import type { StudioState } from './index.ts';
import type { RecipeValues } from '../recipe.ts';

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
  /** A thumb label's rating: up (true) or down. */
  setThumb: (id: string, up: boolean) => Promise<void>;
  removeLabel: (id: string) => Promise<void>;
  removeAllLabels: () => Promise<void>;
  /** The training rows: `labels.jsonl` (DPO pairs) or `labels-kto.jsonl` (KTO rows), which `whetstone train` reads as is. */
  downloadLabels: () => void;
  /** Makes the labels the dataset, sets the label recipe (DPO, or KTO with thumbs), and starts training. */
  trainOnLabels: (steps: number) => Promise<void>;
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
    setThumb: async (id, up) => {
      const label = get().labels.find((l) => l.id === id);
      if (!label || label.kind !== 'thumb' || label.label === up) return;
      const edited = { ...label, label: up };
      if (await write(() => putLabels([edited]))) set({ labels: get().labels.map((l) => (l.id === id ? edited : l)) });
    },
    removeLabel: async (id) => {
      if (await write(() => deleteLabel(id))) set({ labels: get().labels.filter((l) => l.id !== id) });
    },
    removeAllLabels: async () => {
      if (await write(() => clearLabels())) set({ labels: [] });
    },
    downloadLabels: () => {
      const plan = labelTrainingPlan(get().labels);
      downloadText(plan.text, plan.fileName, 'application/x-ndjson');
    },
    trainOnLabels: async (steps) => {
      const { labels, model } = get();
      const plan = labelTrainingPlan(labels);
      if (model.status !== 'ready' || isTrainingActive(get().training.phase) || plan.blocked) return;
      // Finish sampling first (the engine also makes a run wait for a generation in flight).
      get().stopLabelling();
      await generationsIdle();
      // The labels become the dataset (the Dataset panel shows and checks them like any file);
      // its format sets the method (pairs: DPO, unpaired rows: KTO), then the label recipe sizes the run.
      await get().setDatasetFile({ name: plan.fileName, data: new TextEncoder().encode(plan.text).buffer as ArrayBuffer });
      if (get().dataset.status !== 'ready') return;
      get().setMethod(plan.method);
      // The classroom recipe, not the defaults read off the file (their note would no longer hold).
      get().clearDataDefaults();
      get().setRecipe({ ...(plan.recipe as Partial<RecipeValues>), max_steps: steps });
      const started = get().startTraining();
      set({ labelRunId: get().training.runId });
      await started;
    },
  };
};
