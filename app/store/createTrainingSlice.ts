// A training run, end to end: the run record, dataset and checkpoints go to IndexedDB as the
// engine reports them, so a reload or a lost GPU device resumes from the last checkpoint with
// the same recipe and dataset.
import type { StateCreator } from 'zustand';
import type { Method, TrainSummary } from '../../engine/api/contract.ts';
import type { ApiError } from '../../engine/api/types.ts';
import * as engine from '../engineClient.ts';
import {
  appendMetrics,
  asBuffers,
  getDataset,
  latestCheckpoint,
  listMetrics,
  pruneCheckpoints,
  putAdapter,
  putCheckpoint,
  putDataset,
  type RunRecord,
} from '../persistence/index.ts';
import { parseRecipeJson, recipeJson } from '../recipe.ts';
import type { DatasetFile } from './createDatasetSlice.ts';
import { asProblem } from './problems.ts';
import type { StudioState } from './index.ts';

export type TrainingPhase = 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'recovering' | 'done' | 'stopped' | 'failed';

export interface Sample {
  step: number;
  prompt: string;
  text: string;
}

export interface TrainingState {
  phase: TrainingPhase;
  runId: string | null;
  method: Method;
  step: number;
  total: number | null;
  tokensPerSecond: number | null;
  etaSeconds: number | null;
  logs: Record<string, number>[];
  samples: Sample[];
  error: ApiError | null;
  /** The step of the last checkpoint saved in IndexedDB (what a resume starts from). */
  checkpointStep: number | null;
  /** What happened along the way (resumed after a reload, a lost device, ...). */
  notes: string[];
  warnings: string[];
  /** The finished adapter (adapter_config.json, adapter_model.safetensors). */
  adapter: Record<string, ArrayBuffer> | null;
  /** A reward model's scores of chosen and rejected answers at the end of the run. */
  rewardScores: { chosen: number[]; rejected: number[] } | null;
}

export interface TrainingSlice {
  training: TrainingState;
  startTraining: () => Promise<void>;
  pauseTraining: () => void;
  resumeTraining: () => void;
  stopTraining: () => void;
  /** After a reload: continues the newest run that was still running when the page died. */
  resumeInterruptedRun: () => Promise<void>;
}

const ACTIVE: ReadonlySet<TrainingPhase> = new Set(['starting', 'running', 'paused', 'stopping', 'recovering']);
export const isTrainingActive = (phase: TrainingPhase) => ACTIVE.has(phase);

const MAX_RECOVERIES = 3;

