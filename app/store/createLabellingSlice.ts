// Labelling: the current A/B pair — two answers to one prompt from the chosen model, sampled with
// different seeds (two plain `generate` calls), streamed side by side — or, labelling by thumbs,
// one answer (in `a`). A verdict (or a thumb) saves a label and samples the next prompt. A run
// that starts meanwhile (from any panel) ends the sampling quietly: its next answer is not asked for.
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { isTrainable, newLabelId, type PairLabel, type PairVerdict, type SamplingRecord, type ThumbLabel } from '../classroom/labels.ts';
import { DEMO_PROMPTS, parsePromptList } from '../classroom/prompts.ts';
import { datasetPrompts, generate } from '../engineClient.ts';
import { isTrainingActive } from './createTrainingSlice.ts';
import { GenerationSkipped, queueGeneration } from './generationQueue.ts';
import { adapterOf, type ModelChoice } from './modelChoices.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

/** Label by pairs (pick the better of two answers: DPO) or by thumbs (rate one answer: KTO). */
export type LabelMode = 'pair' | 'thumb';

export interface LabellingSettings {
  mode: LabelMode;
  /** One prompt per line. */
  promptText: string;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  /** Which model answers: the base model or a finished run's adapter. */
  source: ModelChoice;
}

export interface LabellingState extends LabellingSettings {
  status: 'idle' | 'sampling' | 'ready' | 'error';
  /** Index into the prompt list of the pair on screen (wraps around). */
  index: number;
  prompt: string;
  /** Answer A (the one answer, labelling by thumbs). */
  a: string;
  b: string;
  samplingA: SamplingRecord | null;
  samplingB: SamplingRecord | null;
  error: ApiError | null;
}

export interface LabellingSlice {
  labelling: LabellingState;
  setLabelling: (patch: Partial<LabellingSettings>) => void;
  useDemoPrompts: () => void;
  /** The loaded dataset's prompts (its first rows, any format). */
  useDatasetPrompts: () => Promise<void>;
  /** Samples A and B for the current prompt. */
  samplePair: () => Promise<void>;
  /** Saves the verdict on the pair on screen and samples the next prompt. */
  judgePair: (verdict: PairVerdict) => Promise<void>;
  /** Saves thumbs up (true) or down on the answer on screen and samples the next prompt. */
  judgeThumb: (up: boolean) => Promise<void>;
  /** Moves on without a label. */
  skipPair: () => Promise<void>;
  /** Drops the pair on screen (its sampling finishes unseen). */
  stopLabelling: () => void;
}

/** Times an answer is sampled again when it came out empty (or, for B, the same as A). */
const RESAMPLE = 3;

