// QLoRA section (issue 10 goals): what a 4-bit NF4 base costs and saves against the 16-bit base.
//   step            forward + backward (the LoRA gradients; no weight gradient for the frozen base)
//                   of the same random model and the same adapter (r = 16 on every linear layer,
//                   gradient checkpointing, batch 1), with a bf16 base and with an NF4 one
//                   (bnb_4bit_use_double_quant): ms per step and qlora_over_lora_ratio (goal <= 1.3)
//   linears         the base's part alone: one layer's four linear groups, forward + dx, each base
//                   (qlora_over_lora_linears_ratio: the fused dequantize-and-multiply's cost)
//   bytes_per_quantized_param  the NF4 linear groups' GPU bytes over their parameters, measured on
//                   the bench model and planned for Qwen2.5-0.5B / Llama-3.2-1B (goal <= 0.53)
//   peak vs planned the step's peak GPU bytes (buffers created, memoryTracker) against
//                   quant/memoryPlan.ts's plan for the same run (A, B, dA, dB: no optimizer here)
//   target_plans    the planner's totals for the target runs (Qwen2.5-0.5B and Llama-3.2-1B,
//                   r = 16 on every linear, seq 512, batch 1, checkpointing, AdamW), 4-bit and 16-bit
// On a CPU adapter or with --quick the model is SmolLM2-135M widths with 2 of 30 layers at seq 64
// (as the model section); the target runs are then planned only (measuring them needs a GPU).
import { trackDeviceMemory } from '../../engine/gpu/memoryTracker.ts';
import { createLoraAdapter, destroyAdapter } from '../../engine/lora/adapter.ts';
import { modelSpecFromConfig, type ModelSpec } from '../../engine/model/config.ts';
import { batchFromRows, uploadBatch } from '../../engine/model/batch.ts';
import { LlamaModel } from '../../engine/model/model.ts';
import { randomWeights } from '../../engine/model/randomWeights.ts';
import { groupBackward, groupForward } from '../../engine/model/linear.ts';
import { GROUP_NAMES, LORA_MODULES, type GroupName, type LinearGroup } from '../../engine/model/weights.ts';
import { createBuffer, upload } from '../../engine/gpu/buffers.ts';
import { maskedTokenMeanBackward } from '../../engine/ops/lossReduce.ts';
import { LINEAR_MODULES, planTrainingMemory, type MemoryPlanOptions } from '../../engine/quant/memoryPlan.ts';
import type { BenchEnv, BenchSection } from './env.ts';
import { randomTokens, SMOLLM2_135M_CONFIG } from './modelShapes.ts';
import { median } from './timing.ts';

const R = 16;
const GiB = 2 ** 30;

// Fields of the hub config.json files (Qwen/Qwen2.5-0.5B, meta-llama/Llama-3.2-1B), as memoryPlan.test.ts.
const TARGETS: Record<string, Record<string, unknown>> = {
  'Qwen2.5-0.5B': {
    model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
    vocab_size: 151936, tie_word_embeddings: true, rope_theta: 1000000.0, rms_norm_eps: 1e-6, max_position_embeddings: 32768, torch_dtype: 'bfloat16',
  },
  'Llama-3.2-1B': {
    model_type: 'llama', hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64,
    vocab_size: 128256, tie_word_embeddings: true, rope_theta: 500000.0, rms_norm_eps: 1e-5, max_position_embeddings: 131072, torch_dtype: 'bfloat16',
  },
};

function plan(spec: ModelSpec, loadIn4bit: boolean, o: Partial<MemoryPlanOptions> = {}) {
  return planTrainingMemory(spec, { loadIn4bit, doubleQuant: true, loraR: R, loraTargetModules: LINEAR_MODULES, rows: 1, maxLength: 512, gradientCheckpointing: true, optim: 'adamw_torch', tableBytes: 2, ...o });
}

/** One base, built and warmed up (pipelines compiled, activations allocated: its peak), ready to time. */
async function prepare(env: BenchEnv, spec: ModelSpec, seq: number, fourBit: boolean) {
  const { ctx } = env;
  const tracker = trackDeviceMemory(ctx.device);
  ctx.pool.trim(); // the other base's free buffers: this one allocates its own
  const baseline = tracker.liveBytes;
  tracker.resetPeak();
  const weights = randomWeights(ctx, spec, 'bf16', 1, fourBit ? { doubleQuant: true } : null);
  const adapter = createLoraAdapter(ctx, spec, { r: R, loraAlpha: 2 * R, loraDropout: 0, targetModules: [...LORA_MODULES], useRslora: false }, 1);
  const model = new LlamaModel(ctx, spec, weights, { gradientCheckpointing: true });
  const ids = randomTokens(seq, spec.vocabSize, 7);
  const batch = uploadBatch(ctx, batchFromRows([{ ids, trainMask: ids.map(() => 1) }], 0));
  const dLoss = ctx.pool.acquire(seq * 4);
  maskedTokenMeanBackward(ctx, { labels: batch.labels, N: seq, dMean: 1, dLoss });
  const step = async () => {
    model.forward(batch, { lora: adapter, train: true });
    model.backward(batch, dLoss);
    await ctx.sync();
  };
  await step();
  const peak = tracker.peakBytes - baseline;
  const linears = linearPass(env, weights.layers[0].groups, seq);
  await linears.run();
  let linearBytes = 0;
  let linearParams = 0;
  for (const layer of weights.layers) {
    for (const g of GROUP_NAMES) {
      linearBytes += layer.groups[g].weight.size;
      linearParams += layer.groups[g].outFeatures * layer.groups[g].inFeatures;
    }
  }
  const planned = plan(spec, fourBit, { maxLength: seq, optim: 'sgd' }).totalBytes; // sgd: A, B, dA, dB (the step has no optimizer)
  const destroy = () => {
    linears.destroy();
    batch.destroy();
    ctx.pool.release(dLoss);
    model.destroy();
    for (const b of weights.buffers) b.destroy();
    destroyAdapter(adapter);
  };
  return { step, linears: linears.run, destroy, peak, planned, linearBytes, linearParams, weightBytes: weights.buffers.reduce((s, b) => s + b.size, 0), stepMs: [] as number[], linearsMs: [] as number[] };
}

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/**
 * The frozen base's share of a step, alone: one decoder layer's four linear groups, forward x W^T
 * then dx = dy W (no LoRA), on `seq` tokens.
 */
