// Presenter mode: larger text and charts for a projector, advanced recipe fields hidden. Kept in
// localStorage so a reload during a class stays in it.
import type { StateCreator } from 'zustand';
import type { StudioState } from './index.ts';

export interface PresenterSlice {
  presenter: boolean;
  setPresenter: (on: boolean) => void;
}

const KEY = 'whetstone.presenter';

function stored(): boolean {
  try {
    return globalThis.localStorage?.getItem(KEY) === '1';
  } catch {
    return false;
  }
}

export const createPresenterSlice: StateCreator<StudioState, [], [], PresenterSlice> = (set) => ({
  presenter: stored(),
  setPresenter: (on) => {
    try {
      globalThis.localStorage?.setItem(KEY, on ? '1' : '0');
    } catch {
      // Storage refused (private mode): the toggle still works for this visit.
    }
    set({ presenter: on });
  },
});
