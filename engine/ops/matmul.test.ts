import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { matmul, matmulSpec, type MatmulArgs } from './matmul.ts';
import { roundToBf16, roundToF16, toBf16, toF16 } from './half.ts';
import type { StorageKind } from './operands.ts';
import { matmulBackwardRef, matmulRef, type MatmulRefArgs } from './matmul.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

type Case = Omit<MatmulRefArgs, 'bias' | 'accumulateInto'> & {
  bias?: boolean;
  accumulate?: boolean;
  aType?: StorageKind;
  bType?: StorageKind;
};

/** The values the GPU sees in storage of this kind, as float64. */
function seen(x: Float64Array, type: StorageKind = 'f32'): Float64Array {
  if (type === 'f16') return roundToF16(x);
  if (type === 'bf16') return roundToBf16(x);
  return Float64Array.from(Float32Array.from(x));
}

function sizes(c: Case): { a: number; b: number; out: number } {
  const batch = c.batch ?? 1;
  const sa = c.strideA ?? c.M * c.K;
  const sb = c.strideB ?? c.K * c.N;
  const so = c.strideOut ?? c.M * c.N;
  return { a: (batch - 1) * sa + c.M * c.K, b: (batch - 1) * sb + c.K * c.N, out: (batch - 1) * so + c.M * c.N };
}

function uploadAs(ctx: GpuContext, x: Float64Array, type: StorageKind): GPUBuffer {
  return upload(ctx.device, type === 'f16' ? toF16(x) : type === 'bf16' ? toBf16(x) : toF32(x));
}

/** Runs one case on the GPU and checks it against the float64 reference; returns the entry point used. */
async function check(c: Case, seed: number, tol = { atol: 2e-5, rtol: 2e-5 }): Promise<string> {
  const ctx = await testContext();
  const n = sizes(c);
  const a = seen(randomArray(n.a, seed), c.aType);
  const b = seen(randomArray(n.b, seed + 1), c.bType);
  const bias = c.bias ? seen(randomArray(c.N, seed + 2)) : null;
  const init = c.accumulate ? seen(randomArray(n.out, seed + 3)) : null;
  const out = upload(ctx.device, init ? toF32(init) : new Float32Array(n.out).fill(c.strideOut ? 0 : NaN));
  const args: MatmulArgs = {
    ...c,
    a: uploadAs(ctx, a, c.aType ?? 'f32'),
    b: uploadAs(ctx, b, c.bType ?? 'f32'),
    bias: bias ? upload(ctx.device, toF32(bias)) : null,
    out,
  };
  matmul(ctx, args);
  const want = matmulRef(a, b, { ...c, bias, accumulateInto: init });
  const got = await ctx.readF32(out, n.out);
  expectClose(got, want, tol, `matmul ${JSON.stringify(c)}`);
  return matmulSpec(ctx, args).entryPoint;
}

