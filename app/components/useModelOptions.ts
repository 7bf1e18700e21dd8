// The models a classroom select offers (base + finished runs on the loaded model). Computed from
// the store with useMemo: a selector that built a new array each time would re-render forever.
import { useMemo } from 'react';
import { useStudio } from '../store/index.ts';
import { modelOptions, type ModelOption } from '../store/modelChoices.ts';

export function useModelOptions(): ModelOption[] {
  const runs = useStudio((s) => s.runs);
  const model = useStudio((s) => s.model);
  return useMemo(() => modelOptions({ runs, model }), [runs, model]);
}
