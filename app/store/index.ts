// The studio's state: one zustand store made of slices, one per concern. Engine work goes
// through app/engineClient.ts from slice actions; components read state with selectors.
//
// To add a concern (model, dataset, recipe, training, ...): write createXSlice.ts with an
// `XSlice` interface and a `StateCreator<StudioState, [], [], XSlice>`, then add it below.
import { create } from 'zustand';
import { createDeviceSlice, type DeviceSlice } from './createDeviceSlice.ts';
import { createRunsSlice, type RunsSlice } from './createRunsSlice.ts';

export type StudioState = DeviceSlice & RunsSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createDeviceSlice(...a),
  ...createRunsSlice(...a),
}));

export type { DeviceState } from './createDeviceSlice.ts';
export type { StorageProblem } from './createRunsSlice.ts';