const IDLE: TrainingState = {
  phase: 'idle',
  runId: null,
  method: 'sft',
  step: 0,
  total: null,
  tokensPerSecond: null,
  etaSeconds: null,
  logs: [],
  samples: [],
  error: null,
  checkpointStep: null,
  notes: [],
  warnings: [],
  adapter: null,
  rewardScores: null,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function newRunId(): string {
  return `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export const createTrainingSlice: StateCreator<StudioState, [], [], TrainingSlice> = (set, get) => {
  let resumeChecked = false;
  const patch = (p: Partial<TrainingState>) => set({ training: { ...get().training, ...p } });
  const warn = (message: string) => patch({ warnings: [...get().training.warnings, message] });
  const note = (message: string) => patch({ notes: [...get().training.notes, message] });

  /** Saves the run summary; a storage failure is shown (Runs panel) but does not stop training. */
  async function saveRun(run: RunRecord): Promise<void> {
    try {
      await get().saveRun(run);
    } catch {
      // createRunsSlice keeps the StorageError in runsError, which the Runs panel explains.
    }
  }

  async function finish(run: RunRecord, summary: TrainSummary): Promise<void> {
    const last = get().training.logs.at(-1);
    const finalLoss = summary.finalLoss ?? (last && Number.isFinite(last.loss) ? last.loss : null);
    const rewardScores = summary.rewardScores ?? null;
    patch({ phase: summary.stopped ? 'stopped' : 'done', step: summary.steps, total: summary.totalSteps, adapter: summary.adapter, etaSeconds: null, rewardScores });
    try {
      await putAdapter({ runId: run.id, files: summary.adapter });
    } catch (e) {
      warn(`${asProblem(e).message} The adapter can still be exported now.`);
    }
    await saveRun({ ...run, status: summary.stopped ? 'stopped' : 'completed', steps: summary.steps, maxSteps: summary.totalSteps, finalLoss, ...(rewardScores ? { rewardScores } : {}) });
  }

  /** Reacquires the GPU after a loss, reloads the model, and trains on from the latest checkpoint. */
  async function recover(run: RunRecord, dataset: DatasetFile, attempt: number): Promise<void> {
    patch({ phase: 'recovering', error: null });
    note(`The GPU device was lost at step ${get().training.step}; getting a new one…`);
    let device = null;
    for (let i = 0; i < 20 && !device; i++) {
      try {
        device = await engine.probeDevice();
      } catch {
        await sleep(1000);
      }
    }
    if (!device) {
      return fail(run, { name: 'GpuDeviceLost', message: 'The GPU device was lost and a new one could not be set up', hint: 'Reload the page: the run resumes from its last checkpoint.' });
    }
    // The engine puts the model back on the new device from the files it loaded it from.
    set({ device: { status: 'ready', report: device } });
    await trainFrom(run, dataset, attempt + 1);
  }

  async function fail(run: RunRecord, error: ApiError): Promise<void> {
    patch({ phase: 'failed', error, etaSeconds: null });
    await saveRun({ ...run, status: 'failed', steps: get().training.step, note: error.message });
  }

  /** Trains `run`, from its latest checkpoint when it has one (a resume) or from the start. */
  async function trainFrom(run: RunRecord, dataset: DatasetFile, attempt = 0): Promise<void> {
    const checkpoint = await latestCheckpoint(run.id).catch(() => undefined);
    const resumeFrom = checkpoint ? await asBuffers(checkpoint.blobs) : null;
    if (checkpoint) {
      note(`Resumed from the checkpoint at step ${checkpoint.step}.`);
      patch({ step: checkpoint.step, checkpointStep: checkpoint.step, logs: get().training.logs.filter((l) => l.step <= checkpoint.step) });
    }
    patch({ phase: get().training.phase === 'paused' ? 'paused' : 'running', error: null });
    await saveRun({ ...run, status: 'running' });
    let deviceLost = false;
    const unsubscribe = engine.onDeviceLost(() => {
      deviceLost = true;
    });
    try {
      const summary = await engine.train(
        { recipe: run.recipe, dataset: { name: dataset.name, data: dataset.data.slice(0) }, resumeFrom },
        {
          onProgress: (e) => {
            if (e.phase !== 'train') return;
            const m = e.metrics ?? {};
            patch({ step: e.done, total: e.total, tokensPerSecond: m.tokens_per_second ?? get().training.tokensPerSecond, etaSeconds: m.eta_seconds ?? null });
            void saveRun({ ...run, status: get().training.phase === 'paused' ? 'paused' : 'running', steps: e.done, maxSteps: e.total ?? run.maxSteps, finalLoss: m.loss ?? null });
          },
          onLog: (entry) => {
            // An evaluation (eval_steps) logs its eval_* metrics at the step the training metrics were logged at: one row.
            const logs = get().training.logs;
            const row = { ...logs.find((l) => l.step === entry.step), ...entry };
            patch({ logs: [...logs.filter((l) => l.step !== entry.step), row] });
            appendMetrics([{ runId: run.id, step: entry.step, values: row }]).catch((e) => warn(asProblem(e).message));
          },
          onCheckpoint: async (step, files) => {
            try {
              await putCheckpoint({ runId: run.id, step, blobs: files });
              patch({ checkpointStep: step });
              await pruneCheckpoints(run.id, step);
            } catch (e) {
              warn(`${asProblem(e).message} Training goes on, but cannot resume from step ${step}.`);
            }
          },
          onSample: (step, prompt, text) => patch({ samples: [...get().training.samples, { step, prompt, text }] }),
          onWarning: (message) => warn(message),
        },
      );
      await finish(run, summary);
    } catch (e) {
      const problem = asProblem(e);
      if ((problem.name === 'GpuDeviceLost' || deviceLost) && attempt < MAX_RECOVERIES) return recover(run, dataset, attempt);
      await fail(run, problem);
    } finally {
      unsubscribe();
    }
  }

  return {
    training: IDLE,
    startTraining: async () => {
      const { model, dataset, recipe } = get();
      if (model.status !== 'ready' || !model.info || !model.source || !dataset.file || isTrainingActive(get().training.phase)) return;
      const file = dataset.file;
      const run: RunRecord = {
        id: newRunId(),
        method: recipe.method,
        model: model.info.name,
        status: 'running',
        steps: 0,
        maxSteps: recipe.max_steps > 0 ? recipe.max_steps : 0,
        finalLoss: null,
        createdAt: Date.now(),
        recipe: recipeJson(recipe),
        modelSource: model.source,
        datasetName: file.name,
      };
      set({ training: { ...IDLE, phase: 'starting', runId: run.id, method: recipe.method, total: run.maxSteps || null } });
      await saveRun(run);
      try {
        await putDataset({ runId: run.id, name: file.name, data: file.data });
      } catch (e) {
        warn(`${asProblem(e).message} This run cannot resume after a reload.`);
      }
      await trainFrom(run, file);
    },
    pauseTraining: () => {
      if (get().training.phase !== 'running') return;
      patch({ phase: 'paused' });
      void engine.pauseTraining();
    },
    resumeTraining: () => {
      if (get().training.phase !== 'paused') return;
      patch({ phase: 'running' });
      void engine.resumeTraining();
    },
    stopTraining: () => {
      const phase = get().training.phase;
      if (phase !== 'running' && phase !== 'paused') return;
      patch({ phase: 'stopping' });
      void engine.stopTraining();
    },
    resumeInterruptedRun: async () => {
      if (resumeChecked || isTrainingActive(get().training.phase)) return;
      resumeChecked = true;
      const run = get().runs.find((r) => r.status === 'running' || r.status === 'paused');
      if (!run) return;
      const stored = await getDataset(run.id).catch(() => undefined);
      if (!stored || !run.modelSource || run.modelSource.kind === 'files') {
        const why = !stored ? 'its dataset was not saved' : 'its model came from a local folder; pick it again and start a new run';
        await saveRun({ ...run, status: 'stopped', note: `Interrupted at step ${run.steps}; cannot resume: ${why}.` });
        return;
      }
      const method = run.method;
      const logs = (await listMetrics(run.id).catch(() => [])).map((m) => m.values);
      set({ training: { ...IDLE, phase: 'recovering', runId: run.id, method, step: run.steps, total: run.maxSteps || null, logs } });
      note(`Resuming run ${run.id}, interrupted at step ${run.steps} when the page closed.`);
      if (!(await get().reloadModel(run.modelSource))) {
        return fail(run, get().model.error ?? { name: 'ModelLoadFailed', message: 'The model could not be loaded again', hint: 'Load it in the Model panel and start a new run.' });
      }
      const file = { name: stored.name, data: stored.data };
      await get().setDatasetFile(file);
      try {
        get().replaceRecipe(parseRecipeJson(JSON.stringify(run.recipe)));
      } catch {
        // The run record's recipe is what trains; the panel keeps its defaults.
      }
      await trainFrom(run, file);
    },
  };
};
