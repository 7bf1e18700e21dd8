// A few optimizer steps of the real Trainer on a bench model with random tokens, for the scaling
// and profile sections: SFT batches of `rows` sequences of `seq` tokens, or DPO batches of `rows`
// pairs (chosen + rejected, the second half of each is the completion). Each step is measured from
// the trainer's beforeStep to its onProgress (the step's one readback included, logging excluded).
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import type { RunStore } from '../../engine/train/runStore.ts';
import type { TrainingExamples } from '../../engine/data/examples.ts';
import { Trainer } from '../../engine/train/trainer.ts';
import type { BenchEnv } from './env.ts';
import { randomTokens, type BenchModel } from './modelShapes.ts';

const nullStore: RunStore = { saveCheckpoint: async () => {}, saveFinal: async () => {}, appendMetrics: async () => {} };

export interface StepCost {
  ms: number;
  submits: number;
  readbacks: number;
  dispatches: number;
}

export interface TrainerRun {
  method: 'sft' | 'dpo';
  rows: number;
  seq: number;
  /** Tokens through the model per optimizer step (DPO: chosen + rejected). */
  tokensPerStep: number;
  steps: StepCost[];
}

export interface TrainerRunOptions {
  method: 'sft' | 'dpo';
  rows: number;
  seq: number;
  steps: number;
  /** Awaited before step i (0-based) starts. */
  beforeStep?(i: number): void | Promise<void>;
  /** Right after step i's readback. */
  afterStep?(i: number): void;
}

export function benchExamples(method: 'sft' | 'dpo', rows: number, seq: number, vocab: number, seed = 1): TrainingExamples {
  const prompt = Math.floor(seq / 2);
  const row = (s: number) => {
    const ids = randomTokens(seq, vocab, s);
    return { ids, trainMask: ids.map((_, i) => (method === 'sft' || i >= prompt ? 1 : 0)) };
  };
  return method === 'sft'
    ? { method, rows: Array.from({ length: rows }, (_, i) => row(seed + i)) }
    : { method, rows: Array.from({ length: rows }, (_, i) => ({ chosen: row(seed + 2 * i), rejected: row(seed + 2 * i + 1) })) };
}

export async function runTrainerSteps(env: BenchEnv, m: BenchModel, o: TrainerRunOptions): Promise<TrainerRun> {
  const { ctx } = env;
  const recipe = resolveRecipe({
    method: o.method,
    max_steps: o.steps,
    per_device_train_batch_size: o.rows,
    lora_dropout: 0,
    save_steps: 1_000_000,
    logging_steps: 1,
    max_length: Math.max(1024, o.seq),
  });
  const steps: StepCost[] = [];
  let index = 0;
  let start: { t: number; submits: number; readbacks: number; dispatches: number } | null = null;
  const trainer = new Trainer({
    ctx,
    model: m.model,
    adapter: m.adapter,
    recipe,
    train: benchExamples(o.method, o.rows, o.seq, m.spec.vocabSize),
    padId: 0,
    store: nullStore,
    baseModel: 'random SmolLM2-135M shape',
    callbacks: {
      beforeStep: async () => {
        await o.beforeStep?.(index);
        start = { t: performance.now(), ...ctx.counters };
        return 'continue' as const;
      },
      onProgress: () => {
        const t = performance.now();
        const s = start!;
        steps.push({ ms: t - s.t, submits: ctx.counters.submits - s.submits, readbacks: ctx.counters.readbacks - s.readbacks, dispatches: ctx.counters.dispatches - s.dispatches });
        o.afterStep?.(index);
        index++;
      },
    },
  });
  try {
    await trainer.run();
  } finally {
    trainer.destroy();
  }
  const tokensPerStep = (o.method === 'sft' ? 1 : 2) * o.rows * o.seq;
  return { method: o.method, rows: o.rows, seq: o.seq, tokensPerStep, steps };
}
