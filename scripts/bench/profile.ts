// Profile section (`npm run bench -- --profile`): the GPU time of every kernel of one SFT and one
// DPO optimizer step (timestamp queries through engine/gpu/profiler.ts, one compute pass per
// dispatch while profiling), grouped by kernel with count, total ms and share, plus CPU encode time
// against GPU time for the step. Step 0 warms up (pipelines, allocations, autotune); step 1 is
// profiled. On a GPU: the full model at 1 x 256 tokens (SFT and DPO: where the fixed cost per step
// shows) and SFT at 16 x 512 (where the marginal throughput goes); on a CPU adapter 1 of 30 layers
// at 1 x 64 tokens.
import { GpuProfiler, summarizeProfile } from '../../engine/gpu/profiler.ts';
import type { BenchEnv, BenchSection } from './env.ts';
import { benchModel, destroyBenchModel, type BenchModel } from './modelShapes.ts';
import { runTrainerSteps } from './trainerRun.ts';

/** How many kernel groups the human-readable log lists. */
const TOP = 12;

/** Profiles step 1 of a two-step run (step 0 warms up). */
async function profileStep(env: BenchEnv, m: BenchModel, method: 'sft' | 'dpo', rows: number, seq: number): Promise<Record<string, unknown>> {
  const { ctx, log } = env;
  const profiler = new GpuProfiler(ctx.device);
  let t0 = 0;
  let wall = 0;
  const run = await runTrainerSteps(env, m, {
    method,
    rows,
    seq,
    steps: 2,
    beforeStep: (i) => {
      if (i !== 1) return;
      ctx.flush(); // what the warm-up left recorded is not this step's
      ctx.profiler = profiler;
      t0 = performance.now();
    },
    afterStep: (i) => {
      if (i !== 1) return;
      ctx.flush(); // anything the step recorded after its readback
      wall = performance.now() - t0;
      ctx.profiler = null;
    },
  });
  const summary = summarizeProfile(await profiler.collect());
  profiler.destroy();
  ctx.pool.trim();
  log(`profile ${method} ${rows}x${seq} (${run.tokensPerStep} tokens): ${summary.dispatches} dispatches, GPU busy ${summary.gpu_busy_ms} ms, span ${summary.gpu_span_ms} ms, CPU encode ${summary.cpu_encode_ms} ms, wall ${wall.toFixed(1)} ms; timestamps ${summary.timestamps}`);
  for (const k of summary.kernels.slice(0, TOP)) {
    log(`  ${(k.share * 100).toFixed(1).padStart(5)}%  ${k.total_ms.toFixed(3).padStart(10)} ms  x${String(k.count).padEnd(4)} ${k.kernel}`);
  }
  for (const d of summary.slowest.slice(0, 3)) log(`  slowest: ${d.ms.toFixed(3)} ms ${d.kernel} workgroups ${d.workgroups.join('x')}`);
  return { tokens_per_step: run.tokensPerStep, rows, seq, wall_ms: +wall.toFixed(2), ...summary };
}

export const benchProfile: BenchSection = async (env) => {
  const { ctx } = env;
  if (!ctx.caps.timestampQuery) return { skipped: `${ctx.caps.adapterName} has no timestamp-query feature` };
  const cpu = ctx.caps.isCpu;
  const m = benchModel(env, false, cpu ? 1 : undefined);
  const seq = cpu ? 64 : 256;
  const out: Record<string, unknown> = {
    model: `SmolLM2-135M widths, ${m.spec.numLayers} of 30 layers${cpu ? ' (CPU adapter)' : ''}`,
    weight_dtype: m.dtype,
    note: 'one compute pass per dispatch while profiling: wall_ms is slower than an unprofiled step (see the scaling section)',
  };
  out.sft = await profileStep(env, m, 'sft', 1, seq);
  out.dpo = await profileStep(env, m, 'dpo', 1, seq / 2);
  if (!cpu && !env.options.quick) out.sft_8192 = await profileStep(env, m, 'sft', 16, 512);
  destroyBenchModel(ctx, m);
  return out;
};
