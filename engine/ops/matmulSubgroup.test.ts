// The subgroup-matrix matmul. Where the adapter exposes chromium-experimental-subgroup-matrix (a
// real GPU with Dawn's allow_unsafe_apis), the real kernel runs against the float64 reference. The
// CPU adapters here have no subgroup matrices, so the same kernel text also runs with a plain-WGSL
// emulation of the four subgroup-matrix builtins (each invocation computes whole small matrices):
// that checks its tiling, staging, zero padding, transposes, batch strides and epilogue on any
// adapter; only the builtins themselves need the real feature.
import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import {
  pickSubgroupMatrixConfig,
  probeComputesRight,
  subgroupMatrixPreamble,
  subgroupMatrixProbeShader,
  type SubgroupMatrixConfig,
  type SubgroupMatrixSupport,
} from '../gpu/subgroupMatrix.ts';
import { testContext } from '../gpu/testing.ts';
import { roundToF16, toF16 } from './half.ts';
import { matmul, matmulPlan } from './matmul.ts';
import type { PlainMatmulArgs as MatmulArgs } from './matmulSubgroup.ts';
import { matmulRef, type MatmulRefArgs } from './matmul.ref.ts';
import { subgroupMatmulPlan, usesSubgroupMatmul } from './matmulSubgroup.ts';
import { emulationPreamble } from './subgroupMatrixEmulation.ts';
import { expectClose, randomArray, toF32 } from './testing.ts';

type Case = Omit<MatmulRefArgs, 'bias' | 'accumulateInto'> & { bias?: boolean; accumulate?: boolean; bType?: 'f32' | 'f16' };

function extent(c: Case): { a: number; b: number; out: number } {
  const batch = c.batch ?? 1;
  return {
    a: (batch - 1) * (c.strideA ?? c.M * c.K) + c.M * c.K,
    b: (batch - 1) * (c.strideB ?? c.K * c.N) + c.K * c.N,
    out: (batch - 1) * (c.strideOut ?? c.M * c.N) + c.M * c.N,
  };
}

/**
 * Runs one case through `run` and checks it against the float64 reference, with f32-accumulation
 * tolerances.
 */
async function check(ctx: GpuContext, c: Case, smType: string, seed: number, run: (args: MatmulArgs) => void): Promise<void> {
  const n = extent(c);
  // Inputs already representable in the matrix type (stored as f32): WGSL leaves the rounding
  // direction of an inexact f32 -> f16 conversion to the implementation, so the check would
  // otherwise depend on it; what is checked is the tiling and the f32 accumulation.
  const round = (x: Float64Array) => (smType === 'f16' ? roundToF16(x) : Float64Array.from(Float32Array.from(x)));
  const aIn = round(randomArray(n.a, seed));
  const bIn = c.bType === 'f16' ? roundToF16(randomArray(n.b, seed + 1)) : round(randomArray(n.b, seed + 1));
  const bias = c.bias ? Float64Array.from(Float32Array.from(randomArray(c.N, seed + 2))) : null;
  const init = c.accumulate ? Float64Array.from(Float32Array.from(randomArray(n.out, seed + 3))) : null;
  const out = upload(ctx.device, init ? toF32(init) : new Float32Array(n.out));
  run({
    ...c,
    a: upload(ctx.device, toF32(aIn)),
    b: upload(ctx.device, c.bType === 'f16' ? toF16(bIn) : toF32(bIn)),
    bias: bias ? upload(ctx.device, toF32(bias)) : null,
    out,
  });
  const want = matmulRef(aIn, bIn, { ...c, bias, accumulateInto: init });
  expectClose(await ctx.readF32(out, n.out), want, { atol: 1e-4, rtol: 1e-4 }, `subgroup matmul ${smType} ${JSON.stringify(c)}`);
}

// Not multiples of any tile: every edge of the 2x2-matrix tile, the K blocks, each transpose.
const CASES: Case[] = [
  { M: 37, N: 45, K: 50, transB: true, bType: 'f16', bias: true },
  { M: 19, N: 33, K: 21, transA: true, accumulate: true },
  { M: 5, N: 70, K: 9, transA: true, transB: true, alpha: 0.5 },
  { M: 23, N: 17, K: 40, batch: 3, strideB: 0, strideOut: 23 * 17 + 5, transB: true },
];