export const createLabellingSlice: StateCreator<StudioState, [], [], LabellingSlice> = (set, get) => {
  const patch = (p: Partial<LabellingState>) => set({ labelling: { ...get().labelling, ...p } });
  // Seeds differ per page visit, so a reload shows new pairs; each label keeps its own seeds.
  let nextSeed = Math.floor(Math.random() * 1e6) * 16;
  let ticket = 0;

  async function sampleAt(index: number): Promise<void> {
    const l = get().labelling;
    const prompts = parsePromptList(l.promptText);
    if (prompts.length === 0 || get().model.status !== 'ready' || isTrainingActive(get().training.phase)) return;
    const mine = ++ticket;
    const prompt = prompts[index % prompts.length];
    patch({ status: 'sampling', index: index % prompts.length, prompt, a: '', b: '', samplingA: null, samplingB: null, error: null });
    try {
      const adapter = await adapterOf(get(), l.source);
      const base = { temperature: l.temperature, topP: l.topP, maxNewTokens: l.maxNewTokens };
      // Checked when its turn in the queue comes: an answer nobody will see (the pair was left,
      // or a run started) is not asked for.
      const sample = (seed: number, side: 'a' | 'b') =>
        queueGeneration(() => {
          if (mine !== ticket || isTrainingActive(get().training.phase)) throw new GenerationSkipped();
          return generate(prompt, { ...base, seed, adapter }, (text) => {
            if (mine === ticket) patch({ [side]: text });
          });
        });
      // An empty answer cannot be a training row, and two equal answers teach nothing: with
      // sampling on, such an answer is drawn again (a few times) with a new seed.
      const draw = async (side: 'a' | 'b', other: string | null) => {
        let sampling = { ...base, seed: nextSeed++ };
        let text = await sample(sampling.seed, side);
        for (let i = 0; i < RESAMPLE && l.temperature > 0 && (!isTrainable(text) || text === other); i++) {
          sampling = { ...base, seed: nextSeed++ };
          text = await sample(sampling.seed, side);
        }
        return { text, sampling };
      };
      const { text: a, sampling: samplingA } = await draw('a', null);
      if (l.mode === 'thumb') {
        if (mine === ticket) patch({ status: 'ready', a, samplingA });
        return;
      }
      const { text: b, sampling: samplingB } = await draw('b', a);
      if (mine === ticket) patch({ status: 'ready', a, b, samplingA, samplingB });
    } catch (e) {
      if (mine !== ticket) return;
      if (e instanceof GenerationSkipped) patch({ status: 'idle', prompt: '', a: '', b: '', samplingA: null, samplingB: null });
      else patch({ status: 'error', error: asProblem(e) });
    }
  }

  /** Saves a label made of the answer(s) on screen, then samples the next prompt. */
  async function keep(make: (l: LabellingState, common: Pick<PairLabel, 'id' | 'createdAt' | 'prompt' | 'model' | 'adapterRunId'>) => PairLabel | ThumbLabel | null): Promise<void> {
    const l = get().labelling;
    if (l.status !== 'ready') return;
    const label = make(l, { id: newLabelId(), createdAt: Date.now(), prompt: l.prompt, model: get().model.info?.name ?? 'unknown', adapterRunId: l.source === 'base' ? null : l.source });
    if (!label) return;
    patch({ status: 'idle' }); // no second verdict on the same answers
    await get().addLabels([label]);
    await sampleAt(l.index + 1);
  }

  return {
    labelling: {
      mode: 'pair',
      promptText: DEMO_PROMPTS.join('\n'),
      temperature: 1,
      topP: 0.95,
      maxNewTokens: 24,
      source: 'base',
      status: 'idle',
      index: 0,
      prompt: '',
      a: '',
      b: '',
      samplingA: null,
      samplingB: null,
      error: null,
    },
    setLabelling: (p) => {
      // Another mode shows other buttons: the answers on screen are dropped.
      if (p.mode && p.mode !== get().labelling.mode) get().stopLabelling();
      patch(p);
    },
    useDemoPrompts: () => patch({ promptText: DEMO_PROMPTS.join('\n'), index: 0 }),
    useDatasetPrompts: async () => {
      const file = get().dataset.file;
      if (!file) return;
      try {
        const prompts = await datasetPrompts(file);
        if (prompts.length > 0) patch({ promptText: prompts.join('\n'), index: 0, error: null });
      } catch (e) {
        patch({ error: asProblem(e) });
      }
    },
    samplePair: () => sampleAt(get().labelling.index),
    judgePair: (verdict) =>
      keep((l, common) => (l.mode !== 'pair' || !l.samplingA || !l.samplingB ? null : { ...common, kind: 'pair', a: l.a, b: l.b, verdict, samplingA: l.samplingA, samplingB: l.samplingB })),
    judgeThumb: (up) => keep((l, common) => (l.mode !== 'thumb' || !l.samplingA ? null : { ...common, kind: 'thumb', completion: l.a, label: up, sampling: l.samplingA })),
    skipPair: () => sampleAt(get().labelling.index + 1),
    stopLabelling: () => {
      ticket++;
      patch({ status: 'idle', prompt: '', a: '', b: '', samplingA: null, samplingB: null });
    },
  };
};
