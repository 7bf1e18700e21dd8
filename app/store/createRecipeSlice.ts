// The recipe being edited (TRL names) and the engine's memory estimate for it on this device.
import type { StateCreator } from 'zustand';
import type { DatasetReport, Method, MemoryEstimate, ModelInfo } from '../../engine/api/contract.ts';
import type { ApiError } from '../../engine/api/types.ts';
import { estimateMemory } from '../engineClient.ts';
import { dataDefaults } from '../dataDefaults.ts';
import { defaultLearningRate, defaultLoadIn4bit, defaultRecipe, recipeJson, sizeClass, type RecipeValues } from '../recipe.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface MemoryState {
  status: 'idle' | 'estimating' | 'ready' | 'error';
  estimate: MemoryEstimate | null;
  error: ApiError | null;
}

export interface RecipeSlice {
  recipe: RecipeValues;
  /** Why max length, epochs and checkpoints are what they are, when a dropped dataset set them. */
  dataNote: string | null;
  memory: MemoryState;
  setRecipe: (patch: Partial<RecipeValues>) => void;
  replaceRecipe: (recipe: RecipeValues) => void;
  /** The Method menu: switches the method (with the learning rate that suits it and the model size) and reads the dataset again as that method. */
  setMethod: (method: Method) => void;
  /** Switches the method without reading the dataset again (the dataset slice, after reading it). */
  switchMethod: (method: Method) => void;
  /** Defaults that suit a newly loaded model (the method stays). */
  applyModelDefaults: (info: ModelInfo) => void;
  /**
   * Defaults read off a dropped dataset's token statistics (app/dataDefaults.ts); no-op without
   * them. `before`: the recipe when the file was chosen — a value the user changed since (while
   * the file was being read) is theirs and stays.
   */
  applyDataDefaults: (report: DatasetReport, before: RecipeValues) => void;
  /** Back to the model's defaults for what a dataset had set (the demo datasets keep the demo recipe). */
  clearDataDefaults: () => void;
  refreshEstimate: () => Promise<void>;
}

let estimation = 0;
/** A model was just loaded with its defaults: the first estimate decides load_in_4bit (defaultLoadIn4bit) unless the user set it first. */
let fourBitDefaultPending = false;

export const createRecipeSlice: StateCreator<StudioState, [], [], RecipeSlice> = (set, get) => ({
  recipe: defaultRecipe('demo'),
  dataNote: null,
  memory: { status: 'idle', estimate: null, error: null },
  setRecipe: (patch) => {
    if ('load_in_4bit' in patch) fourBitDefaultPending = false;
    set({ recipe: { ...get().recipe, ...patch } });
  },
  replaceRecipe: (recipe) => {
    fourBitDefaultPending = false;
    set({ recipe });
  },
  setMethod: (method) => {
    get().switchMethod(method);
    void get().reinspectDataset();
  },
  switchMethod: (method) => {
    const size = sizeClass(get().model.info);
    set({ recipe: { ...get().recipe, method, learning_rate: defaultLearningRate(size, method) } });
  },
  applyModelDefaults: (info) => {
    const { method, skip_invalid_rows } = get().recipe;
    fourBitDefaultPending = true;
    set({ recipe: { ...defaultRecipe(sizeClass(info), method), skip_invalid_rows }, dataNote: null });
  },
  applyDataDefaults: (report, before) => {
    if (!report.tokenStats || report.rows === 0) return;
    const context = get().model.info?.maxPositionEmbeddings ?? null;
    const recipe = get().recipe;
    const { patch, note } = dataDefaults({ rows: report.rows, p95: report.tokenStats.p95 }, context, recipe, report.countLabel);
    const untouched = Object.fromEntries(Object.entries(patch).filter(([k]) => recipe[k as keyof RecipeValues] === before[k as keyof RecipeValues]));
    set({ recipe: { ...recipe, ...untouched }, dataNote: note });
  },
  clearDataDefaults: () => {
    if (get().dataNote === null) return;
    const size = defaultRecipe(sizeClass(get().model.info), get().recipe.method);
    const { max_length, max_steps, num_train_epochs, save_steps } = size;
    set({ recipe: { ...get().recipe, max_length, max_steps, num_train_epochs, save_steps }, dataNote: null });
  },
  refreshEstimate: async () => {
    if (get().model.status !== 'ready') {
      set({ memory: { status: 'idle', estimate: null, error: null } });
      return;
    }
    const ticket = ++estimation;
    set({ memory: { ...get().memory, status: 'estimating' } });
    try {
      const estimate = await estimateMemory(recipeJson(get().recipe));
      if (ticket !== estimation) return;
      set({ memory: { status: 'ready', estimate, error: null } });
      if (fourBitDefaultPending) {
        fourBitDefaultPending = false;
        const on = defaultLoadIn4bit(estimate.bases);
        if (on !== get().recipe.load_in_4bit) set({ recipe: { ...get().recipe, load_in_4bit: on } }); // re-estimated by MemoryEstimateView
      }
    } catch (e) {
      if (ticket === estimation) set({ memory: { status: 'error', estimate: null, error: asProblem(e) } });
    }
  },
});
