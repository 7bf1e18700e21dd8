// The studio's state: one zustand store made of slices, one per concern. Engine work goes
// through app/engineClient.ts from slice actions; components read state with selectors.
//
// To add a concern: write createXSlice.ts with an `XSlice` interface and a
// `StateCreator<StudioState, [], [], XSlice>`, then add it below.
import { create } from 'zustand';
import { createArenaSlice, type ArenaSlice } from './createArenaSlice.ts';
import { createCompareSlice, type CompareSlice } from './createCompareSlice.ts';
import { createDatasetSlice, type DatasetSlice } from './createDatasetSlice.ts';
import { createDeviceSlice, type DeviceSlice } from './createDeviceSlice.ts';
import { createExportSlice, type ExportSlice } from './createExportSlice.ts';
import { createLabellingSlice, type LabellingSlice } from './createLabellingSlice.ts';
import { createLabelsSlice, type LabelsSlice } from './createLabelsSlice.ts';
import { createLessonSlice, type LessonSlice } from './createLessonSlice.ts';
import { createModelSlice, type ModelSlice } from './createModelSlice.ts';
import { createOpenRunSlice, type OpenRunSlice } from './createOpenRunSlice.ts';
import { createPresenterSlice, type PresenterSlice } from './createPresenterSlice.ts';
import { createRecipeSlice, type RecipeSlice } from './createRecipeSlice.ts';
import { createRunsSlice, type RunsSlice } from './createRunsSlice.ts';
import { createTrainingSlice, type TrainingSlice } from './createTrainingSlice.ts';
import { createWhatChangedSlice, type WhatChangedSlice } from './createWhatChangedSlice.ts';

export type StudioState = DeviceSlice &
  RunsSlice &
  ModelSlice &
  DatasetSlice &
  RecipeSlice &
  TrainingSlice &
  CompareSlice &
  ExportSlice &
  OpenRunSlice &
  LabelsSlice &
  LabellingSlice &
  ArenaSlice &
  LessonSlice &
  WhatChangedSlice &
  PresenterSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createDeviceSlice(...a),
  ...createRunsSlice(...a),
  ...createModelSlice(...a),
  ...createDatasetSlice(...a),
  ...createRecipeSlice(...a),
  ...createTrainingSlice(...a),
  ...createCompareSlice(...a),
  ...createExportSlice(...a),
  ...createOpenRunSlice(...a),
  ...createLabelsSlice(...a),
  ...createLabellingSlice(...a),
  ...createArenaSlice(...a),
  ...createLessonSlice(...a),
  ...createWhatChangedSlice(...a),
  ...createPresenterSlice(...a),
}));

export type { DeviceState } from './createDeviceSlice.ts';
export type { StorageProblem } from './createRunsSlice.ts';
export { isTrainingActive } from './createTrainingSlice.ts';