function linearPass(env: BenchEnv, groups: Record<GroupName, LinearGroup>, seq: number) {
  const { ctx } = env;
  const widest = Math.max(...GROUP_NAMES.map((g) => Math.max(groups[g].inFeatures, groups[g].outFeatures)));
  const x = upload(ctx.device, Float32Array.from({ length: seq * widest }, (_, i) => Math.sin(i) * 0.5));
  const y = createBuffer(ctx.device, seq * widest * 4, undefined, 'bench y');
  const dx = createBuffer(ctx.device, seq * widest * 4, undefined, 'bench dx');
  return {
    run: async () => {
      for (const g of GROUP_NAMES) {
        groupForward(ctx, groups[g], { x, out: { data: y }, N: seq, lora: null, t: null });
        groupBackward(ctx, groups[g], { x, dy: { data: x }, dx, accumulateDx: false, N: seq, lora: null, t: null });
      }
      await ctx.sync();
    },
    destroy: () => [x, y, dx].forEach((b) => b.destroy()),
  };
}

export const benchQlora: BenchSection = async (env) => {
  const { ctx, options, log } = env;
  const small = options.quick || ctx.caps.isCpu;
  const full = modelSpecFromConfig(SMOLLM2_135M_CONFIG);
  const spec: ModelSpec = { ...full, numLayers: small ? 2 : full.numLayers };
  const seq = small ? 64 : 512;
  const lora = await prepare(env, spec, seq, false);
  const qlora = await prepare(env, spec, seq, true);
  // Interleaved, so both bases see the same machine load (CPU adapters share their cores).
  for (let i = 0; i < (options.repeats ?? 3); i++) {
    for (const m of [lora, qlora]) {
      m.stepMs.push(await timed(m.step));
      m.linearsMs.push(await timed(m.linears));
    }
  }
  lora.destroy();
  qlora.destroy();
  ctx.pool.trim();
  const ms = (m: typeof lora) => median(m.stepMs);
  const linearsMs = (m: typeof lora) => median(m.linearsMs);
  const ratio = ms(qlora) / ms(lora);
  log(`qlora: step ${ms(qlora).toFixed(1)} ms vs 16-bit LoRA ${ms(lora).toFixed(1)} ms (x${ratio.toFixed(2)}); NF4 ${(qlora.linearBytes / qlora.linearParams).toFixed(4)} B/param; peak ${(qlora.peak / 2 ** 20).toFixed(1)} MiB vs planned ${(qlora.planned / 2 ** 20).toFixed(1)} MiB`);
  const base = (m: typeof lora) => ({
    fwd_bwd_ms: +ms(m).toFixed(2),
    one_layer_linears_fwd_dx_ms: +linearsMs(m).toFixed(2),
    tokens_per_second: +((seq / ms(m)) * 1000).toFixed(1),
    weight_bytes: m.weightBytes,
    linear_weight_bytes: m.linearBytes,
    peak_gpu_bytes: m.peak,
    planned_gpu_bytes: m.planned,
    peak_over_planned_ratio: +(m.peak / m.planned).toFixed(3),
  });
  const targets = Object.fromEntries(
    Object.entries(TARGETS).map(([name, config]) => {
      const s = modelSpecFromConfig(config);
      const [q, l] = [plan(s, true), plan(s, false)];
      return [name, { bytes_per_quantized_param: +q.bytesPerLinearParam.toFixed(4), qlora_planned_gib: +(q.totalBytes / GiB).toFixed(3), lora_16bit_planned_gib: +(l.totalBytes / GiB).toFixed(3) }];
    }),
  );
  return {
    model: spec.numLayers < full.numLayers ? `SmolLM2-135M widths with ${spec.numLayers} of 30 layers, seq ${seq} (CPU adapter or --quick)` : `SmolLM2-135M, all 30 layers, seq ${seq}`,
    adapter: `LoRA r=${R}, alpha ${2 * R}, every linear layer (the same initialisation for both bases); batch 1, gradient checkpointing`,
    lora_16bit: base(lora),
    qlora_nf4_double_quant: base(qlora),
    qlora_over_lora_step_ratio: +ratio.toFixed(3),
    qlora_over_lora_linears_ratio: +(linearsMs(qlora) / linearsMs(lora)).toFixed(3),
    bytes_per_quantized_param: +(qlora.linearBytes / qlora.linearParams).toFixed(4),
    linear_bytes_saved_ratio: +(lora.linearBytes / qlora.linearBytes).toFixed(2),
    target_plans: { run: `r=${R} on every linear layer, seq 512, batch 1, gradient checkpointing, AdamW (planned: quant/memoryPlan.ts)`, ...targets },
  };
};
