// The models the classroom can sample from: the base model alone, or with the adapter of a
// finished run trained on that same base (an adapter only fits the model it was trained on).
import { asBuffers, getAdapter, type RunRecord } from '../persistence/index.ts';
import type { StudioState } from './index.ts';

/** 'base', or a run id. */
export type ModelChoice = 'base' | string;

export interface ModelOption {
  value: ModelChoice;
  label: string;
}

/** Finished runs on the loaded model, newest first. */
export function runsWithAdapters(state: Pick<StudioState, 'runs' | 'model'>): RunRecord[] {
  const name = state.model.info?.name;
  return state.runs.filter((r) => r.model === name && (r.status === 'completed' || r.status === 'stopped') && r.steps > 0);
}

export function modelOptions(state: Pick<StudioState, 'runs' | 'model'>): ModelOption[] {
  return [
    { value: 'base', label: 'Base model' },
    ...runsWithAdapters(state).map((r) => ({ value: r.id, label: `Run ${r.id}: ${r.method.toUpperCase()}, ${r.steps} steps` })),
  ];
}

/** The adapter files for a choice: null for the base model; this session's run from memory, others from IndexedDB. */
export async function adapterOf(state: StudioState, choice: ModelChoice): Promise<Record<string, ArrayBuffer> | null> {
  if (choice === 'base') return null;
  const t = state.training;
  if (t.runId === choice && t.adapter) return t.adapter;
  const stored = await getAdapter(choice);
  if (!stored) throw new Error(`Run ${choice} has no saved adapter`);
  return asBuffers(stored.files);
}

