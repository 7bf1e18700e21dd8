// One Llama decoder block, our kernels in sequence, against PyTorch float64 goldens
// (scripts/reference/block_golden.py): output, input gradient and every weight gradient.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import { testContext } from '../gpu/testing.ts';
import { expectClose } from '../ops/testing.ts';
import { allocateActivations, type BlockDims } from './activations.ts';
import { blockBackward, blockForward, type LayerGrads } from './block.ts';
import { uploadGroup } from './groupWeights.ts';
import { GROUP_NAMES, LINEAR_GROUPS, LORA_MODULES, groupOf, type GroupName, type LayerWeights, type LinearGroup, type ModuleName } from './weights.ts';

interface Golden {
  config: { B: number; T: number; hidden: number; heads: number; kv_heads: number; head_dim: number; intermediate: number; eps: number };
  inv_freq: number[];
  x: number[];
  w_out: number[];
  weights: Record<string, number[]>;
  y: number[];
  grad_x: number[];
  grad_weights: Record<string, number[]>;
}

const golden: Golden = JSON.parse(readFileSync(new URL('./fixtures/block_golden.json', import.meta.url), 'utf8'));
const TOL = { atol: 2e-5, rtol: 2e-4 };

describe('one Llama block vs PyTorch float64', () => {
  it('forward output, input gradient and weight gradients match', { timeout: 600_000 }, async () => {
    const ctx = await testContext();
    const c = golden.config;
    const d: BlockDims = { B: c.B, T: c.T, H: c.hidden, I: c.intermediate, nHeads: c.heads, nKvHeads: c.kv_heads, headDim: c.head_dim, eps: c.eps, qkNorm: false };
    const N = d.B * d.T;
    const dims: Record<ModuleName, [number, number]> = {
      q_proj: [d.nHeads * d.headDim, d.H],
      k_proj: [d.nKvHeads * d.headDim, d.H],
      v_proj: [d.nKvHeads * d.headDim, d.H],
      o_proj: [d.H, d.nHeads * d.headDim],
      gate_proj: [d.I, d.H],
      up_proj: [d.I, d.H],
      down_proj: [d.H, d.I],
    };
    const f32 = (a: number[]) => upload(ctx.device, Float32Array.from(a));
    // Each fused group from the golden's per-module f32 weights, its weight gradient (out, in) zeroed.
    const groups = {} as Record<GroupName, LinearGroup>;
    const grads: LayerGrads = { groups: {}, inputNorm: zeros(ctx.device, d.H), postNorm: zeros(ctx.device, d.H) };
    for (const g of GROUP_NAMES) {
      const parts = LINEAR_GROUPS[g].map((m) => ({ weight: Float32Array.from(golden.weights[m]), outFeatures: dims[m][0], bias: null }));
      groups[g] = uploadGroup(ctx, g, parts, dims[LINEAR_GROUPS[g][0]][1], 'f32', []);
      grads.groups[g] = { dW: zeros(ctx.device, groups[g].outFeatures * groups[g].inFeatures), dBias: null };
    }
    const w: LayerWeights = {
      inputNorm: f32(golden.weights.input_layernorm),
      postNorm: f32(golden.weights.post_attention_layernorm),
      qNorm: null,
      kNorm: null,
      groups,
    };
    const acts = allocateActivations(ctx.device, d, f32(golden.x));
    const positions = upload(ctx.device, Uint32Array.from({ length: N }, (_, i) => i % d.T));
    const seq = { positions, invFreq: f32(golden.inv_freq), segments: null };
    const y = createBuffer(ctx.device, N * d.H * 4);

    blockForward(ctx, d, w, acts, seq, y, {});
    expectClose(await ctx.readF32(y, N * d.H), golden.y, TOL, 'block output');

    const dx = f32(golden.w_out);
    blockBackward(ctx, d, w, acts, seq, dx, {}, {}, grads);
    expectClose(await ctx.readF32(dx, N * d.H), golden.grad_x, TOL, 'dL/dx');
    for (const m of LORA_MODULES) {
      // Member m's rows of its group's weight gradient.
      const g = groups[groupOf(m)];
      const i = g.modules.indexOf(m);
      const rows = await ctx.readF32(grads.groups[g.name]!.dW, (g.starts[i + 1] - g.starts[i]) * g.inFeatures, g.starts[i] * g.inFeatures);
      expectClose(rows, golden.grad_weights[m], TOL, `dL/d${m}`);
    }
    expectClose(await ctx.readF32(grads.inputNorm, d.H), golden.grad_weights.input_layernorm, TOL, 'dL/d input_layernorm');
    expectClose(await ctx.readF32(grads.postNorm, d.H), golden.grad_weights.post_attention_layernorm, TOL, 'dL/d post_attention_layernorm');
    expect(golden.y.length).toBe(N * d.H);
  });
});

function zeros(device: GPUDevice, n: number): GPUBuffer {
  return upload(device, new Float32Array(n));
}
