// "What changed": after a run, the same fixed prompts answered by the base model and by the
// model with the run's adapter, greedy, so the difference is the training's doing. A run that
// starts meanwhile ends it quietly (its next answer is not asked for; the engine would refuse it).
// A reward model writes no answers: its runs have nothing to show here.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { WHAT_CHANGED_PROMPTS } from '../classroom/prompts.ts';
import { generate } from '../engineClient.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import { GenerationSkipped, queueGeneration } from './generationQueue.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface WhatChangedRow {
  prompt: string;
  before: string | null;
  after: string | null;
}

export interface WhatChangedState {
  runId: string | null;
  status: 'idle' | 'generating' | 'done' | 'error';
  rows: WhatChangedRow[];
  error: ApiError | null;
  maxNewTokens: number;
}

export interface WhatChangedSlice {
  whatChanged: WhatChangedState;
  /** Answers the fixed prompts before (base) and after (this session's finished run). */
  showWhatChanged: () => Promise<void>;
  setWhatChangedTokens: (n: number) => void;
}

export const createWhatChangedSlice: StateCreator<StudioState, [], [], WhatChangedSlice> = (set, get) => {
  const patch = (p: Partial<WhatChangedState>) => set({ whatChanged: { ...get().whatChanged, ...p } });
  // The base model's answers do not change between runs: keep them per model.
  const beforeCache = new Map<string, string>();
  return {
    whatChanged: { runId: null, status: 'idle', rows: [], error: null, maxNewTokens: 24 },
    setWhatChangedTokens: (maxNewTokens) => patch({ maxNewTokens }),
    showWhatChanged: async () => {
      const { training, model } = get();
      if (!training.adapter || !training.runId || training.method === 'reward' || model.status !== 'ready' || get().whatChanged.status === 'generating') return;
      const runId = training.runId;
      const adapter = training.adapter;
      const rows: WhatChangedRow[] = WHAT_CHANGED_PROMPTS.map((prompt) => ({ prompt, before: null, after: null }));
      const maxNewTokens = get().whatChanged.maxNewTokens;
      set({ whatChanged: { runId, status: 'generating', rows, error: null, maxNewTokens } });
      const options = { maxNewTokens, temperature: 0, seed: 0 };
      const answer = (prompt: string, adapter: Record<string, ArrayBuffer> | null) =>
        queueGeneration(() => {
          if (isTrainingActive(get().training.phase)) throw new GenerationSkipped();
          return generate(prompt, { ...options, adapter }, () => {});
        });
      const update = (i: number, p: Partial<WhatChangedRow>) => {
        if (get().whatChanged.runId === runId) patch({ rows: get().whatChanged.rows.map((r, j) => (j === i ? { ...r, ...p } : r)) });
      };
      try {
        for (const [i, { prompt }] of rows.entries()) {
          const key = `${model.info?.name}\n${maxNewTokens}\n${prompt}`;
          const before = beforeCache.get(key) ?? (await answer(prompt, null));
          beforeCache.set(key, before);
          update(i, { before });
          update(i, { after: await answer(prompt, adapter) });
        }
        if (get().whatChanged.runId === runId) patch({ status: 'done' });
      } catch (e) {
        if (get().whatChanged.runId !== runId) return;
        // Skipped for a new run: the panel is shown again when that one finishes.
        if (e instanceof GenerationSkipped) set({ whatChanged: { ...get().whatChanged, runId: null, status: 'idle', rows: [] } });
        else patch({ status: 'error', error: asProblem(e) });
      }
    },
  };
};