describe('matmul on a real adapter', () => {
  const flags: [boolean, boolean][] = [[false, false], [false, true], [true, false], [true, true]];
  // Odd shapes exercise every edge of the 64-wide tiles, the 32-deep K blocks and each tile height
  // (4, 8, 16, 32, 64 rows) with scalar loads. Each variant (transposes, flags, tile height, loads)
  // is a pipeline to compile, most of this file's time on a CPU adapter: later tests reuse the
  // 8-row tile (M <= 8) where they can.
  const cases: [number, number, number, [boolean, boolean][]][] = [
    [1, 1, 1, [[false, false]]],
    [7, 5, 13, flags],
    [65, 17, 33, [[false, false], [true, true]]],
    [3, 70, 40, [[false, true]]],
    [13, 9, 70, [[true, false]]],
    [27, 66, 31, [[true, true]]],
  ];
  for (const [M, N, K, pairs] of cases) {
    it(`odd shape M=${M} N=${N} K=${K}, transposes ${JSON.stringify(pairs)}`, async () => {
      for (const [transA, transB] of pairs) await check({ M, N, K, transA, transB }, M + N + K);
    });
  }

  it('vec4 path: multiples of 4 that are not tile multiples, all transposes', async () => {
    for (const [transA, transB] of flags) {
      expect(await check({ M: 36, N: 68, K: 20, transA, transB }, 5)).toBe('matmul_forward_vec4');
      expect(await check({ M: 100, N: 12, K: 52, transA, transB }, 6)).toBe('matmul_forward_vec4');
    }
    expect(await check({ M: 12, N: 72, K: 36, transB: true }, 7)).toBe('matmul_forward_vec4');
  });

  it('batched, with stride-0 broadcast of either operand and a padded output stride', async () => {
    await check({ M: 7, N: 6, K: 11, batch: 3 }, 10);
    await check({ M: 7, N: 6, K: 11, batch: 3, strideB: 0, transB: true }, 11);
    await check({ M: 8, N: 12, K: 16, batch: 3, strideA: 0, transA: true }, 12);
    await check({ M: 5, N: 4, K: 8, batch: 2, strideOut: 24 }, 13);
  });

  it('bias, alpha and accumulate', async () => {
    await check({ M: 7, N: 23, K: 29, bias: true }, 20);
    await check({ M: 8, N: 24, K: 32, bias: true, transB: true, alpha: -0.75 }, 21);
    await check({ M: 7, N: 23, K: 29, accumulate: true, alpha: 0.5 }, 22);
    await check({ M: 8, N: 8, K: 12, accumulate: true, bias: true, transA: true, batch: 2 }, 23);
    await check({ M: 5, N: 5, K: 0, bias: true }, 24); // K = 0: out = bias
  });

  it('binds slices of larger buffers (256-byte aligned offsets)', async () => {
    const ctx = await testContext();
    const [M, N, K] = [6, 10, 7];
    const a = seen(randomArray(64 + M * K, 30));
    const b = seen(randomArray(K * N, 31));
    const big = upload(ctx.device, toF32(a));
    const outBig = upload(ctx.device, new Float32Array(128 + M * N));
    matmul(ctx, { a: { buffer: big, offset: 256, size: M * K * 4 }, b: upload(ctx.device, toF32(b)), out: { buffer: outBig, offset: 512, size: M * N * 4 }, M, N, K });
    const want = matmulRef(a.subarray(64), b, { M, N, K });
    expectClose(await ctx.readF32(outBig, M * N, 128), want, { atol: 2e-5, rtol: 2e-5 }, 'slices');
  });

  it('packed f16 / bf16 storage of A and/or B, on every adapter (reference on rounded inputs)', async () => {
    await check({ M: 7, N: 5, K: 13, aType: 'f16' }, 40);
    await check({ M: 65, N: 17, K: 33, bType: 'f16', transB: true }, 41);
    await check({ M: 36, N: 68, K: 20, aType: 'f16', bType: 'bf16', transA: true, bias: true }, 42);
    await check({ M: 8, N: 40, K: 24, bType: 'bf16', transB: true, batch: 2, strideB: 0 }, 43);
    expect(await check({ M: 8, N: 36, K: 20, bType: 'bf16', transB: true }, 44)).toBe('matmul_forward_vec4');
    expect(await check({ M: 5, N: 12, K: 7, bType: 'bf16' }, 45)).toBe('matmul_forward');
  });

  // SmolLM2-135M: hidden 576, MLP 1536, with 8 tokens so the CPU adapters stay quick.
  it('SmolLM2 shapes: gate/up forward, down forward, and the transA weight gradient', async () => {
    const tol = { atol: 1e-4, rtol: 1e-4 };
    expect(await check({ M: 8, N: 1536, K: 576, transB: true }, 50, tol)).toBe('matmul_forward_vec4');
    await check({ M: 8, N: 576, K: 1536, transB: true, accumulate: true }, 51, tol);
    await check({ M: 8, N: 576, K: 1536 }, 52, tol); // dX = dY W for the up projection
    await check({ M: 1536, N: 576, K: 8, transA: true }, 53, tol); // dW = dY^T X of the up projection
  });

  it('the backward reference matches finite differences', () => {
    const p: MatmulRefArgs = { M: 3, N: 4, K: 5, transA: true, batch: 2, strideB: 0, alpha: 0.7 };
    const a = randomArray(2 * 15, 60);
    const b = randomArray(20, 61);
    const bias = randomArray(4, 62);
    const w = randomArray(2 * 12, 63);
    const { dA, dB, dBias } = matmulBackwardRef(a, b, w, p);
    const tol = { atol: 1e-7, rtol: 1e-6 };
    expectClose(finiteDifference((x) => dotWith(matmulRef(x, b, { ...p, bias }), w), a), dA, tol, 'dA');
    expectClose(finiteDifference((x) => dotWith(matmulRef(a, x, { ...p, bias }), w), b), dB, tol, 'dB');
    expectClose(finiteDifference((x) => dotWith(matmulRef(a, b, { ...p, bias: x }), w), bias), dBias, tol, 'dBias');
    // The GPU computes these gradients with the forward kernel and transposes: check that mapping.
    const p2: MatmulRefArgs = { M: 6, N: 7, K: 5 };
    const x = randomArray(30, 64);
    const wt = randomArray(35, 65);
    const dy = randomArray(42, 66);
    const g = matmulBackwardRef(x, wt, dy, p2);
    expectClose(matmulRef(dy, wt, { M: 6, N: 5, K: 7, transB: true }), g.dA, tol, 'dX = dY B^T');
    expectClose(matmulRef(x, dy, { M: 5, N: 7, K: 6, transA: true }), g.dB, tol, 'dB = A^T dY');
  });
});
