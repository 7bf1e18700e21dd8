// Lessons: pack the model choice, the recipe and the labels (or a small dataset) into a link or
// a .whetstone.json file; open one (from the page's #fragment or a dropped file), which loads the
// model, the recipe and the data and then waits for one press of "Start training".
import type { StateCreator } from 'zustand';
import type { ApiError } from '../../engine/api/types.ts';
import { LABEL_TRAINING_RECIPE, LABEL_TRAINING_STEPS } from '../classroom/labelRecipe.ts';
import { isPair } from '../classroom/labels.ts';
import { lessonDatasetFile, lessonFileName, lessonFileText, lessonFromHash, lessonLabelRecords, lessonLink, lessonPairs, LessonError, parseLessonFile, type Lesson } from '../classroom/lesson.ts';
import { parseRecipeJson, recipeJson } from '../recipe.ts';
import { downloadText } from '../zip.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export type LessonContent = 'labels' | 'dataset';

export interface LessonShareState {
  title: string;
  content: LessonContent;
  /** The link made by "Share lesson" (null before, or when too long for a link). */
  link: string | null;
  tooLong: boolean;
  error: ApiError | null;
}

export interface OpenedLessonState {
  status: 'idle' | 'restoring' | 'ready' | 'error';
  lesson: Lesson | null;
  from: 'link' | 'file' | null;
  error: ApiError | null;
}

export interface LessonSlice {
  lessonShare: LessonShareState;
  openedLesson: OpenedLessonState;
  setLessonShare: (patch: Partial<Pick<LessonShareState, 'title' | 'content'>>) => void;
  shareLesson: () => void;
  saveLessonFile: () => void;
  /** Opens the lesson in location.hash, if any (then removes it from the address). */
  openLessonFromPage: () => Promise<void>;
  openLessonFile: (file: { name: string; text: string }) => Promise<void>;
}

const DATASET_TEXT = /\.(jsonl|ndjson|json|csv)$/i;

function problem(e: unknown): ApiError {
  return e instanceof LessonError ? { name: e.name, message: e.message, hint: e.hint } : asProblem(e);
}

