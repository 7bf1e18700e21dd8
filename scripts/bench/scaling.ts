// Scaling section: SFT (and DPO in proportion) optimizer steps of a SmolLM2-135M-shaped random
// model, LoRA r=8 alpha 16 on q/k/v/o/gate/up/down, AdamW, at 256 / 1,024 / 4,096 / 8,192 tokens
// per step (1x256, 4x256, 8x512, 16x512: the shapes scripts/bench/torch_peft.py runs), through the
// real Trainer: step ms, tokens/s, dispatches/submits/readbacks per step. Also dispatches per layer
// (an SFT step of a 2-layer model minus a 1-layer one) and weight bytes per parameter.
// On a CPU adapter everything is scaled down (1 of 30 layers, tokens per step / 64) and the JSON
// says so; with --compare FILE (torch_peft.py's JSON line) it adds vs_torch ratios where the
// layers and tokens per step match.
import { readFileSync } from 'node:fs';
import { parameterCount } from '../../engine/model/config.ts';
import type { BenchEnv, BenchSection } from './env.ts';
import { benchModel, destroyBenchModel } from './modelShapes.ts';
import { median } from './timing.ts';
import { runTrainerSteps, type TrainerRun } from './trainerRun.ts';

/** (rows, seq) per step, as in the table and torch_peft.py. */
export const SCALING_SIZES: [number, number][] = [
  [1, 256],
  [4, 256],
  [8, 512],
  [16, 512],
];
const CPU_TOKEN_DIVISOR = 64;
const CPU_LAYERS = 1;

interface SizeResult {
  tokens_per_step: number;
  rows: number;
  seq: number;
  step_ms: number;
  tokens_per_second: number;
  dispatches_per_step: number;
  submits_per_step: number;
  readbacks_per_step: number;
}

function summarize(run: TrainerRun): SizeResult {
  const timed = run.steps.slice(1); // step 0 compiles pipelines, allocates, (on GPUs) autotunes
  const ms = median(timed.map((s) => s.ms));
  return {
    tokens_per_step: run.tokensPerStep,
    rows: run.rows,
    seq: run.seq,
    step_ms: +ms.toFixed(2),
    tokens_per_second: +((run.tokensPerStep / ms) * 1000).toFixed(1),
    dispatches_per_step: median(timed.map((s) => s.dispatches)),
    submits_per_step: median(timed.map((s) => s.submits)),
    readbacks_per_step: median(timed.map((s) => s.readbacks)),
  };
}

/** The sizes this adapter runs: the on a GPU; / 64 on a CPU adapter (first two with --quick). */
export function scalingSizes(env: BenchEnv): { sizes: [number, number][]; scaled: boolean } {
  const cpu = env.ctx.caps.isCpu;
  if (!cpu && !env.options.quick) return { sizes: SCALING_SIZES, scaled: false };
  const sizes = SCALING_SIZES.map(([rows, seq]): [number, number] => (cpu ? [rows, seq / CPU_TOKEN_DIVISOR] : [rows, seq]));
  return { sizes: env.options.quick ? sizes.slice(0, 2) : sizes, scaled: cpu };
}

/** DPO at the same tokens per step: rows/2 pairs of seq, or one pair of seq/2 for a single row. */
function dpoShape(rows: number, seq: number): [number, number] {
  return rows >= 2 ? [rows / 2, seq] : [1, Math.max(2, seq / 2)];
}

async function dispatchesPerLayer(env: BenchEnv, seq: number): Promise<number> {
  const counts: number[] = [];
  for (const layers of [1, 2]) {
    const m = benchModel(env, false, layers);
    const run = await runTrainerSteps(env, m, { method: 'sft', rows: 1, seq, steps: 2 });
    counts.push(run.steps[1].dispatches);
    destroyBenchModel(env.ctx, m);
  }
  return counts[1] - counts[0];
}

