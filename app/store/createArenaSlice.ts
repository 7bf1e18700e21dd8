// Arena: a blind A/B test of two models on a prompt set. Every answer is generated first
// (greedy, so each model gives its own best answer), then shown left/right in a seeded random
// order per prompt; the judge sees neither name until the end, when the result and the
// per-prompt table are revealed.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { DEMO_PROMPTS, parsePromptList } from '../classroom/prompts.ts';
import { leftRightPlan } from '../classroom/random.ts';
import type { ArenaChoice } from '../classroom/winRate.ts';
import { datasetPrompts, generate } from '../engineClient.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import { queueGeneration } from './generationQueue.ts';
import { adapterOf, type ModelChoice } from './modelChoices.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export interface ArenaRound {
  prompt: string;
  /** Model A's (baseline) and model B's (challenger) answers. */
  answerA: string;
  answerB: string;
  /** B shown on the left. */
  bOnLeft: boolean;
  choice: ArenaChoice | null;
}

export interface ArenaSettings {
  /** Baseline (A) and challenger (B). */
  modelA: ModelChoice;
  modelB: ModelChoice | null;
  promptText: string;
  maxNewTokens: number;
}

export interface ArenaState extends ArenaSettings {
  status: 'idle' | 'generating' | 'judging' | 'done' | 'error';
  rounds: ArenaRound[];
  /** Answers generated so far (of 2 per prompt) while generating; the round being judged after. */
  progress: number;
  current: number;
  seed: number;
  error: ApiError | null;
}

export interface ArenaSlice {
  arena: ArenaState;
  setArena: (patch: Partial<ArenaSettings>) => void;
  useArenaDemoPrompts: () => void;
  useArenaDatasetPrompts: () => Promise<void>;
  startArena: () => Promise<void>;
  judgeArena: (choice: ArenaChoice) => void;
  resetArena: () => void;
}

const GREEDY = { temperature: 0, topP: 1, seed: 0 };

export const createArenaSlice: StateCreator<StudioState, [], [], ArenaSlice> = (set, get) => {
  const patch = (p: Partial<ArenaState>) => set({ arena: { ...get().arena, ...p } });
  return {
    arena: {
      modelA: 'base',
      modelB: null,
      promptText: DEMO_PROMPTS.slice(0, 10).join('\n'),
      maxNewTokens: 24,
      status: 'idle',
      rounds: [],
      progress: 0,
      current: 0,
      seed: 0,
      error: null,
    },
    setArena: (p) => patch(p),
    useArenaDemoPrompts: () => patch({ promptText: DEMO_PROMPTS.slice(0, 10).join('\n') }),
    useArenaDatasetPrompts: async () => {
      const file = get().dataset.file;
      if (!file) return;
      try {
        const prompts = await datasetPrompts(file, 10);
        if (prompts.length > 0) patch({ promptText: prompts.join('\n'), error: null });
      } catch (e) {
        patch({ error: asProblem(e) });
      }
    },
    startArena: async () => {
      const a = get().arena;
      const prompts = parsePromptList(a.promptText);
      if (!a.modelB || a.modelA === a.modelB || prompts.length === 0 || get().model.status !== 'ready' || isTrainingActive(get().training.phase)) return;
      const seed = Math.floor(Math.random() * 2 ** 31);
      const plan = leftRightPlan(prompts.length, seed);
      patch({ status: 'generating', rounds: [], progress: 0, current: 0, seed, error: null });
      try {
        const [adapterA, adapterB] = [await adapterOf(get(), a.modelA), await adapterOf(get(), a.modelB)];
        const answer = (prompt: string, adapter: Record<string, ArrayBuffer> | null) =>
          queueGeneration(() => generate(prompt, { ...GREEDY, maxNewTokens: a.maxNewTokens, adapter }, () => {}));
        const rounds: ArenaRound[] = [];
        for (const [i, prompt] of prompts.entries()) {
          const answerA = await answer(prompt, adapterA);
          patch({ progress: 2 * i + 1 });
          const answerB = await answer(prompt, adapterB);
          patch({ progress: 2 * i + 2 });
          rounds.push({ prompt, answerA, answerB, bOnLeft: plan[i], choice: null });
        }
        patch({ status: 'judging', rounds, current: 0 });
      } catch (e) {
        patch({ status: 'error', error: asProblem(e) });
      }
    },
    judgeArena: (choice) => {
      const a = get().arena;
      if (a.status !== 'judging' || a.current >= a.rounds.length) return;
      const rounds = a.rounds.map((r, i) => (i === a.current ? { ...r, choice } : r));
      const current = a.current + 1;
      patch({ rounds, current, status: current >= rounds.length ? 'done' : 'judging' });
    },
    resetArena: () => patch({ status: 'idle', rounds: [], progress: 0, current: 0, error: null }),
  };
};
