// A small console hook, `window.__whetstone`, onto the studio's real store actions. It lets an
// end-to-end test (or a curious user in DevTools) save, list and delete run records through the
// same path training uses (e2e/studio.spec.ts fills the Runs panel and the storage quota this
// way). It exposes nothing the page itself cannot already do.
import type { RunRecord } from './persistence/index.ts';
import { useStudio } from './store/index.ts';

export interface WhetstoneHook {
  saveRun: (run: RunRecord) => Promise<void>;
  deleteRun: (id: string) => Promise<void>;
  loadRuns: () => Promise<void>;
}

declare global {
  interface Window {
    __whetstone?: WhetstoneHook;
  }
}

export function installDevHook(): void {
  const { saveRun, deleteRun, loadRuns } = useStudio.getState();
  window.__whetstone = { saveRun, deleteRun, loadRuns };
}