describe('subgroup-matrix matmul', () => {
  it('the kernel (emulated builtins) matches the float64 reference: f32 and f16 configs', async () => {
    const ctx = await testContext();
    // Small configs and one case per transpose pattern: each case is a pipeline, slow to compile here.
    const configs: [SubgroupMatrixConfig, number[]][] = [[{ componentType: 'f32', resultComponentType: 'f32', M: 8, N: 4, K: 4 }, [1, 2, 3]]];
    if (ctx.caps.f16) configs.push([{ componentType: 'f16', resultComponentType: 'f32', M: 4, N: 8, K: 8 }, [0]]);
    for (const [config, cases] of configs) {
      const sm: SubgroupMatrixSupport = { config, syntax: 'bool-arg', extension: 'emulated', subgroupSize: 4, use: 'all' };
      for (const i of cases) {
        const c = CASES[i];
        await check(ctx, c, config.componentType, 10 * i + config.M, (args) => {
          const plan = subgroupMatmulPlan(args, sm, args.bias ?? upload(ctx.device, new Float32Array(4)), emulationPreamble(config, args.bType === 'f16'));
          ctx.dispatch(plan.spec, plan.buffers, plan.params, plan.workgroups);
        });
      }
    }
  });

  it('the real kernel on this adapter, when it exposes subgroup matrices', async (t) => {
    const ctx = await testContext();
    const sm = ctx.caps.subgroupMatrix;
    if (!sm) t.skip(`${ctx.caps.adapterName} exposes no usable subgroup-matrix config`);
    console.log(`[subgroup-matrix] ${JSON.stringify(sm)}`);
    const all = Object.create(ctx, { caps: { value: { ...ctx.caps, subgroupMatrix: { ...sm!, use: 'all' } } } }) as GpuContext;
    for (const [i, c] of CASES.entries()) {
      if (c.bType === 'f16' && !ctx.caps.f16) continue;
      await check(ctx, c, sm!.config.componentType, 100 + i, (args) => {
        expect(matmulPlan(all, args)!.spec.entryPoint).toBe('matmul_subgroup');
        const plan = subgroupMatmulPlan(args, sm!, args.bias ?? upload(ctx.device, new Float32Array(4)));
        ctx.dispatch(plan.spec, plan.buffers, plan.params, plan.workgroups);
      });
    }
    // The default policy routes forward products over f16 weights there (and nothing else).
    if (ctx.caps.f16 && sm!.use === 'f16-weights') {
      await check(ctx, CASES[0], sm!.config.componentType, 7, (args) => matmul(ctx, args));
    }
  });

  it('selection: only with a usable config, under the use policy; the tiled kernel otherwise', async () => {
    const ctx = await testContext();
    const args = { a: null!, b: null!, out: null!, M: 4, N: 4, K: 4 } as MatmulArgs;
    const withSm = (use: 'f16-weights' | 'all', f16 = true) =>
      ({ caps: { ...ctx.caps, f16, subgroupMatrix: { config: { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }, syntax: 'bool-arg', extension: 'x', subgroupSize: 32, use } } }) as unknown as GpuContext;
    expect(usesSubgroupMatmul({ caps: { ...ctx.caps, subgroupMatrix: null } } as unknown as GpuContext, { ...args, transB: true, bType: 'f16' })).toBe(false);
    expect(usesSubgroupMatmul(withSm('f16-weights'), { ...args, transB: true, bType: 'f16' })).toBe(true); // forward x W^T
    expect(usesSubgroupMatmul(withSm('f16-weights'), { ...args, bType: 'f16' })).toBe(false); // dX = dY W stays f32
    expect(usesSubgroupMatmul(withSm('f16-weights'), { ...args, transB: true })).toBe(false); // LoRA, f32 weights
    expect(usesSubgroupMatmul(withSm('all'), { ...args, transA: true })).toBe(true);
    expect(usesSubgroupMatmul(withSm('all', false), { ...args, transB: true, bType: 'f16' })).toBe(false); // no shader-f16
    if (!ctx.caps.subgroupMatrix) {
      const plan = matmulPlan(ctx, { ...args, a: upload(ctx.device, new Float32Array(16)), b: upload(ctx.device, new Float32Array(16)), out: upload(ctx.device, new Float32Array(16)), transB: true });
      expect(plan!.spec.entryPoint).not.toBe('matmul_subgroup');
    }
  });

  it('the start-up probe accepts a right product and refuses a wrong layout (emulated builtins)', async () => {
    const ctx = await testContext();
    const config: SubgroupMatrixConfig = { componentType: 'f32', resultComponentType: 'f32', M: 8, N: 8, K: 4 };
    const probe = (transposeStore: boolean) => {
      const code = subgroupMatrixProbeShader({ config, syntax: 'bool-arg', extension: 'emulated' }, 4, emulationPreamble(config, false, { opaque: 'n', transposeStore }));
      const module = ctx.device.createShaderModule({ code });
      return probeComputesRight(ctx.device, ctx.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } }), config);
    };
    expect(await probe(false)).toBe(true);
    expect(await probe(true)).toBe(false);
  });

  it('config choice and the two WGSL spellings of the load/store builtins', () => {
    const f16 = { componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 };
    const f16h = { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 };
    const f32 = { componentType: 'f32', resultComponentType: 'f32', M: 8, N: 8, K: 8 };
    expect(pickSubgroupMatrixConfig([f16h, f32, f16], true)).toEqual(f16);
    expect(pickSubgroupMatrixConfig([f16h, f32, f16], false)).toEqual(f32);
    expect(pickSubgroupMatrixConfig([f16h], true)).toBeNull();
    const boolArg = subgroupMatrixPreamble({ config: f16, syntax: 'bool-arg', extension: 'chromium_experimental_subgroup_matrix' });
    expect(boolArg).toContain('enable chromium_experimental_subgroup_matrix;');
    expect(boolArg).toContain('subgroupMatrixLoad<SmLeft>(&As, offset, false, stride)');
    expect(boolArg).toContain('alias SmLeft = subgroup_matrix_left<f16, 16, 16>;');
    const majorness = subgroupMatrixPreamble({ config: f32, syntax: 'majorness', extension: 'subgroup_matrix' });
    expect(majorness).toContain('subgroupMatrixLoad<SmRight, row_major>(&Bs, offset, stride)');
    expect(majorness).toContain('subgroupMatrixStore<row_major>(&Cs, offset, value, stride)');
    expect(majorness).not.toContain('enable f16;');
  });
});
