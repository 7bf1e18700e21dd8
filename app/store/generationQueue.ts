// One generation at a time: the Label, Arena and "What changed" panels all ask the engine for
// answers, and the engine's model (its KV cache) serves one at a time. Calls queue in order.
let tail: Promise<unknown> = Promise.resolve();

/** Thrown by a queued call in place of an answer nobody will see (the pair was left, or a run started). */
export class GenerationSkipped extends Error {}

export function queueGeneration<T>(work: () => Promise<T>): Promise<T> {
  const run = tail.then(work, work);
  tail = run.catch(() => {});
  return run;
}

/** Resolves when every queued generation has finished (training must not share the GPU model with one). */
export function generationsIdle(): Promise<void> {
  return tail.then(() => undefined);
}
