// One batched matmul for every linear layer and its gradients (DESIGN.md example 3, tfjs
// BatchMatMul_grad.ts):
//   forward  y  = x W^T     matmul(ctx, { a: x,  b: W, transB: true,  M: tokens, N: out, K: in })
//   input    dX = dY W      matmul(ctx, { a: dY, b: W,                M: tokens, N: in,  K: out })
//   weight   dW = dY^T X    matmul(ctx, { a: dY, b: X, transA: true,  M: out,    N: in,  K: tokens })
// Structural variants (transposes, bias, accumulate, rows per invocation) are WGSL override
// constants; storage types (f32/f16) come from the preamble; shapes travel in Params.
import { GpuValidationError } from '../gpu/errors.ts';
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import { Usage } from '../gpu/usage.ts';
import code from '../wgsl/matmul.wgsl?raw';

const SOURCE: KernelSource = { name: 'matmul', code };

export interface MatmulArgs {
  a: Binding; // A: (batch, M, K), or (batch, K, M) when transA
  b: Binding; // B: (batch, K, N), or (batch, N, K) when transB   (nn.Linear weight [out,in] => transB: true)
  out: Binding; // (batch, M, N) f32
  bias?: Binding | null; // (N) f32, added to every row
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number; // default 1
  strideA?: number; // elements between batch items; 0 = broadcast (default: contiguous)
  strideB?: number;
  strideOut?: number;
  alpha?: number; // out = alpha * op(A) @ op(B) (+ bias); default 1
  accumulate?: boolean; // out += alpha * op(A) @ op(B) (+ bias) instead of overwrite
  aType?: 'f32' | 'f16'; // storage type of A (f16 only when ctx.caps.f16); default f32
  bType?: 'f32' | 'f16'; // storage type of B; default f32
}

// A 4-byte storage buffer bound in place of a missing bias (the kernel's layout always has one).
const dummies = new WeakMap<GpuContext, GPUBuffer>();
function dummyBias(ctx: GpuContext): GPUBuffer {
  let buf = dummies.get(ctx);
  if (!buf) {
    buf = ctx.device.createBuffer({ size: 16, usage: Usage.STORAGE, label: 'matmul: no bias' });
    dummies.set(ctx, buf);
  }
  return buf;
}

/** A tile shape: WG_X x WG_Y invocations, RM rows x 4 columns each, K blocks of TK. */
export interface MatmulTile {
  WG_X: number;
  WG_Y: number;
  RM: number;
  TK: number;
}

/**
 * 64x64 tiles (128 invocations of 8 rows x 4 columns, K blocks of 32) for training batches; for
 * few rows the same invocation shape with fewer of them, so little of the tile is wasted.
 * Measured on Mesa lavapipe (scripts/bench): 8-row invocations with 32-deep K blocks beat 4x4
 * invocations with 16-deep blocks by ~1.3x at M = 64.
 */
export function matmulTile(M: number): MatmulTile {
  const rows = M <= 4 ? 4 : M <= 8 ? 8 : M <= 16 ? 16 : M <= 32 ? 32 : 64;
  const RM = Math.min(8, rows);
  return { WG_X: 16, WG_Y: rows / RM, RM, TK: 32 };
}

/** The pipeline a matmul call uses (exported for the benchmark and tests). */
export function matmulSpec(ctx: GpuContext, args: MatmulArgs): PipelineSpec {
  const aType = args.aType ?? 'f32';
  const bType = args.bType ?? 'f32';
  if ((aType === 'f16' || bType === 'f16') && !ctx.caps.f16) {
    throw new GpuValidationError('matmul', 'f16 storage needs the shader-f16 feature, which this adapter lacks');
  }
  const f16 = aType === 'f16' || bType === 'f16';
  const preamble = `${f16 ? 'enable f16;\n' : ''}alias TA = ${aType};\nalias TB = ${bType};`;
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  const strideA = args.strideA ?? M * K;
  const strideB = args.strideB ?? K * N;
  // vec4 loads need runs of 4 along each operand's contiguous dimension that never straddle a
  // row or a batch item (binding offsets are 256-byte aligned, so element 0 is aligned).
  const contigA = args.transA ? M : K;
  const contigB = args.transB ? K : N;
  const vec4 = contigA % 4 === 0 && contigB % 4 === 0 && (batch === 1 || (strideA % 4 === 0 && strideB % 4 === 0));
  return {
    source: SOURCE,
    entryPoint: vec4 ? 'matmul_forward_vec4' : 'matmul_forward',
    preamble,
    constants: {
      TRANS_A: args.transA ? 1 : 0,
      TRANS_B: args.transB ? 1 : 0,
      HAS_BIAS: args.bias ? 1 : 0,
      ACCUMULATE: args.accumulate ? 1 : 0,
      ...matmulTile(M),
    },
  };
}

/** One matmul as a dispatch: what `matmul` records (exported so the benchmark can time it alone). */
export interface MatmulPlan {
  spec: PipelineSpec;
  buffers: Binding[]; // a, b, bias (or a dummy), out
  params: Params;
  workgroups: [number, number, number];
}

/** Validates the arguments and plans the dispatch; null when out is empty. */
export function matmulPlan(ctx: GpuContext, args: MatmulArgs): MatmulPlan | null {
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  for (const [name, v] of Object.entries({ M, N, K, batch })) {
    if (!Number.isInteger(v) || v < 0) throw new GpuValidationError('matmul', `${name} must be a non-negative integer, got ${v}`);
  }
  const strideA = args.strideA ?? M * K;
  const strideB = args.strideB ?? K * N;
  const strideOut = args.strideOut ?? M * N;
  if (batch > ctx.caps.maxComputeWorkgroupsPerDimension) {
    throw new GpuValidationError('matmul', `batch ${batch} exceeds ${ctx.caps.maxComputeWorkgroupsPerDimension}`);
  }
  if (M === 0 || N === 0 || batch === 0) return null;
  const spec = matmulSpec(ctx, args);
  const c = spec.constants as unknown as MatmulTile;
  return {
    spec,
    buffers: [args.a, args.b, args.bias ?? dummyBias(ctx), args.out],
    params: new Params().u32({ M, N, K, stride_a: strideA, stride_b: strideB, stride_out: strideOut }).f32({ alpha: args.alpha ?? 1 }),
    workgroups: [Math.ceil(N / (4 * c.WG_X)), Math.ceil(M / (c.WG_Y * c.RM)), batch],
  };
}

/** out (batch, M, N) = alpha * op(A) @ op(B) (+ bias) (+ out when accumulate). See MatmulArgs. */
export function matmul(ctx: GpuContext, args: MatmulArgs): void {
  const plan = matmulPlan(ctx, args);
  if (plan) ctx.dispatch(plan.spec, plan.buffers, plan.params, plan.workgroups);
}