export const createLessonSlice: StateCreator<StudioState, [], [], LessonSlice> = (set, get) => {
  const share = (p: Partial<LessonShareState>) => set({ lessonShare: { ...get().lessonShare, ...p } });
  const opened = (p: Partial<OpenedLessonState>) => set({ openedLesson: { ...get().openedLesson, ...p } });

  /** The lesson the page would share now; throws LessonError saying what is missing. */
  function currentLesson(): Lesson {
    const { model, recipe, labels, dataset, lessonShare } = get();
    if (model.status !== 'ready' || !model.source) throw new LessonError('Load a model first: a lesson names the model to train.', 'Choose a model in the Model panel.');
    if (model.source.kind === 'files') {
      throw new LessonError('A model from a folder on this computer cannot travel in a lesson.', 'Use the demo model or a Hugging Face model, which students can load too.');
    }
    const modelRef = model.source.kind === 'demo' ? { kind: 'demo' as const } : { kind: 'hub' as const, repo: model.source.repo, ...(model.source.revision ? { revision: model.source.revision } : {}) };
    const base = { format: 'whetstone-lesson' as const, version: 1 as const, title: lessonShare.title.trim(), model: modelRef };
    if (lessonShare.content === 'labels') {
      const pairs = lessonPairs(labels);
      if (pairs.length === 0) throw new LessonError('There are no labels to share yet.', 'Label a few pairs in the Label panel, or share the dataset instead.');
      // Labels train with DPO: the current recipe if it is one, else the classroom's label recipe.
      const dpo = recipe.method === 'dpo' ? recipeJson(recipe) : { ...recipeJson(recipe), method: 'dpo', loss_type: 'sigmoid', ...LABEL_TRAINING_RECIPE, max_steps: LABEL_TRAINING_STEPS };
      return { ...base, recipe: dpo, data: { kind: 'labels', labels: pairs } };
    }
    const file = dataset.file;
    if (!file) throw new LessonError('There is no dataset to share.', 'Choose a dataset in the Dataset panel, or share your labels instead.');
    if (!DATASET_TEXT.test(file.name)) throw new LessonError(`${file.name} is not a text dataset; a lesson carries JSONL, JSON or CSV.`, 'Save the dataset as JSONL and choose that file.');
    return { ...base, recipe: recipeJson(recipe), data: { kind: 'dataset', name: file.name, text: new TextDecoder().decode(file.data) } };
  }

  async function openLesson(lesson: Lesson, from: 'link' | 'file'): Promise<void> {
    set({ openedLesson: { status: 'restoring', lesson, from, error: null } });
    const loaded = await get().loadModel(lesson.model.kind === 'demo' ? { kind: 'demo' } : { ...lesson.model }, { keepRecipe: true });
    if (!loaded) {
      opened({ status: 'error', error: get().model.error ?? { name: 'ModelLoadFailed', message: 'The lesson\'s model could not be loaded', hint: 'Check the network, then open the lesson again.' } });
      return;
    }
    const file = lessonDatasetFile(lesson);
    await get().setDatasetFile({ name: file.name, data: new TextEncoder().encode(file.text).buffer as ArrayBuffer });
    try {
      get().clearDataDefaults(); // the lesson's recipe, not defaults read off its data
      get().replaceRecipe(parseRecipeJson(JSON.stringify(lesson.recipe)));
    } catch (e) {
      opened({ status: 'error', error: { name: 'LessonError', message: `The lesson's recipe cannot be used: ${(e as Error).message}`, hint: 'Ask for the lesson again.' } });
      return;
    }
    const labels = lessonLabelRecords(lesson, get().model.info?.name ?? 'lesson');
    if (labels.length > 0) await get().addLabels(labels);
    if (get().dataset.status !== 'ready') {
      opened({ status: 'error', error: get().dataset.error ?? { name: 'LessonError', message: 'The lesson\'s data could not be read', hint: 'Ask for the lesson again.' } });
      return;
    }
    opened({ status: 'ready' });
  }

  return {
    lessonShare: { title: '', content: 'labels', link: null, tooLong: false, error: null },
    openedLesson: { status: 'idle', lesson: null, from: null, error: null },
    setLessonShare: (p) => share({ ...p, link: null, tooLong: false, error: null }),
    shareLesson: () => {
      try {
        const { url, fits } = lessonLink(window.location.href, currentLesson());
        share({ link: fits ? url : null, tooLong: !fits, error: null });
      } catch (e) {
        share({ link: null, tooLong: false, error: problem(e) });
      }
    },
    saveLessonFile: () => {
      try {
        const lesson = currentLesson();
        downloadText(lessonFileText(lesson), lessonFileName(lesson));
        share({ error: null });
      } catch (e) {
        share({ error: problem(e) });
      }
    },
    openLessonFromPage: async () => {
      let lesson: Lesson | null;
      try {
        lesson = lessonFromHash(window.location.hash);
      } catch (e) {
        set({ openedLesson: { status: 'error', lesson: null, from: 'link', error: problem(e) } });
        return;
      }
      if (!lesson) return;
      // The lesson is in the page now; a reload should not load it over the student's work.
      history.replaceState(null, '', window.location.pathname + window.location.search);
      await openLesson(lesson, 'link');
    },
    openLessonFile: async (file) => {
      try {
        await openLesson(parseLessonFile(file.text), 'file');
      } catch (e) {
        set({ openedLesson: { status: 'error', lesson: null, from: 'file', error: problem(e) } });
      }
    },
  };
};

/** Whether the page has labels a lesson could carry (for the share choice). */
export function hasShareableLabels(state: Pick<StudioState, 'labels'>): boolean {
  return state.labels.some(isPair);
}
