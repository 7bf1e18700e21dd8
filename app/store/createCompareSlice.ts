// Compare: one prompt answered by the base model, then by the fine-tuned adapter, streamed.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { generate } from '../engineClient.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface CompareState {
  status: 'idle' | 'base' | 'tuned' | 'done' | 'error';
  prompt: string;
  base: string;
  tuned: string;
  error: ApiError | null;
}

export interface CompareSlice {
  compare: CompareState;
  setComparePrompt: (prompt: string) => void;
  runCompare: () => Promise<void>;
}

const MAX_NEW_TOKENS = 48;

export const createCompareSlice: StateCreator<StudioState, [], [], CompareSlice> = (set, get) => {
  const patch = (p: Partial<CompareState>) => set({ compare: { ...get().compare, ...p } });
  return {
    compare: { status: 'idle', prompt: 'What is the capital of France?', base: '', tuned: '', error: null },
    setComparePrompt: (prompt) => patch({ prompt }),
    runCompare: async () => {
      const adapter = await get().currentAdapter();
      const prompt = get().compare.prompt.trim();
      if (!adapter || !prompt) return;
      patch({ status: 'base', base: '', tuned: '', error: null });
      try {
        // Greedy decoding, so the difference between the answers is the adapter's doing.
        const options = { maxNewTokens: MAX_NEW_TOKENS, temperature: 0, seed: 0 };
        const base = await generate(prompt, { ...options, adapter: null }, (text) => patch({ base: text }));
        patch({ base, status: 'tuned' });
        const tuned = await generate(prompt, { ...options, adapter: adapter.files }, (text) => patch({ tuned: text }));
        patch({ tuned, status: 'done' });
      } catch (e) {
        patch({ status: 'error', error: asProblem(e) });
      }
    },
  };
};
