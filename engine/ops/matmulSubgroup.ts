// The subgroup-matrix (tensor-core) variant of the one matmul: same arguments, params and
// bindings as matmul.ts, chosen by matmulPlan when the device has a usable subgroup-matrix config
// (ctx.caps.subgroupMatrix, probed at device creation by engine/gpu/subgroupMatrix.ts) and the call
// qualifies under its `use` policy; every other call keeps the tiled kernel.
//   out (batch, M, N) = alpha * SMT(op(A)) @ SMT(op(B)) (+ bias) (+ out), f32 accumulation.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource, PipelineSpec } from '../gpu/pipelines.ts';
import { subgroupMatrixPreamble, type SubgroupMatrixSupport } from '../gpu/subgroupMatrix.ts';
import type { MatmulPlan } from './matmul.ts';
import type { StorageKind } from './operands.ts';
import code from '../wgsl/matmulSubgroup.wgsl?raw';

const SOURCE: KernelSource = { name: 'matmulSubgroup', code };

/**
 * A matmul in its plain form (matmul.ts plainArgs): whole buffers in the default layout, no fused
 * second pair or epilogue. Packed f16 weights are bit-for-bit an array<f16> where shader-f16 exists.
 */
export interface PlainMatmulArgs {
  a: Binding;
  b: Binding;
  out: Binding;
  bias?: Binding | null;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
  strideA?: number;
  strideB?: number;
  strideOut?: number;
  alpha?: number;
  accumulate?: boolean;
  aType?: StorageKind;
  bType?: StorageKind;
}

/** Whether this call takes the subgroup-matrix path on this device (see SubgroupMatmulUse). */
export function usesSubgroupMatmul(ctx: GpuContext, args: PlainMatmulArgs): boolean {
  const sm = ctx.caps.subgroupMatrix;
  if (!sm) return false;
  // f16 storage needs shader-f16 here; bf16 has no matrix type: both stay on the tiled path.
  if (((args.aType ?? 'f32') === 'f16' || (args.bType ?? 'f32') === 'f16') && !ctx.caps.f16) return false;
  if (args.aType === 'bf16' || args.bType === 'bf16') return false;
  if (sm.use === 'all') return true;
  return (args.bType ?? 'f32') === 'f16' && !!args.transB && !args.transA;
}

/** Output rows and columns of one workgroup's tile (2 x 2 result matrices). */
export function subgroupTile(sm: Pick<SubgroupMatrixSupport, 'config'>): { TM: number; TN: number } {
  return { TM: 2 * sm.config.M, TN: 2 * sm.config.N };
}

/**
 * The pipeline for `args` on the given support. `matrixPreamble` replaces the generated
 * subgroup-matrix declarations (tests pass a plain-WGSL emulation to check the kernel's tiling on
 * adapters without the feature).
 */
export function subgroupMatmulSpec(args: PlainMatmulArgs, sm: SubgroupMatrixSupport, matrixPreamble?: string): PipelineSpec {
  const aType = args.aType ?? 'f32';
  const bType = args.bType ?? 'f32';
  const f16Storage = aType === 'f16' || bType === 'f16';
  const matrices = matrixPreamble ?? subgroupMatrixPreamble(sm, f16Storage);
  return {
    source: SOURCE,
    entryPoint: 'matmul_subgroup',
    preamble: `${matrices}\nalias TA = ${aType};\nalias TB = ${bType};`,
    constants: {
      TRANS_A: args.transA ? 1 : 0,
      TRANS_B: args.transB ? 1 : 0,
      HAS_BIAS: args.bias ? 1 : 0,
      ACCUMULATE: args.accumulate ? 1 : 0,
      SG_SIZE: sm.subgroupSize,
    },
  };
}

/** The dispatch for `args` (validated and non-empty: matmulPlan's job); `bias` is the bias or a dummy. */
export function subgroupMatmulPlan(args: PlainMatmulArgs, sm: SubgroupMatrixSupport, bias: Binding, matrixPreamble?: string): MatmulPlan {
  const { M, N, K } = args;
  const batch = args.batch ?? 1;
  const { TM, TN } = subgroupTile(sm);
  return {
    spec: subgroupMatmulSpec(args, sm, matrixPreamble),
    buffers: [args.a, args.b, bias, args.out],
    params: new Params().u32({ M, N, K, stride_a: args.strideA ?? M * K, stride_b: args.strideB ?? K * N, stride_out: args.strideOut ?? M * N }).f32({ alpha: args.alpha ?? 1 }),
    workgroups: [Math.ceil(N / TN), Math.ceil(M / TM), batch],
  };
}
