// The base model: which one, its loading progress, and what it is (parameters, layers,
// vocabulary). A hub access token lives here, in memory only: it is never stored or logged.
import type { StateCreator } from 'zustand';
import type { ModelInfo, ModelSource } from '../../engine/api/contract.ts';
import type { ApiError, ProgressEvent } from '../../engine/api/types.ts';
import { loadModel } from '../engineClient.ts';
import type { StoredModelSource } from '../persistence/index.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface ModelState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  info: ModelInfo | null;
  /** The loaded (or loading) model's source, without its token: what a run record keeps. */
  source: StoredModelSource | null;
  progress: ProgressEvent | null;
  error: ApiError | null;
}

export interface ModelSlice {
  model: ModelState;
  /** Hugging Face access token for gated models: memory only. */
  hubToken: string;
  setHubToken: (token: string) => void;
  /** keepRecipe: a resumed run brings its own recipe; otherwise the model's size sets the defaults. */
  loadModel: (source: ModelSource, options?: { keepRecipe?: boolean }) => Promise<boolean>;
  /** Loads a stored source again (resume after a reload or a lost device); false if it cannot. */
  reloadModel: (source: StoredModelSource) => Promise<boolean>;
}

export function storedSource(source: ModelSource): StoredModelSource {
  if (source.kind === 'hub') return { kind: 'hub', repo: source.repo, ...(source.revision ? { revision: source.revision } : {}) };
  if (source.kind === 'files') return { kind: 'files', name: source.name };
  return { kind: 'demo' };
}

export function sourceLabel(source: StoredModelSource): string {
  return source.kind === 'demo' ? 'public/models/demo' : source.kind === 'hub' ? source.repo : source.name;
}

export const createModelSlice: StateCreator<StudioState, [], [], ModelSlice> = (set, get) => ({
  model: { status: 'idle', info: null, source: null, progress: null, error: null },
  hubToken: '',
  setHubToken: (token) => set({ hubToken: token }),
  loadModel: async (source, options) => {
    const stored = storedSource(source);
    set({ model: { status: 'loading', info: null, source: stored, progress: null, error: null } });
    try {
      const info = await loadModel(source, (progress) => {
        if (get().model.status === 'loading') set({ model: { ...get().model, progress } });
      });
      set({ model: { status: 'ready', info, source: stored, progress: null, error: null } });
      if (!options?.keepRecipe) get().applyModelDefaults(info);
      // The model's tokenizer gives the token statistics: the recipe's data defaults follow (unless the recipe is kept).
      void get().reinspectDataset({ dataDefaults: !options?.keepRecipe });
      return true;
    } catch (e) {
      set({ model: { status: 'error', info: null, source: stored, progress: null, error: asProblem(e) } });
      return false;
    }
  },
  reloadModel: async (source) => {
    if (source.kind === 'files') return false;
    const token = get().hubToken.trim();
    return get().loadModel(source.kind === 'hub' ? { ...source, ...(token ? { token } : {}) } : source, { keepRecipe: true });
  },
});
