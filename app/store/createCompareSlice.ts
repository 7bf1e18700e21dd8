// Compare: one prompt answered by the base model, then by the fine-tuned adapter, streamed; with
// best-of-N, the adapter samples N answers that a reward model (a finished reward run) scores,
// and the best is marked.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { bestOfN, generate } from '../engineClient.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface Candidate {
  text: string;
  /** null until the reward model has scored it. */
  reward: number | null;
}

export interface CompareState {
  status: 'idle' | 'base' | 'tuned' | 'done' | 'error';
  prompt: string;
  base: string;
  tuned: string;
  /** Answers to sample for best-of-N (1 = off: one greedy answer). */
  bestOf: number;
  /** The reward run whose adapter scores the N answers. */
  rewardRunId: string | null;
  candidates: Candidate[];
  best: number | null;
  error: ApiError | null;
}

export interface CompareSlice {
  compare: CompareState;
  setComparePrompt: (prompt: string) => void;
  setBestOf: (n: number, rewardRunId: string | null) => void;
  runCompare: () => Promise<void>;
}

const MAX_NEW_TOKENS = 48;
/** Sampling for best-of-N (greedy answers would all be the same). */
const BEST_OF_TEMPERATURE = 1;

export const createCompareSlice: StateCreator<StudioState, [], [], CompareSlice> = (set, get) => {
  const patch = (p: Partial<CompareState>) => set({ compare: { ...get().compare, ...p } });
  return {
    compare: { status: 'idle', prompt: 'What is the capital of France?', base: '', tuned: '', bestOf: 1, rewardRunId: null, candidates: [], best: null, error: null },
    setComparePrompt: (prompt) => patch({ prompt }),
    setBestOf: (bestOf, rewardRunId) => patch({ bestOf, rewardRunId }),
    runCompare: async () => {
      const adapter = await get().currentAdapter();
      const { prompt: raw, bestOf, rewardRunId } = get().compare;
      const prompt = raw.trim();
      if (!adapter || !prompt) return;
      patch({ status: 'base', base: '', tuned: '', candidates: [], best: null, error: null });
      try {
        // Greedy decoding, so the difference between the answers is the adapter's doing.
        const options = { maxNewTokens: MAX_NEW_TOKENS, temperature: 0, seed: 0 };
        const base = await generate(prompt, { ...options, adapter: null }, (text) => patch({ base: text }));
        patch({ base, status: 'tuned' });
        const reward = bestOf > 1 && rewardRunId ? await get().runAdapter(rewardRunId) : null;
        if (bestOf > 1 && rewardRunId && !reward) throw new Error('The reward run has no finished adapter');
        if (reward) {
          const found = await bestOfN(prompt, { ...options, temperature: BEST_OF_TEMPERATURE, adapter: adapter.files, rewardAdapter: reward.files, n: bestOf }, (i, text) =>
            patch({ candidates: [...get().compare.candidates.slice(0, i), { text, reward: null }] }),
          );
          patch({ candidates: found.candidates, best: found.best, tuned: found.candidates[found.best].text, status: 'done' });
          return;
        }
        const tuned = await generate(prompt, { ...options, adapter: adapter.files }, (text) => patch({ tuned: text }));
        patch({ tuned, status: 'done' });
      } catch (e) {
        patch({ status: 'error', error: asProblem(e) });
      }
    },
  };
};