export const benchScaling: BenchSection = async (env) => {
  const { ctx, options, log } = env;
  const cpu = ctx.caps.isCpu;
  const { sizes, scaled } = scalingSizes(env);
  const layers = cpu ? CPU_LAYERS : undefined;
  const steps = 1 + (options.repeats ?? (cpu ? 1 : 3));
  const m = benchModel(env, false, layers);
  const out: Record<string, unknown> = {
    model: `SmolLM2-135M widths, ${m.spec.numLayers} of 30 layers, vocab ${m.spec.vocabSize}`,
    layers: m.spec.numLayers,
    weight_dtype: m.dtype,
    lora: 'r=8 lora_alpha=16 on q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj, dropout 0',
    optimizer: 'adamw_torch',
    scaled_down: scaled,
    scale_note: scaled
      ? `CPU adapter: ${CPU_LAYERS} of 30 layers and tokens per step / ${CPU_TOKEN_DIVISOR} of 256 / 1,024 / 4,096 / 8,192; compare only as ratios`
      : 'full shape: 30 layers, 256 / 1,024 / 4,096 / 8,192 tokens per step',
    timed_steps: steps - 1,
    weight_bytes_per_param: +(m.weightBytes / parameterCount(m.spec)).toFixed(3),
  };
  const sft: SizeResult[] = [];
  const dpo: SizeResult[] = [];
  for (const [rows, seq] of sizes) {
    const s = summarize(await runTrainerSteps(env, m, { method: 'sft', rows, seq, steps }));
    sft.push(s);
    log(`scaling sft ${rows}x${seq}: ${s.step_ms.toFixed(1)} ms/step, ${s.tokens_per_second} tok/s, ${s.dispatches_per_step} dispatches`);
    const [pairs, dseq] = dpoShape(rows, seq);
    const d = summarize(await runTrainerSteps(env, m, { method: 'dpo', rows: pairs, seq: dseq, steps }));
    dpo.push(d);
    log(`scaling dpo ${pairs} pairs x ${dseq}: ${d.step_ms.toFixed(1)} ms/step, ${d.tokens_per_second} tok/s`);
    ctx.pool.trim();
  }
  destroyBenchModel(ctx, m);
  ctx.pool.trim();
  out.sft = sft;
  out.dpo = dpo;
  out.dispatches_per_layer = await dispatchesPerLayer(env, sizes[0][1]);
  out.dispatches_per_layer_note = 'dispatches of one SFT step with 2 layers minus with 1 layer';
  if (options.compare) out.vs_torch = compareWithTorch(options.compare, m.spec.numLayers, sft);
  return out;
};

interface TorchRun {
  tokens_per_step: number;
  step_ms: number;
  tokens_per_second: number;
}

interface TorchReport {
  bench: string;
  /** 'hf' (transformers + PEFT, the baseline) or 'manual' (hand-written Llama + LoRA). */
  impl: string;
  device: string;
  layers: number;
  runs: Record<string, TorchRun[]>;
  [k: string]: unknown;
}

/** The last line of `file` that is torch_peft.py's JSON report. */
export function readTorchReport(file: string): TorchReport {
  const lines = readFileSync(file, 'utf8').split('\n').reverse();
  for (const line of lines) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as TorchReport;
      if (j.bench === 'torch_peft') return j;
    } catch {
      // not the report line
    }
  }
  throw new Error(`${file} holds no torch_peft JSON line (run scripts/bench/torch_peft.py and save its stdout)`);
}

/** ours / torch tokens per second per precision, where the torch run has our layers and tokens per step. */
export function compareWithTorch(file: string, layers: number, sft: SizeResult[]): Record<string, unknown> {
  const torch = readTorchReport(file);
  const base = { torch_device: torch.device, torch_impl: torch.impl, torch: torch.torch, transformers: torch.transformers, peft: torch.peft, torch_layers: torch.layers };
  if (torch.layers !== layers) {
    return { ...base, comparable: false, reason: `the torch run has ${torch.layers} layers, this run ${layers} (a CPU adapter runs a scaled-down model)` };
  }
  const ratios: Record<string, unknown[]> = {};
  for (const [precision, runs] of Object.entries(torch.runs)) {
    ratios[precision] = sft.flatMap((ours) => {
      const t = runs.find((r) => r.tokens_per_step === ours.tokens_per_step);
      if (!t) return [];
      return [
        {
          tokens_per_step: ours.tokens_per_step,
          ours_tokens_per_second: ours.tokens_per_second,
          torch_tokens_per_second: t.tokens_per_second,
          ours_step_ms: ours.step_ms,
          torch_step_ms: t.step_ms,
          /** Above 1: we are faster. */
          speed_ratio: +(ours.tokens_per_second / t.tokens_per_second).toFixed(3),
        },
      ];
    });
  }
  return { ...base, comparable: true, sft: ratios };
}
